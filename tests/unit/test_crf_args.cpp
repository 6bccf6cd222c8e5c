// deeplab::tools::read_crf_options: the --crf options every tool shares. Defaults are CrfOptions'
// own; each option lands in its field; values out of range, a missing value and an unknown mode are
// errors that name the option.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "cli_args.h"
#include "crf_args.h"
#include "deeplab/error.h"

using deeplab::CrfMode;
using deeplab::CrfOptions;
using deeplab::Error;

namespace {

// read_crf_options over a command line (the program name is added); finish() is called too, so
// an option the parser did not claim shows up as an error.
CrfOptions parse(std::initializer_list<const char*> words) {
  std::vector<std::string> storage{"tool"};
  storage.insert(storage.end(), words.begin(), words.end());
  std::vector<char*> argv;
  for (auto& w : storage) argv.push_back(w.data());
  deeplab::tools::Args args(static_cast<int>(argv.size()), argv.data(), "tool [crf options]");
  const CrfOptions options = deeplab::tools::read_crf_options(args);
  args.finish();
  return options;
}

// The message of the Error that parsing `words` throws ("" when it does not throw).
std::string error_of(std::initializer_list<const char*> words) {
  try {
    parse(words);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), deeplab::ErrorCode::kInvalidArgument) << e.what();
    return e.what();
  }
  return "";
}

}  // namespace

TEST(CrfArgs, DefaultsAreTheEnginesOwn) {
  const CrfOptions parsed = parse({});
  const CrfOptions engine;
  EXPECT_EQ(parsed.mode, CrfMode::kOff);
  EXPECT_EQ(parsed.params.iterations, engine.params.iterations);
  EXPECT_EQ(parsed.params.bilateral_weight, engine.params.bilateral_weight);
  EXPECT_EQ(parsed.params.bilateral_xy_std, engine.params.bilateral_xy_std);
  EXPECT_EQ(parsed.params.bilateral_rgb_std, engine.params.bilateral_rgb_std);
  EXPECT_EQ(parsed.params.gaussian_weight, engine.params.gaussian_weight);
  EXPECT_EQ(parsed.params.gaussian_xy_std, engine.params.gaussian_xy_std);
  EXPECT_EQ(parsed.temporal_iterations, engine.temporal_iterations);
  EXPECT_EQ(parsed.keyframe_interval, engine.keyframe_interval);
  EXPECT_EQ(parsed.scale, engine.scale);
  EXPECT_EQ(parsed.scene_cut_threshold, engine.scene_cut_threshold);
}

TEST(CrfArgs, EveryOptionLandsInItsField) {
  const CrfOptions o =
      parse({"--crf", "temporal", "--crf-iterations", "7", "--crf-temporal-iterations", "3", "--crf-keyframe-interval",
             "0", "--crf-scale", "0.5", "--crf-bilateral-weight", "5.5", "--crf-bilateral-xy-std", "40",
             "--crf-bilateral-rgb-std=13", "--crf-gaussian-weight", "0", "--crf-gaussian-xy-std", "2.5",
             "--crf-scene-cut-threshold", "0.3"});
  EXPECT_EQ(o.mode, CrfMode::kTemporal);
  EXPECT_EQ(o.params.iterations, 7);
  EXPECT_EQ(o.temporal_iterations, 3);
  EXPECT_EQ(o.keyframe_interval, 0);
  EXPECT_FLOAT_EQ(o.scale, 0.5f);
  EXPECT_FLOAT_EQ(o.params.bilateral_weight, 5.5f);
  EXPECT_FLOAT_EQ(o.params.bilateral_xy_std, 40.0f);
  EXPECT_FLOAT_EQ(o.params.bilateral_rgb_std, 13.0f);
  EXPECT_FLOAT_EQ(o.params.gaussian_weight, 0.0f);
  EXPECT_FLOAT_EQ(o.params.gaussian_xy_std, 2.5f);
  EXPECT_FLOAT_EQ(o.scene_cut_threshold, 0.3f);
  EXPECT_EQ(parse({"--crf", "full"}).mode, CrfMode::kFull);
  EXPECT_EQ(parse({"--crf=off"}).mode, CrfMode::kOff);
}

TEST(CrfArgs, BadModeNamesTheOption) {
  const std::string message = error_of({"--crf", "maybe"});
  EXPECT_NE(message.find("--crf"), std::string::npos) << message;
  EXPECT_NE(message.find("maybe"), std::string::npos) << message;
  EXPECT_NE(message.find("temporal"), std::string::npos) << message;  // says what is accepted
}

TEST(CrfArgs, MissingValueNamesTheOption) {
  EXPECT_NE(error_of({"--crf"}).find("--crf needs a value"), std::string::npos);
  EXPECT_NE(error_of({"--crf", "full", "--crf-iterations"}).find("--crf-iterations needs a value"), std::string::npos);
}

TEST(CrfArgs, OutOfRangeValuesNameTheOption) {
  const std::vector<std::vector<const char*>> cases = {
      {"--crf-iterations", "0"},          {"--crf-iterations", "1001"},     {"--crf-iterations", "2.5"},
      {"--crf-temporal-iterations", "0"}, {"--crf-keyframe-interval", "-1"}, {"--crf-scale", "0"},
      {"--crf-scale", "1.5"},             {"--crf-scale", "nan"},           {"--crf-bilateral-weight", "-1"},
      {"--crf-bilateral-xy-std", "0"},    {"--crf-bilateral-rgb-std", "-3"}, {"--crf-gaussian-weight", "x"},
      {"--crf-gaussian-xy-std", "inf"},   {"--crf-scene-cut-threshold", "-0.1"}};
  for (const auto& c : cases) {
    std::string message;
    try {
      std::vector<std::string> storage{"tool", "--crf", "temporal", c[0], c[1]};
      std::vector<char*> argv;
      for (auto& w : storage) argv.push_back(w.data());
      deeplab::tools::Args args(static_cast<int>(argv.size()), argv.data(), "tool");
      deeplab::tools::read_crf_options(args);
    } catch (const Error& e) {
      message = e.what();
    }
    EXPECT_NE(message.find(c[0]), std::string::npos) << c[0] << " " << c[1] << " -> '" << message << "'";
  }
}

TEST(CrfArgs, RangeEndsAreAccepted) {
  EXPECT_EQ(parse({"--crf", "full", "--crf-iterations", "1"}).params.iterations, 1);
  EXPECT_EQ(parse({"--crf", "full", "--crf-iterations", "1000"}).params.iterations, 1000);
  EXPECT_FLOAT_EQ(parse({"--crf", "full", "--crf-scale", "1"}).scale, 1.0f);
  EXPECT_FLOAT_EQ(parse({"--crf", "full", "--crf-scale", "0.01"}).scale, 0.01f);
  EXPECT_FLOAT_EQ(parse({"--crf", "temporal", "--crf-scene-cut-threshold", "0"}).scene_cut_threshold, 0.0f);
}

TEST(CrfArgs, UnrelatedOptionsAreLeftToTheTool) {
  std::vector<std::string> storage{"tool", "--crf", "full", "--crf-typo", "3"};
  std::vector<char*> argv;
  for (auto& w : storage) argv.push_back(w.data());
  deeplab::tools::Args args(static_cast<int>(argv.size()), argv.data(), "tool");
  deeplab::tools::read_crf_options(args);
  try {
    args.finish();
    FAIL() << "--crf-typo accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--crf-typo"), std::string::npos) << e.what();
  }
}

TEST(CrfArgs, DescribesAFrameReport) {
  deeplab::CrfFrameReport r;
  r.iterations = 2;
  r.warm_started = true;
  r.ms = 12.34;
  EXPECT_EQ(deeplab::tools::describe_crf_report(r), "2 iterations (warm start), 12.3 ms");
  r = {};
  r.iterations = 10;
  r.scene_cut = true;
  r.ms = 40;
  EXPECT_EQ(deeplab::tools::describe_crf_report(r), "10 iterations (scene cut), 40.0 ms");
}
