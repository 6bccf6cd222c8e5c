// Model manifests: every manifest shipped in models/ parses; malformed ones are refused with
// kInvalidArgument naming the file and the key; resolve_model() finds manifests and model files
// through the caller's ModelSearch (the tools' $DEEPLAB_MODEL_DIR, $DEEPLAB_MODEL_CACHE: read by
// tools::model_search_from_environment, checked here too), <models>/cache and the manifest's own
// folder, and says how to fetch what is missing.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "deeplab/error.h"
#include "deeplab/log.h"
#include "cli_args.h"
#include "deeplab/manifest.h"

namespace fs = std::filesystem;
using namespace deeplab;

namespace {

const std::string kRealModel = std::string(DEEPLAB_SHARED_DIR) + "/models/deeplab_v3_1_default_1.onnx";

// Sets (or, with nullopt, unsets) an environment variable for the lifetime of the guard.
class EnvGuard {
 public:
  EnvGuard(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  ~EnvGuard() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A fresh folder per test (tests may run in parallel processes), removed afterwards.
class ManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(DEEPLAB_TEST_WORK_DIR) / ("manifest-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string write(const std::string& rel, const std::string& text) {
    const fs::path p = dir_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  std::string touch(const std::string& rel) { return write(rel, "not really onnx"); }

  fs::path dir_;
};

// The least a manifest says about its input: the pre-processing.
const std::string kInputSection = "input: {layout: NCHW, color: RGB, scale: 1, mean: [0, 0, 0], std: [1, 1, 1]}\n";

std::string valid_manifest(const std::string& file = "model.onnx") {
  return "name: test-model\n"
         "description: a test\n"
         "file: " + file + "\n"
         "url: https://example.invalid/model.onnx\n"
         "licence: Apache-2.0\n"
         "input:\n"
         "  name: sub_7\n"
         "  width: 257\n"
         "  height: 193\n"
         "  layout: NHWC\n"
         "  color: BGR\n"
         "  scale: 0.5\n"
         "  mean: [1, 2, 3]\n"
         "  std: [4, 5, 6]\n"
         "output: logits\n"
         "classes: [background, cat, dog]\n"
         "palette: [[1, 2, 3]]\n";
}

// Expects load_manifest(path) to throw kInvalidArgument whose message names the file and `key`.
void expect_invalid(const std::string& path, const std::string& key) {
  try {
    load_manifest(path);
    ADD_FAILURE() << path << ": accepted (expected an error about '" << key << "')";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
    EXPECT_NE(msg.find(key), std::string::npos) << "message does not name '" << key << "': " << msg;
  }
}

Error expect_error(ErrorCode code, const std::string& name_or_path, const ModelSearch& search = {}) {
  try {
    resolve_model(name_or_path, search);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e;
  }
  ADD_FAILURE() << name_or_path << ": resolved";
  return Error(ErrorCode::kInternal, "");
}

std::vector<fs::path> repo_manifests() {
  std::vector<fs::path> out;
  const fs::path models = fs::path(DEEPLAB_SOURCE_DIR) / "models";
  if (!fs::exists(models)) return out;
  for (const auto& e : fs::directory_iterator(models))
    if (e.is_regular_file() && (e.path().extension() == ".yaml" || e.path().extension() == ".yml"))
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(Manifest, EveryRepoManifestParses) {
  const auto manifests = repo_manifests();
  ASSERT_FALSE(manifests.empty()) << "no models/*.yaml in " << DEEPLAB_SOURCE_DIR;
  for (const auto& p : manifests) {
    SCOPED_TRACE(p.string());
    ModelManifest m;
    ASSERT_NO_THROW(m = load_manifest(p.string()));
    EXPECT_FALSE(m.name.empty());
    EXPECT_FALSE(m.file.empty());
    EXPECT_EQ(m.manifest_path, p.string());
    EXPECT_EQ(m.classes.size(), m.palette.size()) << "classes vs palette entries";
    EXPECT_GE(m.input.width, 0);
    EXPECT_GE(m.input.height, 0);
    for (float s : m.input.std) EXPECT_NE(s, 0.0f);
    std::printf("[manifest] %s: %s, %zu classes, input %dx%d %s\n", p.filename().c_str(), m.name.c_str(),
                m.classes.size(), m.input.width, m.input.height,
                m.input.layout == TensorLayout::kNHWC ? "NHWC" : "NCHW");
  }
}

TEST_F(ManifestTest, ValidManifestFields) {
  const std::string path = write("m.yaml", valid_manifest());
  const ModelManifest m = load_manifest(path);
  EXPECT_EQ(m.name, "test-model");
  EXPECT_EQ(m.file, "model.onnx");
  EXPECT_EQ(m.url, "https://example.invalid/model.onnx");
  EXPECT_EQ(m.licence, "Apache-2.0");
  EXPECT_EQ(m.output, "logits");
  EXPECT_EQ(m.input.name, "sub_7");
  EXPECT_EQ(m.input.width, 257);
  EXPECT_EQ(m.input.height, 193);
  EXPECT_EQ(m.input.layout, TensorLayout::kNHWC);
  EXPECT_EQ(m.input.color, ColorOrder::kBGR);
  EXPECT_FLOAT_EQ(m.input.scale, 0.5f);
  EXPECT_EQ(m.input.mean, (std::array<float, 3>{1, 2, 3}));
  EXPECT_EQ(m.input.std, (std::array<float, 3>{4, 5, 6}));
  ASSERT_EQ(m.classes, (std::vector<std::string>{"background", "cat", "dog"}));
  // One palette entry given; the rest are filled from the VOC palette.
  ASSERT_EQ(m.palette.size(), 3u);
  EXPECT_EQ(m.palette[0], (std::array<std::uint8_t, 3>{1, 2, 3}));
  const auto voc = voc_palette(3);
  EXPECT_EQ(m.palette[1], voc[1]);
  EXPECT_EQ(m.palette[2], voc[2]);
  EXPECT_EQ(m.manifest_path, path);

  // The name defaults to the file stem; the pre-processing is never guessed.
  const ModelManifest d = load_manifest(write("bare-minimum.yaml", "file: x.onnx\n" + kInputSection));
  EXPECT_EQ(d.name, "bare-minimum");
  EXPECT_EQ(d.input.width, 0);
  EXPECT_TRUE(d.classes.empty());
  EXPECT_TRUE(d.palette.empty());
}

TEST_F(ManifestTest, MalformedManifestsNameFileAndKey) {
  // Neutral file names: the key must be named by the message, not by the path.
  struct Case { const char* file; std::string text; const char* key; };
  const std::string base = "name: bad\nfile: m.onnx\n";
  const Case cases[] = {
      {"bad-01.yaml", base + "input: {width: 257, height: [1, 2\n", "not valid YAML"},
      {"bad-02.yaml", "name: bad\n\tfile: m.onnx\n", "not valid YAML"},
      {"bad-03.yaml", "- a\n- b\n", "mapping"},
      {"bad-04.yaml", base + "input: {width: abc, height: 2}\n", "width"},
      {"bad-05.yaml", base + "input: {width: 2, height: [3]}\n", "height"},
      {"bad-06.yaml", "name: [a, b]\nfile: m.onnx\n", "name"},
      {"bad-07.yaml", base + "input: 5\n", "input"},
      {"bad-08.yaml", base + "input: {mean: [a, b, c]}\n", "mean"},
      {"bad-09.yaml", base + "input: {mean: [1, 2]}\n", "mean"},
      {"bad-10.yaml", base + "input: {std: 0.5}\n", "std"},
      {"bad-11.yaml", base + "input: {scale: big}\n", "scale"},
      {"bad-12.yaml", base + "input: {layout: NCWH}\n", "input.layout"},
      {"bad-13.yaml", base + "input: {color: RGBA}\n", "input.color"},
      {"bad-14.yaml", base + "input: {width: -5, height: 10}\n", "input.width"},
      {"bad-15.yaml", base + "input: {std: [0.2, 0, 0.2]}\n", "input.std"},
      {"bad-16.yaml", base + "classes: [a, b]\npalette: [[0, 0, 0], [300, 0, 0]]\n", "palette"},
      {"bad-17.yaml", base + "classes: [a]\npalette: [[0, -1, 0]]\n", "palette"},
      {"bad-18.yaml", base + "classes: [a]\npalette: [[0, 0]]\n", "palette"},
      {"bad-19.yaml", base + "classes: [a]\npalette: [[red, 0, 0]]\n", "palette"},
      {"bad-20.yaml", base + "palette: {a: 1}\n", "palette"},
      {"bad-21.yaml", base + "classes: 5\n", "classes"},
      {"bad-22.yaml", base + "classes: [[a, b], c]\n", "classes"},
      {"bad-23.yaml", "name: bad\ninput: {width: 3, height: 3}\n", "file"},
      // No input section, or one without the pre-processing: nothing is guessed.
      {"bad-24.yaml", base, "the section is missing"},
      {"bad-25.yaml", base + "input: {layout: NHWC, color: RGB, width: 3, height: 3}\n", "missing scale, mean, std"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    expect_invalid(write(c.file, c.text), c.key);
  }
  try {
    load_manifest((dir_ / "missing.yaml").string());
    ADD_FAILURE() << "a missing manifest loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound) << e.what();
  }
}

// A typo'd key was silently ignored (and its default used): refused, with the key it meant.
TEST_F(ManifestTest, UnknownKeysAreRefusedWithDidYouMean) {
  const std::string good = valid_manifest();
  struct Case { const char* file; std::string text; const char* expected; };
  const Case cases[] = {
      {"typo-top.yaml", good + "license: MIT\n", "unknown manifest key 'license' (did you mean 'licence'?)"},
      {"unknown-top.yaml", good + "zzzzzz: 1\n", "unknown manifest key 'zzzzzz' (known keys: name, description"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    expect_invalid(write(c.file, c.text), c.expected);
  }
  std::string input_typo = good;
  input_typo.replace(input_typo.find("  mean:"), 7, "  maen:");
  expect_invalid(write("typo-input.yaml", input_typo), "unknown manifest key 'input.maen' (did you mean 'input.mean'?)");
  // The line and column of the offending key.
  expect_invalid(write("typo-line.yaml", good + "license: MIT\n"), "typo-line.yaml:18:1:");
}

// yaml-cpp keeps the first of two equal keys: a second `file:` would be silently ignored.
TEST_F(ManifestTest, DuplicateKeysAreRefusedNamingBothPlaces) {
  const std::string path = write("twice.yaml", valid_manifest() + "file: other.onnx\n");
  expect_invalid(path, "twice.yaml:18:1: manifest key 'file' written twice (first at " + path + ":3:1)");
  std::string nested = valid_manifest();
  nested.insert(nested.find("  std:"), "  scale: 0.25\n");
  expect_invalid(write("twice-nested.yaml", nested), "manifest key 'input.scale' written twice");
}

TEST_F(ManifestTest, ResolveNameThroughModelDir) {
  const std::string name = "unit-test-model-" + std::to_string(::getpid());
  write("models/" + name + ".yaml", valid_manifest("weights.onnx"));
  const std::string onnx = touch("models/weights.onnx");
  const ModelSearch search{(dir_ / "models").string(), ""};
  const ModelManifest m = resolve_model(name, search);
  EXPECT_EQ(m.name, "test-model");
  EXPECT_EQ(fs::path(m.manifest_path), dir_ / "models" / (name + ".yaml"));
  EXPECT_TRUE(fs::path(m.file).is_absolute()) << m.file;
  EXPECT_TRUE(fs::equivalent(m.file, onnx)) << m.file;

  // The search's manifest_dir comes before the source tree's models/.
  const auto shipped = repo_manifests();
  if (!shipped.empty()) {
    const std::string stem = shipped.front().stem().string();
    write("models/" + stem + ".yaml", "description: override\nfile: weights.onnx\n" + kInputSection);
    EXPECT_EQ(resolve_model(stem, search).description, "override");
    EXPECT_NE(resolve_model(stem).description, "override");
  }
}

TEST_F(ManifestTest, ResolveModelFileCacheOrder) {
  write("models/cached.yaml", valid_manifest("cached.onnx"));
  const std::string beside = touch("models/cached.onnx");
  const std::string env_cache = touch("env-cache/cached.onnx");
  const ModelSearch search{(dir_ / "models").string(), ""};
  // The search's cache_dir first ...
  EXPECT_TRUE(fs::equivalent(resolve_model("cached", {search.manifest_dir, (dir_ / "env-cache").string()}).file, env_cache));
  // ... then beside the manifest ...
  EXPECT_TRUE(fs::equivalent(resolve_model("cached", search).file, beside));
  // ... unless <manifest dir>/cache has it.
  const std::string models_cache = touch("models/cache/cached.onnx");
  EXPECT_TRUE(fs::equivalent(resolve_model("cached", search).file, models_cache));
  // Also for a manifest given by path.
  EXPECT_TRUE(fs::equivalent(resolve_model((dir_ / "models" / "cached.yaml").string()).file, models_cache));
}

TEST_F(ManifestTest, MissingModelFileHintsAtFetchScript) {
  write("models/needs-fetch.yaml", "name: needs-fetch\nfile: not-downloaded.onnx\n" + kInputSection);
  fs::create_directories(dir_ / "empty-cache");
  const Error e = expect_error(ErrorCode::kNotFound, "needs-fetch", {(dir_ / "models").string(), (dir_ / "empty-cache").string()});
  const std::string msg = e.what();
  EXPECT_NE(msg.find("fetch-models.sh"), std::string::npos) << msg;
  EXPECT_NE(msg.find("needs-fetch"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not-downloaded.onnx"), std::string::npos) << msg;
}

TEST_F(ManifestTest, UnknownNamesAndMissingPaths) {
  const std::string name = "no-such-model-" + std::to_string(::getpid());
  const Error e = expect_error(ErrorCode::kNotFound, name, {dir_.string(), ""});
  EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
  expect_error(ErrorCode::kNotFound, (dir_ / "absent.onnx").string());
  expect_error(ErrorCode::kNotFound, (dir_ / "absent.yaml").string());
}

// The tools and the element read the environment and hand it in: the same variables still work.
TEST_F(ManifestTest, ToolsReadTheModelSearchFromTheEnvironment) {
  write("models/from-env.yaml", valid_manifest("from-env.onnx"));
  const std::string cached = touch("env-cache/from-env.onnx");
  {
    EnvGuard dir("DEEPLAB_MODEL_DIR", (dir_ / "models").string());
    EnvGuard cache("DEEPLAB_MODEL_CACHE", (dir_ / "env-cache").string());
    const ModelSearch search = tools::model_search_from_environment();
    EXPECT_EQ(search.manifest_dir, (dir_ / "models").string());
    EXPECT_EQ(search.cache_dir, (dir_ / "env-cache").string());
    EXPECT_TRUE(fs::equivalent(resolve_model("from-env", search).file, cached));
  }
  EnvGuard dir("DEEPLAB_MODEL_DIR", std::nullopt);
  EnvGuard cache("DEEPLAB_MODEL_CACHE", std::nullopt);
  const ModelSearch none = tools::model_search_from_environment();
  EXPECT_TRUE(none.manifest_dir.empty() && none.cache_dir.empty());
  // The engine itself reads no environment: a variable set but not handed in is not seen.
  EnvGuard set_anyway("DEEPLAB_MODEL_DIR", (dir_ / "models").string());
  expect_error(ErrorCode::kNotFound, "from-env");
}

TEST_F(ManifestTest, ResolveBareOnnx) {
  ASSERT_TRUE(fs::exists(kRealModel)) << kRealModel;
  // No sibling manifest, but a repo manifest names this file: its facts (NHWC, x/127.5-1) apply.
  const ModelManifest m = resolve_model(kRealModel);
  EXPECT_EQ(m.name, "deeplabv3-mnv2-voc");
  EXPECT_TRUE(fs::path(m.file).is_absolute());
  EXPECT_TRUE(fs::equivalent(m.file, kRealModel));
  EXPECT_EQ(m.input.layout, TensorLayout::kNHWC);
  EXPECT_FALSE(m.manifest_path.empty());

  // A file no manifest knows: the defaults for a bare file, said as a warning through the engine's
  // log (not silently, not straight to stderr).
  const std::string unknown = touch("loose/unknown-net.onnx");
  std::vector<std::pair<LogLevel, std::string>> logged;
  set_log_callback([&](LogLevel level, const std::string& message) { logged.emplace_back(level, message); });
  const ModelManifest d = resolve_model(unknown);
  set_log_callback(nullptr);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].first, LogLevel::kWarning);
  EXPECT_NE(logged[0].second.find(unknown + ": no manifest found; assuming NCHW RGB input with ImageNet"),
            std::string::npos)
      << logged[0].second;
  EXPECT_EQ(d.name, "unknown-net");
  EXPECT_TRUE(fs::equivalent(d.file, unknown));
  EXPECT_EQ(d.input.layout, TensorLayout::kNCHW);
  EXPECT_EQ(d.input.color, ColorOrder::kRGB);
  EXPECT_TRUE(d.manifest_path.empty());

  // With a sibling <stem>.yaml: that manifest, pointing at this file whatever its `file` says.
  const std::string onnx = touch("exports/net.onnx");
  write("exports/net.yaml", valid_manifest("elsewhere.onnx"));
  const ModelManifest s = resolve_model(onnx);
  EXPECT_EQ(s.name, "test-model");
  EXPECT_EQ(s.input.layout, TensorLayout::kNHWC);
  EXPECT_TRUE(fs::path(s.file).is_absolute());
  EXPECT_TRUE(fs::equivalent(s.file, onnx));
}

TEST(Manifest, VocPalette) {
  const auto p = voc_palette(256);
  ASSERT_EQ(p.size(), 256u);
  using C = std::array<std::uint8_t, 3>;
  EXPECT_EQ(p[0], (C{0, 0, 0}));
  EXPECT_EQ(p[1], (C{128, 0, 0}));
  EXPECT_EQ(p[2], (C{0, 128, 0}));
  EXPECT_EQ(p[3], (C{128, 128, 0}));
  EXPECT_EQ(p[4], (C{0, 0, 128}));
  EXPECT_EQ(p[15], (C{192, 128, 128}));  // person
  EXPECT_EQ(p[20], (C{0, 64, 128}));     // tv/monitor
  EXPECT_EQ(std::set<C>(p.begin(), p.end()).size(), 256u) << "palette entries must be distinct";
  EXPECT_TRUE(voc_palette(0).empty());
  EXPECT_EQ(voc_palette(21).size(), 21u);
}
