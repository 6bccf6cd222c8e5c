// The smallest useful program on the engine's public API: segment one image, print the classes.
// Built as part of the project (target deeplab-example-segment-image), so it stays correct.
//   deeplab-example-segment-image deeplabv3-mnv2-voc photo.jpg
#include <deeplab/segmenter.h>

#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL IMAGE\n", argv[0]);
    return 2;
  }
  try {
    const deeplab::ModelManifest model = deeplab::resolve_model(argv[1]);  // name, .yaml or .onnx
    deeplab::SegmenterOptions options;  // device auto (CPU here), fp32, the model's input size
    deeplab::Segmenter segmenter(model, options);

    cv::Mat bgr = cv::imread(argv[2], cv::IMREAD_COLOR);
    if (bgr.empty()) throw deeplab::Error(deeplab::ErrorCode::kIo, std::string(argv[2]) + ": cannot read");
    const auto frame = deeplab::FrameView::packed(deeplab::PixelFormat::kBGR, bgr.data, bgr.cols, bgr.rows,
                                                  static_cast<int>(bgr.step));
    const deeplab::Segmentation& result = segmenter.segment(frame);  // class map at the image's size

    std::vector<long> pixels(result.num_classes, 0);
    for (std::uint8_t c : result.class_map) ++pixels[c];
    for (int c = 0; c < result.num_classes; ++c)
      if (pixels[c]) std::printf("%-12s %ld pixels\n", model.classes.at(c).c_str(), pixels[c]);
    std::printf("%.1f ms\n", segmenter.last_times().total_ms);
    return 0;
  } catch (const deeplab::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
