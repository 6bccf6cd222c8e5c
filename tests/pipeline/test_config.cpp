// The configuration loader in-process: every error class with its FILE:LINE:COLUMN, suggestions,
// element-property sections validated against the installed elements' GParamSpecs.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "config.h"
#include "deeplab/pipeline.h"
#include "launch.h"
#include "pipeline_test_support.h"

using deeplab::pipeline::load_config;
using deeplab::pipeline::OutputType;
using deeplab::pipeline::PipelineConfig;

namespace {

const char* const kMinimal = R"(source:
  type: file
  path: in.mp4
outputs:
  - type: file
    path: out.mp4
)";


std::string args_text(const PipelineConfig& config) {
  std::string text;
  for (const auto& a : deeplab::pipeline::launch_args(config)) text += a + " ";
  return text;
}

}  // namespace

TEST(Config, MinimalConfigLoads) {
  const PipelineConfig c = load_config(kMinimal, "test.yaml", {});
  EXPECT_EQ(c.sources.at(0).path, "in.mp4");
  ASSERT_EQ(c.outputs.size(), 1u);
  EXPECT_EQ(c.outputs[0].type, OutputType::kFile);
  EXPECT_EQ(c.outputs[0].container, "mp4");
  EXPECT_EQ(c.outputs[0].name, "file");
  EXPECT_FALSE(c.sources.at(0).live());
}

TEST(Config, UnknownKeyNamesLineColumnAndSuggests) {
  const std::string yaml = "source:\n  type: file\n  pth: in.mp4\noutputs:\n  - type: file\n    path: o.mp4\n";
  EXPECT_EQ(ptest::config_error(yaml), "test.yaml:3:3: source.pth: unknown key in a file source (did you mean 'path'?)");
  EXPECT_EQ(ptest::config_error(std::string(kMinimal) + "output: []\n"),
            "test.yaml:7:1: output: unknown key in the configuration (did you mean 'outputs'?)");
  // Far from every key: the known keys are listed instead of a guess.
  EXPECT_EQ(ptest::config_error(std::string(kMinimal) + "zzzzzz: 1\n"),
            "test.yaml:7:1: zzzzzz: unknown key in the configuration (known keys: description, source, sources, segmentation "
            "or outputs)");
}

// yaml-cpp answers node[key] with the first of two equal keys: a second `source.path` was ignored and
// a second `segmentation.threads` reached the launch line twice. Both places are named.
TEST(Config, DuplicateKeysAreRefusedNamingBothPlaces) {
  const std::string twice_path = "source:\n  type: file\n  path: a.mp4\n  path: b.mp4\noutputs:\n  - type: file\n"
                                 "    path: o.mp4\n";
  EXPECT_EQ(ptest::config_error(twice_path),
            "test.yaml:4:3: source.path: duplicate key (first written at test.yaml:3:3); a key may appear once in a "
            "mapping");
  const std::string twice_threads = std::string(kMinimal) + "segmentation:\n  threads: 2\n  crf: full\n  threads: 3\n";
  EXPECT_EQ(ptest::config_error(twice_threads),
            "test.yaml:10:3: segmentation.threads: duplicate key (first written at test.yaml:8:3); a key may appear "
            "once in a mapping");
  const std::string in_list = "source:\n  type: file\n  path: a.mp4\noutputs:\n  - type: file\n    path: o.mp4\n"
                              "    type: display\n";
  EXPECT_NE(ptest::config_error(in_list).find("test.yaml:7:5: outputs.0.type: duplicate key"), std::string::npos)
      << ptest::config_error(in_list);
  // An override replaces a key (it is not a duplicate).
  EXPECT_EQ(ptest::config_error(kMinimal, {"source.path=b.mp4"}), "");
}

TEST(Config, WrongTypesAreNamed) {
  EXPECT_EQ(ptest::config_error(std::string(kMinimal) + "segmentation:\n  threads: many\n"),
            "test.yaml:8:12: segmentation.threads: expected an integer, got 'many'");
  EXPECT_EQ(ptest::config_error(std::string(kMinimal) + "segmentation:\n  emit-probabilities: 3\n"),
            "test.yaml:8:23: segmentation.emit-probabilities: expected true or false, got '3'");
  EXPECT_EQ(ptest::config_error(std::string(kMinimal) + "segmentation: [a]\n"),
            "test.yaml:7:15: segmentation: expected a mapping (key: value lines), got a list");
  EXPECT_EQ(ptest::config_error("source:\n  type: file\n  path: [a, b]\noutputs:\n  - type: file\n    path: o.mp4\n"),
            "test.yaml:3:9: source.path: expected a string, got a list");
  EXPECT_EQ(ptest::config_error(std::string(kMinimal) + "segmentation:\n  threads: 5000\n"),
            "test.yaml:8:12: segmentation.threads: 5000 is out of range 0..1024");
}

TEST(Config, BadEnumValuesListTheChoices) {
  EXPECT_EQ(ptest::config_error(std::string(kMinimal) + "segmentation:\n  device: gpu\n"),
            "test.yaml:8:11: segmentation.device: 'gpu' is not one of auto, cpu or cuda (did you mean 'cpu'?)");
  EXPECT_EQ(ptest::config_error("source:\n  type: fiel\n"),
            "test.yaml:2:9: source.type: 'fiel' is not one of camera, file, uri or test (did you mean 'file'?)");
  const std::string masks = "source: {type: file, path: a.mp4}\noutputs:\n  - {type: masks, path: m%d.png, show: overlay}\n";
  EXPECT_EQ(ptest::config_error(masks), "test.yaml:3:40: outputs.0.show: 'overlay' is not one of ids or mask");
}

TEST(Config, MissingRequiredKeys) {
  EXPECT_EQ(ptest::config_error("source:\n  type: file\noutputs:\n  - type: file\n    path: o.mp4\n"),
            "test.yaml:2:3: source: missing required key 'path' for a file source");
  EXPECT_EQ(ptest::config_error("source:\n  path: a.mp4\n"),
            "test.yaml:2:3: source: missing required key 'type' for the source (one of camera, file, uri, test)");
  EXPECT_EQ(ptest::config_error("source: {type: test}\n"),
            "test.yaml:1:1: missing required key 'outputs' (a list: display, file, masks, appsink, shm, udp)");
  EXPECT_EQ(ptest::config_error("source: {type: test}\noutputs:\n  - type: shm\n"),
            "test.yaml:3:5: outputs.0: missing required key 'socket-path' for a shm output");
  EXPECT_EQ(ptest::config_error("source: {type: test}\noutputs: []\n"),
            "test.yaml:2:10: outputs: the list is empty: at least one output is needed (each with a type: display, file, "
            "masks, appsink, shm or udp)");
  EXPECT_EQ(ptest::config_error(""), "test.yaml: the configuration is empty: it needs 'source' and 'outputs'");
}

TEST(Config, YamlSyntaxErrorHasItsLocation) {
  const std::string message = ptest::config_error("source: {type: file\noutputs: []\n");
  EXPECT_EQ(message.rfind("test.yaml:", 0), 0u) << message;
  EXPECT_NE(message.find(": YAML syntax error: "), std::string::npos) << message;
}

TEST(Config, OverridesAreNamedInErrors) {
  EXPECT_EQ(ptest::config_error(kMinimal, {"segmentation.threads=lots"}),
            "--set segmentation.threads=lots: segmentation.threads: expected an integer, got 'lots'");
  EXPECT_EQ(ptest::config_error(kMinimal, {"outputs.1.type=display", "outputs.1.sync=maybe"}),
            "--set outputs.1.sync=maybe: outputs.1.sync: expected true or false, got 'maybe'");
  // A list item the override created and left incomplete.
  EXPECT_EQ(ptest::config_error(kMinimal, {"outputs.1.path=x.mp4"}),
            "--set outputs.1.path=x.mp4: outputs.1: missing required key 'type' for an output (one of display, file, "
            "masks, appsink, shm or udp)");
  // An error in the file is still reported at its line when overrides touch other keys.
  EXPECT_EQ(ptest::config_error(std::string(kMinimal) + "segmentation:\n  device: gpu\n", {"source.path=b.mp4"}),
            "test.yaml:8:11: segmentation.device: 'gpu' is not one of auto, cpu or cuda (did you mean 'cpu'?)");
}

// deeplabseg's input-size is a string: its form is checked with the configuration (exit status 2),
// not when the model loads (exit status 1).
TEST(Config, InputSizeIsCheckedAtValidation) {
  EXPECT_EQ(ptest::config_error(std::string(kMinimal) + "segmentation:\n  input-size: 0x0\n"),
            "test.yaml:8:15: segmentation.input-size: '0x0' is not WIDTHxHEIGHT with each within 1..16384 (e.g. 513x513), "
            "or empty for the model's own size");
  EXPECT_EQ(ptest::config_error(kMinimal, {"segmentation.input-size=513by513"}),
            "--set segmentation.input-size=513by513: segmentation.input-size: '513by513' is not WIDTHxHEIGHT with each "
            "within 1..16384 (e.g. 513x513), or empty for the model's own size");
  EXPECT_NE(ptest::config_error(kMinimal, {"segmentation.input-size=16385x1"}), "");
  EXPECT_EQ(ptest::config_error(kMinimal, {"segmentation.input-size=513x513"}), "");
  EXPECT_EQ(ptest::config_error(kMinimal, {"segmentation.input-size=''"}), "");
}

// deeplabseg's aspect is an enum: stretch (the default) or keep, checked with the configuration.
TEST(Config, AspectIsAnEnumKey) {
  EXPECT_EQ(ptest::config_error(std::string(kMinimal) + "segmentation:\n  aspect: keep\n  input-size: 513x513\n"), "");
  EXPECT_EQ(ptest::config_error(kMinimal, {"segmentation.aspect=stretch"}), "");
  const std::string message = ptest::config_error(kMinimal, {"segmentation.aspect=wide"});
  EXPECT_NE(message.find("segmentation.aspect: 'wide' is not one of stretch or keep"), std::string::npos) << message;
}

// Every writable deeplabseg property is a segmentation key, taking its own default value: the schema
// follows the element (properties added to it later included).
TEST(Config, SegmentationAcceptsEveryDeeplabsegProperty) {
  const auto pspecs = deeplab::pipeline::settable_properties("deeplabseg");
  ASSERT_GE(pspecs.size(), 9u);
  for (GParamSpec* p : pspecs) {
    const GValue* def = g_param_spec_get_default_value(p);
    std::string value;
    if (G_VALUE_HOLDS_STRING(def)) value = g_value_get_string(def) ? g_value_get_string(def) : "";
    else if (G_VALUE_HOLDS_ENUM(def)) {
      auto* klass = static_cast<GEnumClass*>(g_type_class_ref(G_VALUE_TYPE(def)));
      value = g_enum_get_value(klass, g_value_get_enum(def))->value_nick;
      g_type_class_unref(klass);
    } else {
      gchar* text = gst_value_serialize(def);
      value = text;
      g_free(text);
    }
    SCOPED_TRACE(std::string(p->name) + "=" + value);
    const std::string yaml = std::string(kMinimal) + "segmentation:\n  " + p->name + ": \"" + value + "\"\n";
    const PipelineConfig c = load_config(yaml, "test.yaml", {});
    ASSERT_EQ(c.segmentation.size(), 1u);
    EXPECT_EQ(c.segmentation[0].name, p->name);
    EXPECT_NE(args_text(c).find(std::string(" ") + p->name + "="), std::string::npos);
  }
  EXPECT_NE(ptest::config_error(std::string(kMinimal) + "segmentation:\n  name: x\n").find("unknown key"), std::string::npos);
}

TEST(Config, ElementPropertyValuesInGstreamerForm) {
  const PipelineConfig c = load_config(std::string(kMinimal) + "segmentation:\n  classes: [person, car]\n  qos: no\n"
                                                                 "  device: cpu\n  threads: 2\n",
                                       "test.yaml", {"outputs.0.overlay.alpha=0.25", "outputs.0.encoder.bitrate=900"});
  const std::string args = args_text(c);
  EXPECT_NE(args.find("deeplabseg name=seg classes=person,car qos=false device=cpu threads=2 !"), std::string::npos) << args;
  EXPECT_NE(args.find("deeplaboverlay name=out0_overlay alpha=0.25 !"), std::string::npos) << args;
  EXPECT_NE(args.find("x264enc name=out0_enc bitrate=900 !"), std::string::npos) << args;
  EXPECT_EQ(ptest::config_error(kMinimal, {"outputs.0.overlay.alpha=2"}),
            "--set outputs.0.overlay.alpha=2: outputs.0.overlay.alpha: 2 is out of range 0..1");
  EXPECT_EQ(ptest::config_error(kMinimal, {"outputs.0.encoder.speed-preset=fastest"}),
            "--set outputs.0.encoder.speed-preset=fastest: outputs.0.encoder.speed-preset: 'fastest' is not one of "
            "None, ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow or placebo (did you "
            "mean 'faster'?)");
}

TEST(Config, OutputRules) {
  EXPECT_EQ(ptest::config_error(kMinimal, {"outputs.0.path=out.avi"}),
            "--set outputs.0.path=out.avi: outputs.0.path: cannot tell the container from 'out.avi' (.mp4 or .mkv); "
            "set 'container: mp4' or 'mkv'");
  EXPECT_EQ(load_config(kMinimal, "t", {"outputs.0.path=out.avi", "outputs.0.container=mkv"}).outputs[0].container, "mkv");
  EXPECT_EQ(ptest::config_error(kMinimal, {"outputs.0.show=mask", "outputs.0.overlay.legend=true"}),
            "--set outputs.0.overlay.legend=true: outputs.0.overlay: applies to show: overlay only");
  EXPECT_EQ(ptest::config_error(kMinimal, {"outputs.0.resolution=model"}),
            "--set outputs.0.resolution=model: outputs.0.resolution: applies to show: mask or ids only");
  EXPECT_EQ(ptest::config_error(kMinimal, {"outputs.1={type: display, sink: fakesnk}"}),
            "--set outputs.1={type: display, sink: fakesnk}: outputs.1.sink: no GStreamer element 'fakesnk' (did you "
            "mean 'fakesink'?)");
  EXPECT_EQ(ptest::config_error(kMinimal, {"outputs.0.name=x", "outputs.1={type: file, path: b.mp4, name: x}"}),
            "--set outputs.1={type: file, path: b.mp4, name: x}: outputs.1: the name 'x' is already taken by "
            "outputs.0; give it another 'name'");
  const PipelineConfig two = load_config(kMinimal, "t", {"outputs.1={type: file, path: b.mkv}"});
  EXPECT_EQ(two.outputs[0].name, "file0");
  EXPECT_EQ(two.outputs[1].name, "file1");
}

TEST(Config, MaskPatternsNeedOneFrameNumber) {
  const std::string base = "source: {type: test}\noutputs:\n  - type: masks\n    path: ";
  EXPECT_EQ(ptest::config_error(base + "m.png\n"),
            "test.yaml:4:11: outputs.0.path: 'm.png' needs exactly one %d for the frame number, e.g. masks/%05d.png");
  EXPECT_EQ(ptest::config_error(base + "m%s.png\n"),
            "test.yaml:4:11: outputs.0.path: 'm%s.png': only %d-style conversions (and %%) are allowed in a masks path");
  EXPECT_EQ(ptest::config_error(base + "m%d-%d.png\n"),
            "test.yaml:4:11: outputs.0.path: 'm%d-%d.png' needs exactly one %d for the frame number, e.g. masks/%05d.png");
  EXPECT_EQ(load_config(base + "\"100%%/m%05d.png\"\n", "t", {}).outputs[0].path, "100%%/m%05d.png");
}

TEST(Config, ValuesThatCannotGoThroughALaunchLineAreRefused) {
  EXPECT_EQ(ptest::config_error(kMinimal, {"outputs.0.path=a\\b.mp4"}),
            "--set outputs.0.path=a\\b.mp4: outputs.0.path: 'a\\b.mp4' contains a backslash or a double quote, which "
            "cannot go through a GStreamer launch line; rename it");
}

TEST(Config, SourcesAndLiveness) {
  const std::string outputs = "outputs:\n  - {type: display}\n";
  auto source = [&](const std::string& s) { return load_config("source: " + s + "\n" + outputs, "t", {}).sources.at(0); };
  EXPECT_TRUE(source("{type: camera}").live());
  EXPECT_EQ(source("{type: camera}").device, "/dev/video0");
  EXPECT_TRUE(source("{type: uri, uri: 'rtsp://h/s'}").live());
  EXPECT_FALSE(source("{type: uri, uri: 'http://h/a.mp4'}").live());
  EXPECT_FALSE(source("{type: test}").live());
  EXPECT_TRUE(source("{type: test, is-live: true}").live());
  EXPECT_EQ(source("{type: test, framerate: 30000/1001}").framerate, "30000/1001");
  EXPECT_EQ(source("{type: camera, format: MJPG}").format, "MJPG");
  EXPECT_EQ(ptest::config_error("source: {type: test, framerate: 12.5}\n" + outputs),
            "test.yaml:1:33: source.framerate: expected a frame rate such as 30 or 30000/1001, got '12.5'");
  EXPECT_EQ(ptest::config_error("source: {type: test, format: I42O}\n" + outputs),
            "test.yaml:1:30: source.format: 'I42O' is not a GStreamer video format (did you mean 'I420'?)");
  EXPECT_EQ(ptest::config_error("source: {type: test, pattern: snowy}\n" + outputs),
            "test.yaml:1:31: source.pattern: 'snowy' is not one of smpte, snow, black, white, red, green, blue, "
            "checkers-1, checkers-2, checkers-4, checkers-8, circular, blink, smpte75, zone-plate, gamut, "
            "chroma-zone-plate, solid-color, ball, smpte100, bar, pinwheel, spokes, gradient, colors or smpte-rp-219 "
            "(did you mean 'snow'?)");
  EXPECT_EQ(ptest::config_error("source: {type: uri, uri: not-a-uri}\n" + outputs),
            "test.yaml:1:26: source.uri: 'not-a-uri' is not a URI (scheme://...)");
  EXPECT_EQ(ptest::config_error("source: {type: camera, path: x}\n" + outputs),
            "test.yaml:1:24: source.path: unknown key in a camera source (known keys: type, max-frames, device, width, "
            "height, framerate or format)");
}

TEST(Config, EveryFileInConfigsLoads) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ptest::source_dir() + "/configs")) {
    if (entry.path().extension() != ".yaml") continue;
    SCOPED_TRACE(entry.path().string());
    const PipelineConfig c = deeplab::pipeline::load_config_file(entry.path().string(), {});
    EXPECT_FALSE(c.outputs.empty());
    ++n;
  }
  EXPECT_GE(n, 6);
}

// docs/pipelines.md shows the element-property sections as `deeplab-run --describe` prints them.
TEST(Config, DocsListEveryElementProperty) {
  const std::string docs = ptest::read_file(ptest::source_dir() + "/docs/pipelines.md");
  for (const char* section : {"segmentation", "overlay"}) {
    SCOPED_TRACE(section);
    EXPECT_NE(docs.find(deeplab::describe_section(section)), std::string::npos)
        << "docs/pipelines.md is out of date: paste the output of `deeplab-run --describe " << section << "`";
  }
}
