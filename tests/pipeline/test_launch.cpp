// Config -> gst-launch arguments, and the shell quoting of --print-launch.
#include <gtest/gtest.h>

#include "config.h"
#include "launch.h"
#include "pipeline_test_support.h"

using deeplab::pipeline::launch_args;
using deeplab::pipeline::load_config;

namespace {

std::string joined(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  std::string text;
  for (const auto& a : launch_args(load_config(yaml, "t", overrides))) text += (text.empty() ? "" : " ") + a;
  return text;
}

}  // namespace

TEST(Launch, FileSourceToEveryOutputType) {
  const std::string text = joined(R"(source: {type: file, path: in.mp4}
outputs:
  - {type: display, sink: fakesink}
  - {type: file, path: o.mkv, show: mask, resolution: model}
  - {type: masks, path: m/%05d.png}
  - {type: appsink, name: robot, format: BGR}
  - {type: shm, socket-path: /tmp/s}
  - {type: udp, port: 5004, encoder: {tune: fastdecode}}
)");
  EXPECT_EQ(text,
            "filesrc name=src location=in.mp4 ! decodebin name=decode ! videoconvert name=srcconv ! deeplabseg name=seg ! "
            "tee name=t "
            "t. ! queue name=out0_q ! deeplaboverlay name=out0_overlay ! videoconvert name=out0_conv ! fakesink "
            "name=out0_sink sync=true "
            "t. ! queue name=out1_q ! deeplabmask name=out1_mask mode=color resolution=model ! videoconvert name=out1_conv "
            "! video/x-raw,format=I420 ! x264enc name=out1_enc ! matroskamux name=out1_mux ! filesink name=out1_sink "
            "location=o.mkv sync=false async=false "
            "t. ! queue name=out2_q ! deeplabmask name=out2_mask mode=ids resolution=frame ! pngenc name=out2_enc ! "
            "multifilesink name=out2_sink location=m/%05d.png sync=false "
            "t. ! queue name=out3_q ! videoconvert name=out3_conv ! video/x-raw,format=BGR ! appsink name=out3_sink "
            "max-buffers=2 drop=true sync=false emit-signals=false wait-on-eos=false "
            "t. ! queue name=out4_q ! deeplabmask name=out4_mask mode=ids resolution=frame ! shmsink name=out4_sink "
            "socket-path=/tmp/s shm-size=67108864 wait-for-connection=false sync=false "
            "t. ! queue name=out5_q ! deeplaboverlay name=out5_overlay ! videoconvert name=out5_conv ! "
            "video/x-raw,format=I420 ! x264enc name=out5_enc tune=fastdecode key-int-max=30 ! rtph264pay name=out5_pay "
            "config-interval=1 pt=96 ! udpsink name=out5_sink host=127.0.0.1 port=5004 sync=true async=false");
}

TEST(Launch, LiveSourcesKeepOnlyTheNewestFrame) {
  // A live source ends in a queue that holds one frame and drops the older ones.
  const std::string leaky_tail =
      "videoconvert name=srcconv ! queue name=srcq max-size-buffers=1 max-size-bytes=0 max-size-time=0 "
      "leaky=downstream";
  const auto source_part = [](const std::string& text) { return text.substr(0, text.find(" ! deeplabseg")); };
  const std::string camera = joined("source: {type: camera, device: /dev/video2, width: 640, height: 480, framerate: 30, "
                                    "format: MJPG}\noutputs: [{type: file, path: o.mp4}]\n");
  EXPECT_EQ(source_part(camera), "v4l2src name=src device=/dev/video2 ! image/jpeg,width=640,height=480,framerate=30/1 ! "
                                 "jpegdec name=srcdec ! " + leaky_tail);
  // A live source's encoder must not hold seconds of frames back (the branch queue would fill up).
  EXPECT_NE(camera.find("x264enc name=out0_enc tune=zerolatency !"), std::string::npos) << camera;
  const std::string test = joined("source: {type: test, is-live: true, width: 320, height: 240, num-buffers: 9}\n"
                                  "outputs: [{type: display}]\n");
  EXPECT_EQ(source_part(test), "videotestsrc name=src pattern=smpte num-buffers=9 is-live=true ! "
                               "video/x-raw,width=320,height=240 ! " + leaky_tail);
  const std::string file = joined("source: {type: file, path: a.mp4, max-frames: 5}\noutputs: [{type: display}]\n");
  EXPECT_EQ(file.find("srcq"), std::string::npos);
  EXPECT_EQ(file.find("max-frames"), std::string::npos);  // applied by the runner, not by an element
}

// What --print-launch prints goes through a shell back to exactly the arguments deeplab-run uses.
TEST(Launch, ShellQuotingRoundTrips) {
  const std::vector<std::string> args = {"filesrc", "location=a b.mp4", "location=it's.mp4", "location=$HOME/`x`.mp4",
                                         "!",       "caps=video/x-raw,format=(string)I420", "location=ä;b&c|d*.mp4",
                                         "t.",      "location=~/x.mp4", "a!b"};
  std::string command = "printf '%s\\n'";
  for (const auto& a : args) command += " " + deeplab::pipeline::shell_quote(a);
  const ptest::ProcessResult r = ptest::run_process({"/bin/sh", "-c", command}, 30);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string expected;
  for (const auto& a : args) expected += a + "\n";
  EXPECT_EQ(r.out, expected);
  EXPECT_EQ(deeplab::pipeline::shell_quote("location=/tmp/o.mp4"), "location=/tmp/o.mp4");
  EXPECT_EQ(deeplab::pipeline::launch_line({"videotestsrc", "!", "fakesink"}), "gst-launch-1.0 -e videotestsrc ! fakesink");
}
