#include "crf_properties.h"

#include <cstdio>
#include <cstdlib>

namespace deeplab_gst {

namespace {

using deeplab::CrfOptions;
using P = CrfProperty;

// The accessors as plain functions (the table holds function pointers): FIELD is an expression of o.
#define DEEPLAB_CRF_FIELD(FIELD, TYPE)                                                  \
  [](const CrfOptions& o) { return static_cast<double>(o.FIELD); },                     \
      [](CrfOptions& o, double v) { o.FIELD = static_cast<TYPE>(v); }

// A kernel parameter: what is set is also an override of the model's own crf: block (CrfOptions::
// model_params), and reads back as set; unset, it reads as DeepLab's default.
#define DEEPLAB_CRF_PARAM(FIELD, TYPE)                                                                          \
  [](const CrfOptions& o) { return static_cast<double>(o.overrides.FIELD ? *o.overrides.FIELD : o.params.FIELD); }, \
      [](CrfOptions& o, double v) { o.overrides.FIELD = o.params.FIELD = static_cast<TYPE>(v); }

const CrfProperty kProperties[] = {
    {"crf-iterations", "CRF iterations",
     "Mean-field iterations of a full CRF run: every frame with crf=full; with crf=temporal the first frame, "
     "keyframes, scene cuts and frames after a seek or caps change",
     P::kUint, 1, 1000, DEEPLAB_CRF_PARAM(iterations, int)},
    {"crf-temporal-iterations", "CRF temporal iterations",
     "crf=temporal: mean-field iterations of a frame started from the previous frame's result", P::kUint, 1, 1000,
     DEEPLAB_CRF_FIELD(temporal_iterations, int)},
    {"crf-keyframe-interval", "CRF keyframe interval",
     "crf=temporal: run full iterations every N frames (0: never, only on the first frame and scene cuts)", P::kUint,
     0, G_MAXINT, DEEPLAB_CRF_FIELD(keyframe_interval, int)},
    {"crf-scale", "CRF scale",
     "The CRF's working resolution as a fraction of the frame's (0.5: a quarter of the pixels, the result upsampled "
     "to the frame)",
     P::kDouble, 0.01, 1.0, DEEPLAB_CRF_FIELD(scale, float)},
    {"crf-max-pixels", "CRF max pixels",
     "The most pixels the CRF works on (0: no cap): a larger frame (after crf-scale) runs the CRF at the largest size "
     "of its shape within this, so a 4K or 8K camera runs it at 1080p",
     P::kInt64, 0, static_cast<double>(deeplab::kMaxCrfMaxPixels), DEEPLAB_CRF_FIELD(max_pixels, std::int64_t)},
    {"crf-bilateral-weight", "CRF bilateral weight",
     "Weight of the appearance kernel (position + colour): pixels alike in place and colour take the same class",
     P::kDouble, 0.0, 1000.0, DEEPLAB_CRF_PARAM(bilateral_weight, float)},
    {"crf-bilateral-xy-std", "CRF bilateral position std",
     "Position standard deviation of the appearance kernel, in frame pixels", P::kDouble, 0.01, 10000.0,
     DEEPLAB_CRF_PARAM(bilateral_xy_std, float)},
    {"crf-bilateral-rgb-std", "CRF bilateral colour std",
     "Colour standard deviation of the appearance kernel, in 0..255 units per channel", P::kDouble, 0.01, 1000.0,
     DEEPLAB_CRF_PARAM(bilateral_rgb_std, float)},
    {"crf-gaussian-weight", "CRF Gaussian weight",
     "Weight of the smoothness kernel (position only): removes small isolated regions", P::kDouble, 0.0, 1000.0,
     DEEPLAB_CRF_PARAM(gaussian_weight, float)},
    {"crf-gaussian-xy-std", "CRF Gaussian position std",
     "Position standard deviation of the smoothness kernel, in frame pixels", P::kDouble, 0.01, 10000.0,
     DEEPLAB_CRF_PARAM(gaussian_xy_std, float)},
    {"crf-unary-temperature", "CRF unary temperature",
     "The CRF's unary is T x -log(p): above 1 the network's probabilities weigh more and the kernels change fewer "
     "labels, below 1 less. Unset: the model's own (its manifest's crf: block) or 1",
     P::kDouble, 0.01, static_cast<double>(deeplab::kMaxCrfUnaryTemperature), DEEPLAB_CRF_PARAM(unary_temperature, float)},
    {"crf-scene-cut-threshold", "CRF scene-cut threshold",
     "crf=temporal: a frame whose mean absolute luma change from the previous frame (0..1 of full range, on a "
     "thumbnail) exceeds this is a scene cut and runs full iterations (0: every changed frame, 1: never)",
     P::kDouble, 0.0, 1.0, DEEPLAB_CRF_FIELD(scene_cut_threshold, float)},
};

#undef DEEPLAB_CRF_FIELD
#undef DEEPLAB_CRF_PARAM

constexpr std::size_t kCount = sizeof kProperties / sizeof kProperties[0];

// The engine's default as the pspec's: a float default shown by its shortest decimal (0.15, not
// 0.15000000596046448, in gst-inspect and the docs).
double default_of(const CrfProperty& p) {
  char text[32];
  std::snprintf(text, sizeof text, "%.7g", p.get(CrfOptions{}));
  return std::strtod(text, nullptr);
}

GParamSpec* param_spec(const CrfProperty& p, GParamFlags flags) {
  const double def = default_of(p);
  switch (p.type) {
    case P::kUint:
      return g_param_spec_uint(p.name, p.nick, p.blurb, static_cast<guint>(p.min), static_cast<guint>(p.max),
                               static_cast<guint>(def), flags);
    case P::kInt64:
      return g_param_spec_int64(p.name, p.nick, p.blurb, static_cast<gint64>(p.min), static_cast<gint64>(p.max),
                                static_cast<gint64>(def), flags);
    case P::kDouble: return g_param_spec_double(p.name, p.nick, p.blurb, p.min, p.max, def, flags);
  }
  return nullptr;
}

const CrfProperty* entry(guint first_id, guint prop_id) {
  return prop_id >= first_id && prop_id - first_id < kCount ? &kProperties[prop_id - first_id] : nullptr;
}

}  // namespace

const CrfProperty* crf_properties(std::size_t* count) {
  *count = kCount;
  return kProperties;
}

void install_crf_properties(GObjectClass* klass, guint first_id, GParamFlags flags) {
  for (std::size_t k = 0; k < kCount; ++k)
    g_object_class_install_property(klass, first_id + static_cast<guint>(k), param_spec(kProperties[k], flags));
}

bool set_crf_property(deeplab::CrfOptions& crf, guint first_id, guint prop_id, const GValue* value) {
  const CrfProperty* p = entry(first_id, prop_id);
  if (!p) return false;
  switch (p->type) {
    case P::kUint: p->set(crf, g_value_get_uint(value)); break;
    case P::kInt64: p->set(crf, static_cast<double>(g_value_get_int64(value))); break;
    case P::kDouble: p->set(crf, g_value_get_double(value)); break;
  }
  return true;
}

bool get_crf_property(const deeplab::CrfOptions& crf, guint first_id, guint prop_id, GValue* value) {
  const CrfProperty* p = entry(first_id, prop_id);
  if (!p) return false;
  const double v = p->get(crf);
  switch (p->type) {
    case P::kUint: g_value_set_uint(value, static_cast<guint>(v)); break;
    case P::kInt64: g_value_set_int64(value, static_cast<gint64>(v)); break;
    case P::kDouble: g_value_set_double(value, v); break;
  }
  return true;
}

}  // namespace deeplab_gst
