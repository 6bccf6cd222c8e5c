// deeplab-run-network: runs an ONNX model on a .npy input with the CPU engine and writes the output
// .npy (and optionally compares it with a reference). Used by the parity tests.
//
//   deeplab-run-network --model M.onnx --input in.npy [--output out.npy] [--reference ref.npy]
//                       [--keep-final-resize] [--threads N] [--min-agreement 0.999] [--rel-tol 1e-3]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

#include "cli_args.h"
#include "deeplab/error.h"
#include "deeplab/segmenter.h"
#include "network_loader.h"
#include "npy.h"
#include "postprocess/interpolate.h"

using namespace deeplab;

namespace {

// Argmax agreement over the class axis (1 for rank-4 NCHW, last axis for NHWC when nhwc is set).
double argmax_agreement(const tools::NpyArray& a, const tools::NpyArray& b, bool nhwc) {
  const auto& s = a.shape;
  const std::int64_t classes = nhwc ? s[3] : s[1];
  const std::int64_t pixels = a.data.size() / classes;
  std::int64_t same = 0;
  for (std::int64_t p = 0; p < pixels; ++p) {
    int best_a = 0, best_b = 0;
    for (std::int64_t c = 1; c < classes; ++c) {
      const std::int64_t i = nhwc ? p * classes + c : c * pixels + p;
      const std::int64_t i_a = nhwc ? p * classes + best_a : best_a * pixels + p;
      const std::int64_t i_b = nhwc ? p * classes + best_b : best_b * pixels + p;
      if (a.data[i] > a.data[i_a]) best_a = static_cast<int>(c);
      if (b.data[i] > b.data[i_b]) best_b = static_cast<int>(c);
    }
    same += best_a == best_b;
  }
  return static_cast<double>(same) / static_cast<double>(pixels);
}

// The removed final Resize replaced by upsample+argmax straight to the reference's size: the class
// map must agree with the reference's own argmax.
int check_native_resolution(CpuNetwork& net, const FinalResizeInfo& resize, const tools::NpyArray& ref, bool nhwc,
                            double min_agreement) {
  const Value& logits = net.graph().values[net.output_value()];
  const int c_axis = nhwc ? 3 : 1, h_axis = nhwc ? 1 : 2, w_axis = nhwc ? 2 : 3;
  const auto strides = net.strides(net.output_value());
  if (strides[c_axis] != 1) {
    std::fprintf(stderr, "FAIL: logits are not channels-innermost\n");
    return 1;
  }
  const int out_h = static_cast<int>(ref.shape[h_axis]), out_w = static_cast<int>(ref.shape[w_axis]);
  const auto geo = make_resample_geometry(static_cast<int>(logits.shape[h_axis]), static_cast<int>(logits.shape[w_axis]),
                                          static_cast<int>(logits.shape[c_axis]), out_h, out_w, resize.attrs.scale_h,
                                          resize.attrs.scale_w, resize.attrs);
  std::vector<float> scratch(resample_scratch_floats(geo, 256));
  std::vector<std::uint8_t> classes(static_cast<std::size_t>(out_h) * out_w);
  upsample_argmax(geo, net.data(net.output_value()), classes.data(), scratch.data());
  const std::int64_t num_classes = ref.shape[c_axis], pixels = static_cast<std::int64_t>(classes.size());
  std::int64_t same = 0;
  for (std::int64_t p = 0; p < pixels; ++p) {
    int best = 0;
    for (std::int64_t c = 1; c < num_classes; ++c) {
      const float v = nhwc ? ref.data[p * num_classes + c] : ref.data[c * pixels + p];
      const float b = nhwc ? ref.data[p * num_classes + best] : ref.data[best * pixels + p];
      if (v > b) best = static_cast<int>(c);
    }
    same += classes[p] == best;
  }
  const double agreement = static_cast<double>(same) / static_cast<double>(pixels);
  const bool ok = agreement >= min_agreement;
  std::printf("%s: native-resolution class map (logits %s upsampled by %s) agrees with the reference argmax on "
              "%.5f%% of %lld pixels (min %.3f%%)\n",
              ok ? "PASS" : "FAIL", shape_string(logits.shape).c_str(), resize.attrs.describe().c_str(), 100 * agreement,
              static_cast<long long>(pixels), 100 * min_agreement);
  return ok ? 0 : 1;
}


int run_network(int argc, char** argv) {
  tools::Args args(argc, argv, "deeplab-run-network --model M.onnx --input in.npy [--output out.npy] [--reference ref.npy] "
                               "[--keep-final-resize] [--threads N] [--min-agreement F] [--rel-tol F] [--nhwc]");
  const std::string model = args.required("--model");
  const tools::NpyArray input = tools::read_npy(args.required("--input"));
  LoadOptions options;
  options.input_shape = input.shape;
  options.remove_final_resize = !args.flag("--keep-final-resize");
  options.threads = args.integer("--threads", 0, 0, kMaxThreads);
  options.profile = tools::environment_flag("DEEPLAB_PROFILE", false);
  const std::string output_path = args.value("--output", "");
  const std::string reference_path = args.value("--reference", "");
  const double min_agreement = args.real("--min-agreement", 0.999, 0, 1);
  double rel_tol = args.real("--rel-tol", 1e-3, 0, 1e6);
  // A float64 reference records how far PyTorch's own fp32 run is from it: no fp32 runtime can be
  // held to less than that (deep random-weight nets such as ResNet-101 reach ~2e-3).
  const std::string reference_json = args.value("--reference-json", "");
  double torch_fp32_error = -1;
  if (!reference_json.empty()) {
    std::ifstream json(reference_json);
    const std::string text((std::istreambuf_iterator<char>(json)), std::istreambuf_iterator<char>());
    std::smatch m;
    if (std::regex_search(text, m, std::regex("\"torch_fp32_relative_error\":\\s*([0-9.eE+-]+)"))) {
      torch_fp32_error = std::stod(m[1]);
      rel_tol = std::max(rel_tol, 1.5 * torch_fp32_error);
    }
  }
  const bool nhwc = args.flag("--nhwc");
  args.finish();
  LoadedNetwork loaded = load_cpu_network(model, options);
  CpuNetwork& net = *loaded.network;
  net.set_input_logical(input.data.data());
  net.run();
  tools::NpyArray output;
  output.shape = net.graph().values[net.output_value()].shape;
  net.output_logical(net.output_value(), output.data);
  std::printf("model %s: %d nodes imported, %zu after passes, arena %.1f MiB, final resize %s, output %s\n",
              model.c_str(), loaded.imported_nodes, net.graph().nodes.size(), net.arena_bytes() / 1048576.0,
              loaded.final_resize.removed ? loaded.final_resize.attrs.describe().c_str() : "kept",
              shape_string(output.shape).c_str());
  if (!output_path.empty()) tools::write_npy(output_path, output);
  if (reference_path.empty()) return 0;
  const tools::NpyArray ref = tools::read_npy(reference_path);
  if (loaded.final_resize.removed && ref.shape.size() == 4 && ref.shape != output.shape)
    return check_native_resolution(net, loaded.final_resize, ref, nhwc, min_agreement);
  if (ref.shape != output.shape) {
    std::fprintf(stderr, "FAIL: output shape %s differs from the reference %s\n", shape_string(output.shape).c_str(),
                 shape_string(ref.shape).c_str());
    return 1;
  }
  double max_err = 0, max_ref = 0;
  for (std::size_t k = 0; k < ref.data.size(); ++k) {
    max_err = std::max(max_err, static_cast<double>(std::fabs(ref.data[k] - output.data[k])));
    max_ref = std::max(max_ref, static_cast<double>(std::fabs(ref.data[k])));
  }
  const double agreement = argmax_agreement(output, ref, nhwc);
  const bool ok = agreement >= min_agreement && max_err <= rel_tol * max_ref;
  std::printf("%s: argmax agreement %.5f%% (min %.3f%%), max |err| %.3g = %.3g x max |logit| %.3g (tol %.3g)\n",
              ok ? "PASS" : "FAIL", 100 * agreement, 100 * min_agreement, max_err, max_ref > 0 ? max_err / max_ref : 0.0,
              max_ref, rel_tol);
  if (torch_fp32_error >= 0)
    std::printf("      (reference in float64; PyTorch's own fp32 output is %.3g x max |logit| from it)\n", torch_fp32_error);
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return tools::run_tool("deeplab-run-network", [&] { return run_network(argc, argv); });
}
