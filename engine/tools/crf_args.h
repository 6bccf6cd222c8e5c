// The dense CRF's command-line options, shared by deeplab-segment, deeplab-bench and deeplab-eval so
// that every tool spells and checks them the same way:
//
//   tools::Args args(argc, argv, std::string("deeplab-x ... ") + tools::kCrfUsage);
//   options.crf = tools::read_crf_options(args);
//
// Defaults are CrfOptions' own (DeepLab's released parameters). A value out of range throws
// deeplab::Error(kInvalidArgument) naming the option; tuning options given with `--crf off` (or
// temporal-only options with `--crf full`) have no effect, and a note on stderr says so.
#pragma once

#include <string>

#include "cli_args.h"
#include "deeplab/crf.h"

namespace deeplab::tools {

// The options' synopsis, for a tool's usage line.
extern const char* const kCrfUsage;
// One line per option with its meaning, range and default, for a tool's --help.
extern const char* const kCrfHelp;

CrfOptions read_crf_options(Args& args);

// "2 iterations (warm start), 12.3 ms" — what the CRF did for one frame.
std::string describe_crf_report(const CrfFrameReport& report);

}  // namespace deeplab::tools
