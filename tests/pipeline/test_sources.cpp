// Several sources in one configuration (`sources:`), segmented by one shared engine: the loader (both
// forms, the errors of mixing them), the launch arguments (one branch per source, unique names, one
// model-instance-id), and real runs of configs/four-files.yaml (four shared clips, the model loaded
// once) and configs/four-cameras.yaml (test sources in place of the cameras, by --set).
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "config.h"
#include "deeplab/pipeline.h"
#include "launch.h"
#include "pipeline_test_support.h"

using deeplab::pipeline::load_config;
using deeplab::pipeline::OutputType;
using deeplab::pipeline::PipelineConfig;

namespace {

const char* const kTwoSources = R"(sources:
  - type: file
    path: a.mp4
    outputs:
      - {type: file, path: a-out.mp4}
      - {type: display, sink: fakesink}
  - type: test
    num-buffers: 5
    outputs:
      - {type: file, path: b-out.mp4}
)";


std::string joined(const PipelineConfig& config) {
  std::string text;
  for (const auto& a : deeplab::pipeline::launch_args(config)) text += (text.empty() ? "" : " ") + a;
  return text;
}

int count_of(const std::string& text, const std::string& word) {
  int n = 0;
  for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(Sources, ListFormLoadsWithOutputsPerSource) {
  const PipelineConfig c = load_config(kTwoSources, "cams.yaml", {});
  ASSERT_EQ(c.sources.size(), 2u);
  EXPECT_TRUE(c.source_list);
  EXPECT_EQ(c.sources[0].path, "a.mp4");
  EXPECT_EQ(c.sources[1].key, "sources.1");
  ASSERT_EQ(c.outputs.size(), 3u);
  EXPECT_EQ(c.outputs[1].source, 0u);
  EXPECT_EQ(c.outputs[2].source, 1u);
  EXPECT_EQ(c.outputs[2].key, "sources.1.outputs.0");
  // Default names carry the source, so they stay unique across sources.
  EXPECT_EQ(c.outputs[0].name, "src0-file");
  EXPECT_EQ(c.outputs[1].name, "src0-display");
  EXPECT_EQ(c.outputs[2].name, "src1-file");
}

TEST(Sources, SingleFormIsUnchanged) {
  const PipelineConfig c = load_config("source: {type: file, path: in.mp4}\noutputs: [{type: file, path: o.mp4}]\n", "t", {});
  ASSERT_EQ(c.sources.size(), 1u);
  EXPECT_FALSE(c.source_list);
  EXPECT_EQ(c.outputs[0].key, "outputs.0");
  EXPECT_EQ(c.outputs[0].name, "file");
  for (const auto& s : c.segmentation) EXPECT_NE(s.name, "model-instance-id") << "a lone source shares nothing";
}

TEST(Sources, MixingFormsAndBadListsAreErrors) {
  EXPECT_EQ(ptest::config_error(std::string("source: {type: test}\n") + kTwoSources),
            "test.yaml:1:9: source: 'source' and 'sources' do not go together: with 'sources', each item is a source with "
            "its own 'outputs'");
  EXPECT_EQ(ptest::config_error(std::string(kTwoSources) + "outputs: [{type: file, path: o.mp4}]\n"),
            "test.yaml:11:10: outputs: 'outputs' and 'sources' do not go together: with 'sources', each item is a source "
            "with its own 'outputs'");
  EXPECT_EQ(ptest::config_error("sources: []\n"),
            "test.yaml:1:10: sources: the list is empty: at least one source (each with its outputs) is needed");
  EXPECT_EQ(ptest::config_error("sources: {type: test}\n"), "test.yaml:1:10: sources: expected a list of at least one source (each "
                                                  "with its outputs), got a mapping");
  EXPECT_EQ(ptest::config_error("sources:\n  - {type: test}\n"),
            "test.yaml:2:5: sources.0: missing required key 'outputs' (a list: display, file, masks, appsink, shm, udp)");
  EXPECT_NE(ptest::config_error("sources:\n  - {type: file, pth: a.mp4, outputs: [{type: display}]}\n").find("sources.0.pth: unknown key"),
            std::string::npos);
  EXPECT_NE(ptest::config_error("outputs: [{type: display}]\n").find("missing required key 'source'"), std::string::npos);
  // A name taken in another source's list.
  EXPECT_EQ(ptest::config_error("sources:\n  - {type: test, outputs: [{type: display, name: x}]}\n"
                     "  - {type: test, outputs: [{type: display, name: x}]}\n"),
            "test.yaml:3:28: sources.1.outputs.0: the name 'x' is already taken by sources.0.outputs.0; give it another "
            "'name'");
  // Overrides reach into the list.
  EXPECT_NE(ptest::config_error(kTwoSources, {"sources.1.num-buffers=many"}).find("sources.1.num-buffers: expected an integer"),
            std::string::npos);
}

TEST(Sources, OverridesReachEachSource) {
  const PipelineConfig c = load_config(kTwoSources, "t", {"sources.0.path=x",
                                                         "sources.0.outputs.0.path=z.mp4", "segmentation.batch-size=3"});
  EXPECT_EQ(c.sources[0].path, "x");
  EXPECT_EQ(c.outputs[0].path, "z.mp4");
  EXPECT_EQ(count_of(joined(c), "batch-size=3"), 2);
  EXPECT_EQ(count_of(joined(c), "batch-size=2"), 0) << "a batch-size that is set wins over the number of sources";
}

// Golden: one branch per source, every element name unique, one model-instance-id (the file's name)
// and a batch as large as the number of sources.
TEST(Sources, LaunchArgumentsOneBranchPerSource) {
  EXPECT_EQ(joined(load_config(kTwoSources, "configs/two cams.yaml", {})),
            "filesrc name=src0 location=a.mp4 ! decodebin name=decode0 ! videoconvert name=srcconv0 ! deeplabseg name=seg0 "
            "model-instance-id=twocams batch-size=2 ! tee name=t0 "
            "t0. ! queue name=out0_q ! deeplaboverlay name=out0_overlay ! videoconvert name=out0_conv ! "
            "video/x-raw,format=I420 ! x264enc name=out0_enc ! mp4mux name=out0_mux ! filesink name=out0_sink "
            "location=a-out.mp4 sync=false async=false "
            "t0. ! queue name=out1_q ! deeplaboverlay name=out1_overlay ! videoconvert name=out1_conv ! fakesink "
            "name=out1_sink sync=true "
            "videotestsrc name=src1 pattern=smpte num-buffers=5 ! videoconvert name=srcconv1 ! deeplabseg name=seg1 "
            "model-instance-id=twocams batch-size=2 ! tee name=t1 "
            "t1. ! queue name=out2_q ! deeplaboverlay name=out2_overlay ! videoconvert name=out2_conv ! "
            "video/x-raw,format=I420 ! x264enc name=out2_enc ! mp4mux name=out2_mux ! filesink name=out2_sink "
            "location=b-out.mp4 sync=false async=false");
  const PipelineConfig named = load_config(std::string(kTwoSources) + "segmentation: {model-instance-id: cams}\n", "t", {});
  EXPECT_EQ(count_of(joined(named), "model-instance-id=cams "), 2);
}

// Four clips, ten frames each, through configs/four-files.yaml: each output holds its source's frames
// (decoded), the summary lists each source, and the batching engine is made once (the deeplab
// category's INFO line "batching engine for ...", as tests/gst counts shared-engine loads).
TEST(Sources, FourFilesShareOneEngine) {
  const std::string dir = ptest::scratch_dir();
  std::vector<std::string> args = {ptest::config("four-files.yaml")};
  const char* clips[] = {"car-detection.mp4", "bottle-detection.mp4", "one-by-one-person-detection.mp4", "car-detection.mp4"};
  for (int i = 0; i < 4; ++i) {
    const std::string key = "sources." + std::to_string(i);
    args.insert(args.end(), {"--set", key + ".path=" + ptest::clip(clips[i]), "--set", key + ".max-frames=10", "--set",
                             key + ".outputs.0.path=" + dir + "/o" + std::to_string(i) + ".mp4"});
  }
  setenv("GST_DEBUG", "deeplab:4", 1);
  const ptest::ProcessResult r = ptest::deeplab_run(args, 240);
  unsetenv("GST_DEBUG");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_of(r.err, "batching engine for 'deeplabv3-mnv2-voc-513'"), 1) << r.err;
  EXPECT_NE(r.err.find("done: 40 frames in "), std::string::npos) << r.err;
  for (int i = 0; i < 4; ++i) {
    const std::string key = "sources." + std::to_string(i);
    EXPECT_EQ(ptest::summary_frames(r.err, key), 10) << r.err;
    EXPECT_EQ(ptest::summary_frames(r.err, key + ".outputs.0"), 10) << r.err;
    EXPECT_EQ(ptest::count_frames(dir + "/o" + std::to_string(i) + ".mp4"), 10) << i;
  }
}

// The camera configuration with live test sources of different lengths in place of the cameras: the
// run ends when the last one has ended, each display counts its own source's frames.
TEST(Sources, FourCamerasWithTestSources) {
  std::vector<std::string> args = {ptest::config("four-cameras.yaml")};
  for (int i = 0; i < 4; ++i)
    args.insert(args.end(), {"--set", "sources." + std::to_string(i) + "={type: test, is-live: true, pattern: ball, width: 160, "
                                      "height: 120, framerate: 10, num-buffers: " + std::to_string(5 + 3 * i) +
                                      ", outputs: [{type: display, sink: fakesink}]}"});
  const ptest::ProcessResult r = ptest::deeplab_run(args, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (int i = 0; i < 4; ++i) {
    const std::string key = "sources." + std::to_string(i);
    const std::int64_t frames = ptest::summary_frames(r.err, key);
    EXPECT_GT(frames, 0) << r.err;
    EXPECT_LE(frames, 5 + 3 * i) << r.err;
    EXPECT_EQ(ptest::summary_frames(r.err, key + ".outputs.0"), frames) << r.err;
  }
}
