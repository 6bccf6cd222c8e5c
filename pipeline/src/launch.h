// Config -> the argument list of a gst-launch-1.0 command. deeplab-run builds its pipeline from this
// very list (gst_parse_launchv, what gst-launch-1.0 does with its argv), and --print-launch prints it
// shell-quoted, so the printed command builds the same pipeline.
//
// Elements get fixed names so that the runner can find them: src, seg, t (the tee), outN_q, outN_sink...
// source.max-frames is not part of the arguments: the runner applies it with a pad probe (GStreamer
// has no element that ends a stream after exactly N frames of any source).
#pragma once

#include <string>
#include <vector>

#include "config.h"

namespace deeplab::pipeline {

std::vector<std::string> launch_args(const PipelineConfig& config);

// "gst-launch-1.0 -e ARG..." with each argument quoted for a POSIX shell where it needs it (-e: on
// Ctrl-C gst-launch sends EOS first, as deeplab-run does, so files are finalised).
std::string launch_line(const std::vector<std::string>& args);
std::string shell_quote(const std::string& word);

// Element names the runner looks up.
std::string output_element(std::size_t index, const char* role);  // "out2_sink"
// A source's element: `base` itself for a lone `source:`, with the source's index for an item of a
// `sources:` list ("src1", "seg1", "t1"), so that every branch's names stay unique.
std::string source_element(const PipelineConfig& config, std::size_t source, const char* base);
// The element and pad of an output that see one buffer per frame written: the encoder's src pad where
// a muxer or payloader follows (what the muxer gets: frames still inside the encoder at a teardown are
// not counted), else the sink's sink pad.
const char* counted_role(OutputType type);
const char* counted_pad(OutputType type);
constexpr const char* kSourceConvertName = "srcconv";  // the last element of the source part
constexpr const char* kSegName = "seg";
constexpr const char* kSourceName = "src";
constexpr const char* kSourceQueueName = "srcq";
constexpr const char* kDecodeName = "decode";
constexpr const char* kSourceDecoderName = "srcdec";
constexpr const char* kTeeName = "t";

}  // namespace deeplab::pipeline
