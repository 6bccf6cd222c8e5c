// Model manifests: models/<name>.yaml describes an ONNX file (where to get it, its checksum, its
// licence) and how frames must be prepared for it (size, layout, colour order, normalisation),
// plus the class names and the palette used for overlays.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "deeplab/crf.h"

namespace deeplab {

enum class TensorLayout { kNCHW, kNHWC };
enum class ColorOrder { kRGB, kBGR };

struct InputSpec {
  std::string name;        // ONNX input name; empty = the model's only input
  int width = 0;           // default network input size (can be overridden per Segmenter)
  int height = 0;
  TensorLayout layout = TensorLayout::kNCHW;
  ColorOrder color = ColorOrder::kRGB;
  // value = (pixel * scale - mean[c]) / std[c], pixel in 0..255
  float scale = 1.0f / 255.0f;
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};
  std::array<float, 3> std = {0.229f, 0.224f, 0.225f};
};

struct ModelManifest {
  std::string name;
  std::string description;
  std::string file;     // ONNX file name, resolved against the model cache, then the manifest's dir
  std::string url;      // public download URL of the ONNX file (may be empty for local exports)
  std::string sha256;   // of the ONNX file; empty = not checked
  std::string licence;
  std::string source;
  InputSpec input;
  std::string output;   // ONNX output name; empty = the model's first output
  // How logits are upsampled to the frame once the model's final Resize is removed: empty = as that
  // Resize did; or "align_corners", "half_pixel", "pytorch_half_pixel", "asymmetric" to correct a
  // conversion that lost the original's mode (tf2onnx's opset-9 Upsample cannot express TF's
  // align_corners=True, which DeepLab's TF models were trained with).
  std::string logits_upsampling;
  std::vector<std::string> classes;
  std::vector<std::array<std::uint8_t, 3>> palette;  // RGB per class
  // The model's own CRF parameters (`crf:` block; docs/crf.md): over DeepLab's defaults, under a
  // parameter file and the user's options (CrfOptions::model_params). Empty = DeepLab's.
  CrfParamOverrides crf;
  std::string manifest_path;  // where it was loaded from (empty for defaults)
};

// Parses a manifest file; throws deeplab::Error naming the file and the bad key.
ModelManifest load_manifest(const std::string& path);

// The manifest used for a bare .onnx file: input size from the model, ImageNet normalisation,
// NCHW RGB, generic class names and the PASCAL VOC palette.
ModelManifest default_manifest_for(const std::string& onnx_path);

// The manifest used for a bare .tflite file: input size, NHWC layout and normalisation from the
// model's input tensor (a quantized uint8/int8 input's scale and zero point; a float input is assumed
// to take [-1, 1]), RGB, classes named "0".."C-1" and the PASCAL VOC palette. Throws like the importer.
ModelManifest default_manifest_for_tflite(const std::string& tflite_path);

// The PASCAL VOC colour map (the standard bit-interleaved palette), n entries.
std::vector<std::array<std::uint8_t, 3>> voc_palette(int n);

// Where resolve_model() looks before the source tree's models/. The engine reads no environment:
// the tools and the element fill this from $DEEPLAB_MODEL_DIR and $DEEPLAB_MODEL_CACHE (docs/models.md).
struct ModelSearch {
  std::string manifest_dir;  // <manifest_dir>/<name>.yaml first; empty: none
  std::string cache_dir;     // model files looked up here first; empty: none
};

// Resolves NAME or PATH to a manifest:
//  - an existing .yaml/.yml file: loaded;
//  - an existing .onnx file: a sibling <stem>.yaml if there is one, else a manifest in the model
//    directories naming that file, else default_manifest_for;
//  - an existing .tflite file: likewise, else default_manifest_for_tflite;
//  - otherwise a model name: <dir>/<name>.yaml for dir in search.manifest_dir, then the source
//    tree's models/ directory.
// The returned manifest's `file` is made absolute (found in search.cache_dir, <models>/cache, or
// beside the manifest); throws kNotFound with a hint to run scripts/fetch-models.sh.
ModelManifest resolve_model(const std::string& name_or_path, const ModelSearch& search = {});

// sha256 of a file as lower-case hex; throws kIo.
std::string sha256_file(const std::string& path);

}  // namespace deeplab
