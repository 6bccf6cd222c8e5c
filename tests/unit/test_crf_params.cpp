// Per-model CRF parameters and the unary temperature: a `crf:` block in a manifest or a parameter
// file is read strictly (errors name the file, the place and the key); the Segmenter's parameters
// are DeepLab's defaults <- the model's block <- the parameter file <- the user's options; T = 1 is
// today's CRF bit for bit, T != 1 is checked against a brute-force mean field in test_crf_lattice.cpp.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_args.h"
#include "crf_args.h"
#include "deeplab/crf.h"
#include "deeplab/error.h"
#include "deeplab/manifest.h"
#include "expect_error.h"

namespace fs = std::filesystem;
using namespace deeplab;
using deeplab::test::expect_error;

namespace {

// Files in a scratch folder of this process (tests may run in parallel processes).
class CrfParamsTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  fs::path dir_ = fs::path(DEEPLAB_TEST_WORK_DIR) / ("crf-params-" + std::to_string(::getpid()));
};

const char* const kManifestHead =
    "file: x.onnx\n"
    "input: {layout: NCHW, color: RGB, scale: 0.0039, mean: [0, 0, 0], std: [1, 1, 1]}\n";

// FNV-1a of the floats' bits.
std::uint64_t hash_floats(const std::vector<float>& v) {
  std::uint64_t h = 1469598103934665603ull;
  for (float f : v) {
    std::uint32_t b;
    std::memcpy(&b, &f, 4);
    for (int k = 0; k < 4; ++k) h = (h ^ ((b >> (8 * k)) & 255)) * 1099511628211ull;
  }
  return h;
}

}  // namespace

TEST_F(CrfParamsTest, FileGivesOnlyItsKeys) {
  const auto o = load_crf_params_file(write("p.yaml", "# tuned\ncrf:\n  bilateral_weight: 2.5\n  unary_temperature: 1.5\n"
                                                      "  iterations: 4\n"));
  ASSERT_TRUE(o.bilateral_weight && o.unary_temperature && o.iterations);
  EXPECT_FLOAT_EQ(*o.bilateral_weight, 2.5f);
  EXPECT_FLOAT_EQ(*o.unary_temperature, 1.5f);
  EXPECT_EQ(*o.iterations, 4);
  EXPECT_FALSE(o.bilateral_xy_std || o.bilateral_rgb_std || o.gaussian_weight || o.gaussian_xy_std);
  CrfParams p;
  o.apply_to(p);
  EXPECT_FLOAT_EQ(p.bilateral_xy_std, 67.0f);  // untouched: DeepLab's
  EXPECT_EQ(p.iterations, 4);
}

TEST_F(CrfParamsTest, BadFilesNameTheFileAndKey) {
  struct Case {
    const char* name;
    const char* text;
    const char* needle;
  } cases[] = {
      {"typo.yaml", "crf:\n  bilateral_wieght: 2\n", "typo.yaml:2:3: crf key 'bilateral_wieght': unknown (did you mean 'bilateral_weight'?)"},
      {"range.yaml", "crf:\n  unary_temperature: 5\n", "range.yaml:2:3: crf key 'unary_temperature': 5 is not a number in (0, 4]"},
      {"zero.yaml", "crf:\n  bilateral_xy_std: 0\n", "crf key 'bilateral_xy_std': 0 is not a number in (0,"},
      {"type.yaml", "crf:\n  iterations: many\n", "type.yaml:2:3: crf key 'iterations': 'many' is not an integer in [1, 1000]"},
      {"twice.yaml", "crf:\n  iterations: 3\n  iterations: 4\n", "twice.yaml:3:3: key 'crf.iterations' written twice (first at "},
      {"other.yaml", "crf: {iterations: 3}\nmodel: x\n", "other.yaml:2:1: unknown key 'model'"},
      {"noblock.yaml", "iterations: 3\n", "noblock.yaml: a CRF parameter file is a YAML mapping with a 'crf:' block"},
      {"list.yaml", "crf: [1, 2]\n", "list.yaml:1:6: 'crf' must be a mapping"},
  };
  for (const auto& c : cases)
    expect_error([&] { load_crf_params_file(write(c.name, c.text)); }, ErrorCode::kInvalidArgument, {c.needle}, c.name);
  expect_error([&] { load_crf_params_file((dir_ / "absent.yaml").string()); }, ErrorCode::kNotFound,
               {"absent.yaml: CRF parameter file not found"});
}

TEST_F(CrfParamsTest, ManifestBlockIsReadStrictly) {
  const ModelManifest m = load_manifest(write("m.yaml", std::string(kManifestHead) + "crf: {bilateral_weight: 1, unary_temperature: 2}\n"));
  ASSERT_TRUE(m.crf.bilateral_weight && m.crf.unary_temperature);
  EXPECT_FLOAT_EQ(*m.crf.unary_temperature, 2.0f);
  EXPECT_TRUE(load_manifest(write("none.yaml", kManifestHead)).crf.empty());
  expect_error([&] { load_manifest(write("bad.yaml", std::string(kManifestHead) + "crf:\n  gausian_weight: 1\n")); },
               ErrorCode::kInvalidArgument, {"bad.yaml:4:3: crf key 'gausian_weight': unknown (did you mean 'gaussian_weight'?)"});
}

// DeepLab's defaults <- the model's block <- the parameter file <- the user's own options.
TEST_F(CrfParamsTest, OverrideOrder) {
  CrfParamOverrides model;
  model.bilateral_weight = 1;
  model.bilateral_xy_std = 30;
  model.unary_temperature = 2;
  CrfOptions o;
  o.params.bilateral_weight = 9;  // ignored with model_params: only overrides count
  EXPECT_FLOAT_EQ(resolve_crf_options(o, model).params.bilateral_weight, 1.0f);
  EXPECT_FLOAT_EQ(resolve_crf_options(o, model).params.gaussian_weight, 3.0f);
  o.params_file = write("p.yaml", "crf: {bilateral_xy_std: 40, gaussian_weight: 2}\n");
  o.overrides.unary_temperature = 3;
  const CrfParams p = resolve_crf_options(o, model).params;
  EXPECT_FLOAT_EQ(p.bilateral_weight, 1.0f);   // model
  EXPECT_FLOAT_EQ(p.bilateral_xy_std, 40.0f);  // file over model
  EXPECT_FLOAT_EQ(p.gaussian_weight, 2.0f);    // file over DeepLab's
  EXPECT_FLOAT_EQ(p.unary_temperature, 3.0f);  // the user's over the model's
  EXPECT_FLOAT_EQ(p.bilateral_rgb_std, 3.0f);  // DeepLab's
  o.model_params = false;
  EXPECT_FLOAT_EQ(resolve_crf_options(o, model).params.bilateral_weight, 9.0f);
  o.model_params = true;
  o.params_file = (dir_ / "gone.yaml").string();
  expect_error([&] { resolve_crf_options(o, model); }, ErrorCode::kNotFound, {"gone.yaml"});
}

// The tools' options are overrides: only those given beat the model's block.
TEST_F(CrfParamsTest, ToolOptionsAreOverrides) {
  const std::string file = write("p.yaml", "crf: {bilateral_weight: 2}\n");
  std::vector<std::string> words = {"tool", "--crf", "full", "--crf-unary-temperature", "1.5", "--crf-params", file};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  tools::Args args(static_cast<int>(argv.size()), argv.data(), "usage");
  const CrfOptions o = tools::read_crf_options(args);
  EXPECT_EQ(o.params_file, file);
  ASSERT_TRUE(o.overrides.unary_temperature);
  EXPECT_FLOAT_EQ(*o.overrides.unary_temperature, 1.5f);
  EXPECT_FALSE(o.overrides.bilateral_weight || o.overrides.iterations);
  CrfParamOverrides model;
  model.bilateral_weight = 1;
  model.unary_temperature = 3;
  const CrfParams p = resolve_crf_options(o, model).params;
  EXPECT_FLOAT_EQ(p.bilateral_weight, 2.0f);
  EXPECT_FLOAT_EQ(p.unary_temperature, 1.5f);
}

TEST(CrfTemperature, OutOfRangeIsRejectedByName) {
  for (float t : {0.0f, -1.0f, 4.5f, NAN}) {
    CrfOptions o;
    o.params.unary_temperature = t;
    expect_error([&] { validate_crf_options(o); }, ErrorCode::kInvalidArgument, {"crf unary_temperature must be in (0, 4]"},
                 std::to_string(t));
  }
}

// T = 1 leaves the CRF as it was before the temperature existed: the hash of Q on this input was
// what the engine at commit 5a1b085 (before the temperature) computes, built as here, 0xc798aa531283f119,
// until the smoothness kernel became an exact separable blur (crf/gaussian_blur.h: other floats by
// design); re-pinned then, at T = 1, so that a change of T = 1's floats still shows.
TEST(CrfTemperature, OneIsTodaysCrfBitForBit) {
  const int w = 37, h = 23, classes = 5, n = w * h;
  std::vector<std::uint8_t> rgb(n * 3);
  std::vector<float> p(n * classes), q(n * classes);
  std::uint32_t s = 12345;
  auto rnd = [&] { return (s = s * 1664525u + 1013904223u) >> 8; };
  for (std::size_t k = 0; k < rgb.size(); ++k)
    rgb[k] = static_cast<std::uint8_t>((rnd() % 64) + (static_cast<int>(k / 3) % w > w / 2 ? 160 : 0));
  for (int i = 0; i < n; ++i) {
    float sum = 0;
    for (int c = 0; c < classes; ++c) sum += p[i * classes + c] = std::exp((rnd() % 1000) / 300.0f);
    for (int c = 0; c < classes; ++c) p[i * classes + c] /= sum;
  }
  CrfParams params;
  params.bilateral_xy_std = 8;
  params.bilateral_rgb_std = 13;
  DenseCrf crf(Device::kCpu, 2);
  crf.infer(CrfImage{rgb.data(), w, h, 3 * w}, p.data(), classes, params, 5, false, q.data());
  EXPECT_EQ(hash_floats(q), 0x5074965baf34c599ull);
  params.unary_temperature = 2;
  crf.infer(CrfImage{rgb.data(), w, h, 3 * w}, p.data(), classes, params, 5, false, q.data());
  EXPECT_NE(hash_floats(q), 0x5074965baf34c599ull);
}
