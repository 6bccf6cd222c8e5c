// deeplabseg: a passthrough GstVideoFilter that segments every frame with deeplab::Segmenter and
// attaches a GstDeeplabSegMeta (class map at the frame's resolution, class names and palette,
// optionally per-class probabilities at the network's input resolution).
//
// Lifecycle: start() loads the model, unless the Segmenter already loaded by an earlier start() was
// built from the same model/device/precision/input-size/aspect/threads; stop() keeps it, so state cycling
// (PLAYING -> NULL -> PLAYING) never reloads; finalize() releases it. set_info() sizes the buffer
// pools for the negotiated frame size; transform_frame_ip() runs the model.
//
// Dense CRF (property `crf`, docs/crf.md): the crf-* properties can change in any state; the next
// frame applies them with Segmenter::set_crf_options(), without a reload. The temporal CRF's state
// (the previous frame's marginals) is dropped at FLUSH_STOP (seeks), at a new segment or stream, at a
// caps change and at stop(): the next frame runs full iterations.
#include "gstdeeplabseg.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "crf_properties.h"
#include "deeplab/segmenter.h"
#include "deeplabcommon.h"
#include "gst/deeplab/deeplabmeta.h"
#include "seg_engine.h"

GST_DEBUG_CATEGORY_STATIC(gst_deeplab_seg_debug);
#define GST_CAT_DEFAULT gst_deeplab_seg_debug

typedef enum { GST_DEEPLAB_DEVICE_AUTO, GST_DEEPLAB_DEVICE_CPU, GST_DEEPLAB_DEVICE_CUDA } GstDeeplabDevice;
typedef enum { GST_DEEPLAB_PRECISION_FP32, GST_DEEPLAB_PRECISION_FP16 } GstDeeplabPrecision;
typedef enum { GST_DEEPLAB_ASPECT_STRETCH, GST_DEEPLAB_ASPECT_KEEP } GstDeeplabAspect;
typedef enum { GST_DEEPLAB_CRF_OFF, GST_DEEPLAB_CRF_FULL, GST_DEEPLAB_CRF_TEMPORAL } GstDeeplabCrfMode;

enum {
  PROP_0,
  PROP_MODEL,
  PROP_DEVICE,
  PROP_PRECISION,
  PROP_INPUT_SIZE,
  PROP_ASPECT,
  PROP_THREADS,
  PROP_CLASSES,
  PROP_EMIT_PROBABILITIES,
  PROP_LATENCY,
  PROP_MODEL_INSTANCE_ID,
  PROP_BATCH_SIZE,
  PROP_BATCH_TIMEOUT,
  PROP_CRF,
  PROP_CRF_PARAMS,
  PROP_CRF_NUMERIC,  // the first of crf_properties.h's table; the others follow it
};

#define DEFAULT_PROP_MODEL "deeplabv3-mnv2-voc-513"
#define DEFAULT_PROP_DEVICE GST_DEEPLAB_DEVICE_AUTO
#define DEFAULT_PROP_PRECISION GST_DEEPLAB_PRECISION_FP32
#define DEFAULT_PROP_INPUT_SIZE ""
#define DEFAULT_PROP_ASPECT GST_DEEPLAB_ASPECT_STRETCH
#define DEFAULT_PROP_THREADS 0
#define DEFAULT_PROP_CLASSES ""
#define DEFAULT_PROP_EMIT_PROBABILITIES FALSE
#define DEFAULT_PROP_LATENCY 0
#define DEFAULT_PROP_MODEL_INSTANCE_ID ""
#define DEFAULT_PROP_BATCH_SIZE 1
#define DEFAULT_PROP_BATCH_TIMEOUT 10
// The CRF's defaults are the engine's (DeepLab's released parameters): deeplab::CrfOptions; the
// numeric ones come from there (crf_properties.h).
#define DEFAULT_PROP_CRF GST_DEEPLAB_CRF_OFF

namespace {

using Clock = std::chrono::steady_clock;

// True for a set variable other than "0" (DEEPLAB_PROFILE=1, DEEPLAB_CUDA_GRAPH=0).
bool env_flag(const char* name, bool fallback) {
  const gchar* v = g_getenv(name);
  if (!v || !*v) return fallback;
  return *v != '0';
}

// $DEEPLAB_MODEL_DIR and $DEEPLAB_MODEL_CACHE for resolve_model() (the engine reads no environment).
deeplab::ModelSearch model_search_from_env() {
  deeplab::ModelSearch search;
  if (const gchar* dir = g_getenv("DEEPLAB_MODEL_DIR")) search.manifest_dir = dir;
  if (const gchar* cache = g_getenv("DEEPLAB_MODEL_CACHE")) search.cache_dir = cache;
  return search;
}

// What a loaded Segmenter depends on: a change makes the next start() reload.
struct LoadSettings {
  std::string model = DEFAULT_PROP_MODEL;
  GstDeeplabDevice device = DEFAULT_PROP_DEVICE;
  GstDeeplabPrecision precision = DEFAULT_PROP_PRECISION;
  std::string input_size = DEFAULT_PROP_INPUT_SIZE;
  GstDeeplabAspect aspect = DEFAULT_PROP_ASPECT;
  guint threads = DEFAULT_PROP_THREADS;
  // Sharing (deeplab/batching.h): empty = an engine of the element's own, as before.
  std::string model_instance_id = DEFAULT_PROP_MODEL_INSTANCE_ID;
  guint batch_size = DEFAULT_PROP_BATCH_SIZE;
  guint batch_timeout = DEFAULT_PROP_BATCH_TIMEOUT;  // ms

  bool operator==(const LoadSettings& o) const {
    return model == o.model && device == o.device && precision == o.precision && input_size == o.input_size &&
           aspect == o.aspect && threads == o.threads && model_instance_id == o.model_instance_id &&
           batch_size == o.batch_size && batch_timeout == o.batch_timeout;
  }
};

// The processing times of the last frames, for the LATENCY query.
class LatencyWindow {
 public:
  void push(GstClockTime t) {
    times_[next_++ % times_.size()] = t;
    count_ = std::min<std::size_t>(count_ + 1, times_.size());
  }
  GstClockTime max() const {
    GstClockTime m = 0;
    for (std::size_t k = 0; k < count_; ++k) m = std::max(m, times_[k]);
    return m;
  }

 private:
  std::array<GstClockTime, 32> times_{};
  std::size_t next_ = 0, count_ = 0;
};

// A pool of plain memory blocks of one size: the class maps (and probabilities) of the frames in
// flight come from here and return here when the buffer carrying the meta is freed.
GstBufferPool* make_block_pool(gsize size) {
  GstBufferPool* pool = gst_buffer_pool_new();
  GstStructure* config = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_set_params(config, nullptr, static_cast<guint>(size), 2, 0);
  if (!gst_buffer_pool_set_config(pool, config) || !gst_buffer_pool_set_active(pool, TRUE)) {
    gst_object_unref(pool);
    return nullptr;
  }
  return pool;
}

void drop_pool(GstBufferPool** pool) {
  if (!*pool) return;
  gst_buffer_pool_set_active(*pool, FALSE);  // buffers still out are freed when they come back
  gst_object_unref(*pool);
  *pool = nullptr;
}

// "WxH" -> width, height; "" -> 0, 0 (the model's own size).
void parse_input_size(const std::string& text, int* width, int* height) {
  *width = *height = 0;
  if (text.empty()) return;
  unsigned w = 0, h = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%ux%u%c", &w, &h, &tail) != 2 || w == 0 || h == 0 || w > 16384 || h > 16384)
    throw deeplab::Error(deeplab::ErrorCode::kInvalidArgument,
                         "input-size '" + text + "' is not WIDTHxHEIGHT (e.g. 513x513) within 1..16384");
  *width = static_cast<int>(w);
  *height = static_cast<int>(h);
}

deeplab::Device engine_device(GstDeeplabDevice device) {
  switch (device) {
    case GST_DEEPLAB_DEVICE_CPU: return deeplab::Device::kCpu;
    case GST_DEEPLAB_DEVICE_CUDA: return deeplab::Device::kCuda;
    default: return deeplab::Device::kAuto;
  }
}

deeplab::CrfMode engine_crf_mode(GstDeeplabCrfMode mode) {
  switch (mode) {
    case GST_DEEPLAB_CRF_FULL: return deeplab::CrfMode::kFull;
    case GST_DEEPLAB_CRF_TEMPORAL: return deeplab::CrfMode::kTemporal;
    default: return deeplab::CrfMode::kOff;
  }
}

GstDeeplabCrfMode gst_crf_mode(deeplab::CrfMode mode) {
  switch (mode) {
    case deeplab::CrfMode::kFull: return GST_DEEPLAB_CRF_FULL;
    case deeplab::CrfMode::kTemporal: return GST_DEEPLAB_CRF_TEMPORAL;
    default: return GST_DEEPLAB_CRF_OFF;
  }
}

// The properties' defaults are the engine's: a change there must show in gst-inspect too (the
// engine's side is checked in class_init: CrfOptions holds a string, so it is not a literal type).
static_assert(DEFAULT_PROP_CRF == GST_DEEPLAB_CRF_OFF);

deeplab::PixelFormat pixel_format_of(GstVideoFormat format) {
  return deeplab::pixel_format_from_string(gst_video_format_to_string(format));
}

deeplab::FrameView frame_view(const GstVideoFrame* frame, deeplab::PixelFormat format) {
  const int w = GST_VIDEO_FRAME_WIDTH(frame), h = GST_VIDEO_FRAME_HEIGHT(frame);
  auto plane = [frame](int p) { return static_cast<const std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(frame, p)); };
  auto stride = [frame](int p) { return GST_VIDEO_FRAME_PLANE_STRIDE(frame, p); };
  switch (format) {
    case deeplab::PixelFormat::kNV12: return deeplab::FrameView::nv12(plane(0), stride(0), plane(1), stride(1), w, h);
    case deeplab::PixelFormat::kI420:
      return deeplab::FrameView::i420(plane(0), stride(0), plane(1), stride(1), plane(2), stride(2), w, h);
    default: return deeplab::FrameView::packed(format, plane(0), w, h, stride(0));
  }
}

}  // namespace

struct GstDeeplabSegPrivate {
  // Properties and what the streaming thread reports to other threads: GST_OBJECT_LOCK.
  LoadSettings settings;
  std::string classes = DEFAULT_PROP_CLASSES;
  guint classes_generation = 1;  // bumped by every set of `classes`
  bool emit_probabilities = DEFAULT_PROP_EMIT_PROBABILITIES;
  GstClockTime latency_property = DEFAULT_PROP_LATENCY;
  LatencyWindow latency;
  GstClockTime warmup_time = 0;
  GstClockTime reported_latency = GST_CLOCK_TIME_NONE;  // what the last LATENCY query answered
  deeplab::CrfOptions crf;       // the crf* properties
  guint crf_generation = 1;      // bumped by every set of a crf* property

  // The model and the per-stream state: start/stop/set_info and the streaming thread, which the
  // base class serialises; no lock is held while the model runs.
  std::unique_ptr<deeplab_gst::SegEngine> segmenter;
  LoadSettings loaded;
  GstDeeplabClassInfo* class_info = nullptr;
  std::array<guint8, 256> lut{};  // class id -> reported id (0 for classes not kept)
  bool lut_identity = true;
  guint lut_generation = 0;
  deeplab::PixelFormat format = deeplab::PixelFormat::kRGB;
  GstBufferPool* map_pool = nullptr;
  guint map_stride = 0;
  GstBufferPool* prob_pool = nullptr;
  gsize prob_size = 0;
  guint crf_applied = 0;  // the crf_generation the Segmenter runs with
  // Set by events (possibly from another thread: FLUSH_STOP comes from the seeking one), acted on
  // by the streaming thread before the next frame: the temporal CRF starts afresh.
  std::atomic<bool> crf_reset_pending{false};

  ~GstDeeplabSegPrivate() {
    drop_pool(&map_pool);
    drop_pool(&prob_pool);
    if (class_info) gst_deeplab_class_info_unref(class_info);
  }
};

DEEPLAB_DEFINE_ELEMENT(GstDeeplabSeg, gst_deeplab_seg, deeplabseg, GST_TYPE_DEEPLAB_SEG, gst_deeplab_seg_debug,
                       "DeepLab segmentation element")

static const GEnumValue kDeviceValues[] = {
    {GST_DEEPLAB_DEVICE_AUTO, "CUDA when a GPU and the CUDA backend are available, else the CPU", "auto"},
    {GST_DEEPLAB_DEVICE_CPU, "CPU (oneDNN)", "cpu"},
    {GST_DEEPLAB_DEVICE_CUDA, "CUDA GPU (an error when there is none)", "cuda"},
    {0, nullptr, nullptr}};

DEEPLAB_DEFINE_ENUM_TYPE(gst_deeplab_device_get_type, "GstDeeplabDevice", kDeviceValues)

static const GEnumValue kPrecisionValues[] = {
    {GST_DEEPLAB_PRECISION_FP32, "32-bit float", "fp32"},
    {GST_DEEPLAB_PRECISION_FP16, "16-bit float (CUDA only; the CPU runs fp32)", "fp16"},
    {0, nullptr, nullptr}};

DEEPLAB_DEFINE_ENUM_TYPE(gst_deeplab_precision_get_type, "GstDeeplabPrecision", kPrecisionValues)

static const GEnumValue kAspectValues[] = {
    {GST_DEEPLAB_ASPECT_STRETCH, "The frame is resized to the network input size whatever its aspect", "stretch"},
    {GST_DEEPLAB_ASPECT_KEEP,
     "The network input follows the frame's aspect: the input size's long side kept, the other one from the frame "
     "(513x385 for 4:3); models tied to their own input size are refused at the first such frame",
     "keep"},
    {0, nullptr, nullptr}};

DEEPLAB_DEFINE_ENUM_TYPE(gst_deeplab_aspect_get_type, "GstDeeplabAspect", kAspectValues)

static const GEnumValue kCrfModeValues[] = {
    {GST_DEEPLAB_CRF_OFF, "No CRF: the class map is the network's argmax", "off"},
    {GST_DEEPLAB_CRF_FULL, "Dense CRF on every frame, crf-iterations mean-field passes", "full"},
    {GST_DEEPLAB_CRF_TEMPORAL,
     "Dense CRF started from the previous frame's result, crf-temporal-iterations passes (full iterations on "
     "the first frame, keyframes, scene cuts and after seeks or caps changes)",
     "temporal"},
    {0, nullptr, nullptr}};

DEEPLAB_DEFINE_ENUM_TYPE(gst_deeplab_crf_mode_get_type, "GstDeeplabCrfMode", kCrfModeValues)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_DEEPLAB_VIDEO_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(GST_DEEPLAB_VIDEO_FORMATS)));

// ---- model ---------------------------------------------------------------------------------------

// The element's own Segmenter, or its stream of the engine shared under model-instance-id.
static std::unique_ptr<deeplab_gst::SegEngine> gst_deeplab_seg_make_engine(const LoadSettings& want,
                                                                          const deeplab::ModelManifest& manifest,
                                                                          const deeplab::SegmenterOptions& options) {
  if (want.model_instance_id.empty()) return std::make_unique<deeplab_gst::SegEngine>(manifest, options);
  deeplab::BatchOptions batch;
  batch.batch_size = static_cast<int>(want.batch_size);
  batch.timeout_ms = static_cast<int>(want.batch_timeout);
  return std::make_unique<deeplab_gst::SegEngine>(want.model_instance_id, manifest, options, batch);
}

static void gst_deeplab_seg_load(GstDeeplabSeg* self, const LoadSettings& want, const deeplab::CrfOptions& crf,
                                 guint crf_generation) {
  GstDeeplabSegPrivate& p = *self->priv;
  p.segmenter.reset();
  if (p.class_info) gst_deeplab_class_info_unref(p.class_info);
  p.class_info = nullptr;

  deeplab::SegmenterOptions options;
  options.device = engine_device(want.device);
  options.precision = want.precision == GST_DEEPLAB_PRECISION_FP16 ? deeplab::Precision::kFp16 : deeplab::Precision::kFp32;
  parse_input_size(want.input_size, &options.input_width, &options.input_height);
  options.aspect = want.aspect == GST_DEEPLAB_ASPECT_KEEP ? deeplab::Aspect::kKeep : deeplab::Aspect::kStretch;
  options.threads = static_cast<int>(want.threads);
  options.crf = crf;
  // The engine reads no environment: the documented diagnostics switches are read here.
  options.profile = env_flag("DEEPLAB_PROFILE", false);
  options.cuda_graph = env_flag("DEEPLAB_CUDA_GRAPH", true);

  GST_INFO_OBJECT(self, "loading model '%s' (device %s, input-size '%s', threads %u, crf %s)", want.model.c_str(),
                  deeplab::device_name(options.device), want.input_size.c_str(), want.threads,
                  deeplab::crf_mode_name(crf.mode));
  const auto t0 = Clock::now();
  const deeplab::ModelManifest manifest = deeplab::resolve_model(want.model, model_search_from_env());
  auto segmenter = gst_deeplab_seg_make_engine(want, manifest, options);
  const deeplab::NetworkInfo& net = segmenter->network();
  if (options.precision == deeplab::Precision::kFp16 && segmenter->device() == deeplab::Device::kCpu)
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("precision fp16 is a CUDA option; the CPU runs fp32"), (nullptr));

  // Class names and palette from the manifest, completed for a model with more classes than named.
  std::vector<const gchar*> names(static_cast<std::size_t>(net.num_classes) + 1, nullptr);
  std::vector<guint8> palette(3 * static_cast<std::size_t>(net.num_classes));
  const auto voc = deeplab::voc_palette(net.num_classes);
  for (int k = 0; k < net.num_classes; ++k) {
    if (k < static_cast<int>(manifest.classes.size())) names[k] = manifest.classes[k].c_str();
    const auto& rgb = k < static_cast<int>(manifest.palette.size()) ? manifest.palette[k] : voc[k];
    std::copy(rgb.begin(), rgb.end(), palette.begin() + 3 * k);
  }
  GstDeeplabClassInfo* info = gst_deeplab_class_info_new(static_cast<guint>(net.num_classes), names.data(), palette.data());

  // One warm-up run: the first run of a network is slower (first-touch of its arena), and its time
  // is the latency reported before any frame was measured. Not through a shared engine: the grey
  // frame would wait in a batch for the other streams' frames.
  const auto w0 = Clock::now();
  if (!segmenter->shared()) {
    std::vector<std::uint8_t> grey(static_cast<std::size_t>(net.input_width) * net.input_height * 3, 128);
    segmenter->segment(deeplab::FrameView::packed(deeplab::PixelFormat::kRGB, grey.data(), net.input_width,
                                                  net.input_height, 3 * net.input_width),
                       {});
    segmenter->reset_stream();  // the grey frame is no frame of the stream
  }
  const GstClockTime warmup = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - w0).count();

  GST_CAT_INFO_OBJECT(gst_deeplab_engine_debug, self,
                      "model %s (%s) on %s: input %dx%d, logits %dx%d, %d classes, %d nodes, arena %zu bytes, "
                      "loaded in %.1f ms, warm-up %.1f ms",
                      manifest.name.c_str(), manifest.file.c_str(), deeplab::device_name(segmenter->device()),
                      net.input_width, net.input_height, net.logits_width, net.logits_height, net.num_classes,
                      net.node_count, net.arena_bytes,
                      std::chrono::duration<double, std::milli>(w0 - t0).count(), warmup / 1e6);
  p.segmenter = std::move(segmenter);
  p.class_info = info;
  p.loaded = want;
  p.crf_applied = crf_generation;
  p.lut_generation = 0;  // re-apply `classes` to the new class names
  GST_OBJECT_LOCK(self);
  p.warmup_time = warmup;
  p.latency = LatencyWindow();
  GST_OBJECT_UNLOCK(self);
}

// Rebuilds the class LUT from `classes`; returns the names that match no class.
static std::string gst_deeplab_seg_apply_classes(GstDeeplabSeg* self, const std::string& spec, guint generation) {
  GstDeeplabSegPrivate& p = *self->priv;
  deeplab_gst::ClassSelection keep;
  const std::string unknown = deeplab_gst::parse_class_selection(spec, p.class_info, -1, &keep);
  p.lut_identity = keep.empty_spec;
  for (int c = 0; c < 256; ++c) p.lut[c] = keep.selected[c] ? static_cast<guint8>(c) : 0;
  p.lut_generation = generation;
  GST_DEBUG_OBJECT(self, "classes '%s' applied", spec.c_str());
  return unknown;
}

static std::string class_names_list(const GstDeeplabClassInfo* info) {
  std::string all;
  for (guint k = 0; k < info->num_classes; ++k) all += (k ? ", " : "") + std::string(info->names[k]);
  return all;
}

// ---- GstBaseTransform / GstVideoFilter vfuncs ----------------------------------------------------

static gboolean gst_deeplab_seg_start(GstBaseTransform* trans) {
  auto* self = GST_DEEPLAB_SEG(trans);
  GstDeeplabSegPrivate& p = *self->priv;
  GST_OBJECT_LOCK(self);
  const LoadSettings want = p.settings;
  const std::string classes = p.classes;
  const guint generation = p.classes_generation;
  const deeplab::CrfOptions crf = p.crf;
  const guint crf_generation = p.crf_generation;
  GST_OBJECT_UNLOCK(self);
  try {
    if (!p.segmenter || !(p.loaded == want)) gst_deeplab_seg_load(self, want, crf, crf_generation);
    else GST_DEBUG_OBJECT(self, "model '%s' already loaded", want.model.c_str());
    const std::string unknown = gst_deeplab_seg_apply_classes(self, classes, generation);
    if (!unknown.empty()) {
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                        ("Unknown class(es) in classes='%s': %s", classes.c_str(), unknown.c_str()),
                        ("model '%s' has the classes: %s", want.model.c_str(), class_names_list(p.class_info).c_str()));
      return FALSE;
    }
  } catch (const deeplab::Error& e) {
    const std::string text = std::string("Could not load model '") + want.model + "' on device " +
                             deeplab::device_name(engine_device(want.device));
    DEEPLAB_POST_ENGINE_ERROR(self, e, text, false);
    return FALSE;
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("Could not load model '%s': %s", want.model.c_str(), e.what()),
                      ("unexpected exception in start()"));
    return FALSE;
  }
  return TRUE;
}

static gboolean gst_deeplab_seg_stop(GstBaseTransform* trans) {
  auto* self = GST_DEEPLAB_SEG(trans);
  // The model stays loaded for the next start(); the per-stream pools and CRF state go.
  GstDeeplabSegPrivate& p = *self->priv;
  drop_pool(&p.map_pool);
  drop_pool(&p.prob_pool);
  // A stream of a shared engine closes: a stopped element must not hold the others' batches (its
  // next start() opens a new stream, without a reload while the others keep the engine).
  if (p.segmenter && p.segmenter->shared()) p.segmenter.reset();
  else if (p.segmenter) p.segmenter->reset_stream();
  p.crf_reset_pending = false;
  return TRUE;
}

static gboolean gst_deeplab_seg_set_info(GstVideoFilter* filter, GstCaps*, GstVideoInfo* in_info, GstCaps*,
                                         GstVideoInfo*) {
  auto* self = GST_DEEPLAB_SEG(filter);
  GstDeeplabSegPrivate& p = *self->priv;
  try {
    p.format = pixel_format_of(GST_VIDEO_INFO_FORMAT(in_info));
  } catch (const deeplab::Error& e) {
    GST_WARNING_OBJECT(self, "%s", e.what());
    return FALSE;
  }
  const guint width = GST_VIDEO_INFO_WIDTH(in_info), height = GST_VIDEO_INFO_HEIGHT(in_info);
  p.map_stride = GST_ROUND_UP_4(width);
  drop_pool(&p.map_pool);
  p.map_pool = make_block_pool(static_cast<gsize>(p.map_stride) * height);
  if (!p.map_pool) {
    GST_ELEMENT_ERROR(self, RESOURCE, NO_SPACE_LEFT, ("Could not set up a pool for %ux%u class maps", width, height),
                      (nullptr));
    return FALSE;
  }
  p.crf_reset_pending = true;  // new caps: the previous frames' CRF state does not carry over
  GST_DEBUG_OBJECT(self, "negotiated %s %ux%u", gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(in_info)), width,
                   height);
  return TRUE;
}

// Copies the engine's class map into a pooled block (through the `classes` LUT) and attaches it.
static bool gst_deeplab_seg_attach(GstDeeplabSeg* self, GstBuffer* buffer, const deeplab::Segmentation& seg) {
  GstDeeplabSegPrivate& p = *self->priv;
  const guint stride = GST_ROUND_UP_4(static_cast<guint>(seg.width));
  if (!p.map_pool || stride != p.map_stride) {
    drop_pool(&p.map_pool);
    p.map_stride = stride;
    p.map_pool = make_block_pool(static_cast<gsize>(stride) * seg.height);
  }
  GstBuffer* block = nullptr;
  if (!p.map_pool || gst_buffer_pool_acquire_buffer(p.map_pool, &block, nullptr) != GST_FLOW_OK) return false;
  GstMapInfo map;
  if (!gst_buffer_map(block, &map, GST_MAP_WRITE)) {
    gst_buffer_unref(block);
    return false;
  }
  for (int y = 0; y < seg.height; ++y) {
    const std::uint8_t* in = seg.class_map.data() + static_cast<std::size_t>(y) * seg.width;
    guint8* out = map.data + static_cast<gsize>(y) * stride;
    if (p.lut_identity) std::memcpy(out, in, static_cast<std::size_t>(seg.width));
    else
      for (int x = 0; x < seg.width; ++x) out[x] = p.lut[in[x]];
    std::memset(out + seg.width, 0, stride - seg.width);
  }
  gst_buffer_unmap(block, &map);
  // A frame segmented before (a second deeplabseg, or one after a tee) carries the old map: replace it.
  while (GstDeeplabSegMeta* old = gst_buffer_get_deeplab_seg_meta(buffer)) gst_buffer_remove_meta(buffer, &old->meta);
  GstDeeplabSegMeta* meta = gst_buffer_add_deeplab_seg_meta(buffer, block, static_cast<guint>(seg.width),
                                                            static_cast<guint>(seg.height), stride, p.class_info);
  if (!meta) return false;
  const deeplab::NetworkInfo& net = p.segmenter->network();
  gst_deeplab_seg_meta_set_model_size(meta, static_cast<guint>(net.input_width), static_cast<guint>(net.input_height));
  if (seg.probabilities_width > 0) {
    const gsize size = seg.probabilities.size() * sizeof(float);
    if (!p.prob_pool || p.prob_size != size) {
      drop_pool(&p.prob_pool);
      p.prob_size = size;
      p.prob_pool = make_block_pool(size);
    }
    GstBuffer* probs = nullptr;
    if (!p.prob_pool || gst_buffer_pool_acquire_buffer(p.prob_pool, &probs, nullptr) != GST_FLOW_OK) return false;
    gst_buffer_fill(probs, 0, seg.probabilities.data(), size);
    if (!gst_deeplab_seg_meta_set_probabilities(meta, probs, static_cast<guint>(seg.probabilities_width),
                                                static_cast<guint>(seg.probabilities_height)))
      return false;
  }
  return true;
}

// Hands changed crf* properties to the Segmenter. Values the engine rejects (the pspec ranges should
// keep them out) leave the previous settings in place, with a warning.
static void gst_deeplab_seg_apply_crf(GstDeeplabSeg* self, const deeplab::CrfOptions& crf, guint generation) {
  GstDeeplabSegPrivate& p = *self->priv;
  p.crf_applied = generation;
  try {
    p.segmenter->set_crf_options(crf);
    GST_DEBUG_OBJECT(self, "crf %s applied (iterations %d, temporal %d, keyframes every %d, scale %.3g)",
                     deeplab::crf_mode_name(crf.mode), crf.params.iterations, crf.temporal_iterations,
                     crf.keyframe_interval, crf.scale);
  } catch (const deeplab::Error& e) {
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("CRF settings rejected, keeping the previous ones"), ("%s", e.what()));
  }
}

static GstFlowReturn gst_deeplab_seg_transform_frame_ip(GstVideoFilter* filter, GstVideoFrame* frame) {
  auto* self = GST_DEEPLAB_SEG(filter);
  GstDeeplabSegPrivate& p = *self->priv;
  if (!p.segmenter) {
    GST_ELEMENT_ERROR(self, CORE, STATE_CHANGE, ("No model loaded"), ("a frame arrived before start()"));
    return GST_FLOW_ERROR;
  }
  GST_OBJECT_LOCK(self);
  const bool probabilities = p.emit_probabilities;
  const bool classes_changed = p.classes_generation != p.lut_generation;
  const std::string classes = classes_changed ? p.classes : std::string();
  const guint generation = p.classes_generation;
  const bool crf_changed = p.crf_generation != p.crf_applied;
  const deeplab::CrfOptions crf = p.crf;
  const guint crf_generation = p.crf_generation;
  GST_OBJECT_UNLOCK(self);

  const auto t0 = Clock::now();
  int crf_iterations = 0;
  try {
    if (crf_changed) gst_deeplab_seg_apply_crf(self, crf, crf_generation);
    if (p.crf_reset_pending.exchange(false)) p.segmenter->reset_stream();
    if (classes_changed) {
      const std::string unknown = gst_deeplab_seg_apply_classes(self, classes, generation);
      if (!unknown.empty())
        GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS,
                            ("Unknown class(es) in classes='%s': %s", classes.c_str(), unknown.c_str()),
                            ("the model has the classes: %s", class_names_list(p.class_info).c_str()));
    }
    deeplab::SegmentRequest request;
    if (probabilities) {
      request.probabilities_width = p.segmenter->network().input_width;
      request.probabilities_height = p.segmenter->network().input_height;
    }
    const deeplab::Segmentation& seg = p.segmenter->segment(frame_view(frame, p.format), request);
    crf_iterations = seg.crf.iterations;
    if (!gst_deeplab_seg_attach(self, frame->buffer, seg)) {
      GST_ELEMENT_ERROR(self, RESOURCE, NO_SPACE_LEFT, ("Could not attach the class map"),
                        ("no block from the pool, or the buffer is not writable"));
      return GST_FLOW_ERROR;
    }
  } catch (const deeplab::Error& e) {
    DEEPLAB_POST_ENGINE_ERROR(self, e, "Segmentation failed", true);
    return GST_FLOW_ERROR;
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Segmentation failed: %s", e.what()), ("unexpected exception"));
    return GST_FLOW_ERROR;
  }
  const GstClockTime took = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  const deeplab::StageTimes& times = p.segmenter->last_times();
  // `took` includes the CRF: a keyframe's full iterations count in the latency window like any frame.
  GST_CAT_LOG_OBJECT(gst_deeplab_engine_debug, self,
                     "frame %dx%d: preprocess %.2f ms, network %.2f ms, postprocess %.2f ms, crf %.2f ms "
                     "(%d iterations), with meta %.2f ms",
                     GST_VIDEO_FRAME_WIDTH(frame), GST_VIDEO_FRAME_HEIGHT(frame), times.preprocess_ms,
                     times.infer_ms, times.postprocess_ms, times.crf_ms, crf_iterations, took / 1e6);

  // Ask the pipeline to re-query the latency when frames take clearly longer than reported.
  GST_OBJECT_LOCK(self);
  p.latency.push(took);
  const bool repost = p.latency_property == 0 && GST_CLOCK_TIME_IS_VALID(p.reported_latency) &&
                      p.latency.max() > p.reported_latency + p.reported_latency / 4;
  if (repost) p.reported_latency = GST_CLOCK_TIME_NONE;  // once, until the next query
  GST_OBJECT_UNLOCK(self);
  if (repost) {
    GST_DEBUG_OBJECT(self, "processing time grew to %" GST_TIME_FORMAT ", posting a latency message",
                     GST_TIME_ARGS(took));
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  }
  return GST_FLOW_OK;
}

// In place, but the frame is only read. GstVideoFilter's own transform_ip does not fit: it maps the
// frame for writing (the element is not in passthrough mode; it cannot be, the buffer must be
// writable to take the meta), which deep-copies memory shared with another buffer (after a tee), and
// its frame holds a second reference to the buffer, which makes the buffer unwritable for
// gst_buffer_add_meta(). So: map read-only, without a reference.
static GstFlowReturn gst_deeplab_seg_transform_ip(GstBaseTransform* trans, GstBuffer* buffer) {
  auto* filter = GST_VIDEO_FILTER(trans);
  if (!filter->negotiated) {
    GST_ELEMENT_ERROR(trans, CORE, NEGOTIATION, (nullptr), ("a buffer arrived before caps"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &filter->in_info, buffer,
                           static_cast<GstMapFlags>(GST_MAP_READ | GST_VIDEO_FRAME_MAP_FLAG_NO_REF))) {
    GST_ELEMENT_ERROR(trans, STREAM, FAILED, ("Could not map the input frame"), (nullptr));
    return GST_FLOW_ERROR;
  }
  const GstFlowReturn ret = gst_deeplab_seg_transform_frame_ip(filter, &frame);
  gst_video_frame_unmap(&frame);
  return ret;
}

// A seek (FLUSH_STOP), a new segment or a new stream breaks the sequence of frames: the temporal
// CRF must not start the next frame from the marginals of one that did not precede it.
static gboolean gst_deeplab_seg_sink_event(GstBaseTransform* trans, GstEvent* event) {
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_SEGMENT:
    case GST_EVENT_STREAM_START:
      GST_DEBUG_OBJECT(trans, "%s: the temporal CRF starts afresh", GST_EVENT_TYPE_NAME(event));
      GST_DEEPLAB_SEG(trans)->priv->crf_reset_pending = true;
      break;
    case GST_EVENT_EOS:  // serialised with the frames: this element sends no more for now
      if (GST_DEEPLAB_SEG(trans)->priv->segmenter) GST_DEEPLAB_SEG(trans)->priv->segmenter->idle();
      break;
    default: break;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_deeplab_seg_parent_class)->sink_event(trans, event);
}

// LATENCY: upstream's plus the time a frame spends here (the `latency` property, or the longest of
// the last 32 frames, or the warm-up run before any frame).
static gboolean gst_deeplab_seg_query(GstBaseTransform* trans, GstPadDirection direction, GstQuery* query) {
  auto* self = GST_DEEPLAB_SEG(trans);
  const gboolean ret = GST_BASE_TRANSFORM_CLASS(gst_deeplab_seg_parent_class)->query(trans, direction, query);
  if (!ret || direction != GST_PAD_SRC || GST_QUERY_TYPE(query) != GST_QUERY_LATENCY) return ret;
  gboolean live = FALSE;
  GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;
  gst_query_parse_latency(query, &live, &min, &max);
  GstDeeplabSegPrivate& p = *self->priv;
  GST_OBJECT_LOCK(self);
  GstClockTime ours = p.latency_property;
  if (ours == 0) ours = std::max(p.latency.max(), p.warmup_time);
  // A shared engine's frame may wait up to batch-timeout for its batch (the measured times include
  // the waits that happened; the bound is what a live pipeline must allow for).
  if (p.latency_property == 0 && !p.settings.model_instance_id.empty() && p.settings.batch_size > 1)
    ours = std::max(ours, p.warmup_time + static_cast<GstClockTime>(p.settings.batch_timeout) * GST_MSECOND);
  p.reported_latency = ours;
  GST_OBJECT_UNLOCK(self);
  min += ours;
  if (GST_CLOCK_TIME_IS_VALID(max)) max += ours;
  GST_DEBUG_OBJECT(self, "latency: adding %" GST_TIME_FORMAT " -> min %" GST_TIME_FORMAT ", max %" GST_TIME_FORMAT,
                   GST_TIME_ARGS(ours), GST_TIME_ARGS(min), GST_TIME_ARGS(max));
  gst_query_set_latency(query, live, min, max);
  return TRUE;
}

// ---- properties and class ------------------------------------------------------------------------

// The crf* properties (false: `prop_id` is not one of them). Called with the object lock held.
static bool gst_deeplab_seg_set_crf_property(deeplab::CrfOptions& crf, guint prop_id, const GValue* value) {
  if (prop_id == PROP_CRF_PARAMS) {
    const gchar* file = g_value_get_string(value);
    crf.params_file = file ? file : "";
    return true;
  }
  if (prop_id != PROP_CRF) return deeplab_gst::set_crf_property(crf, PROP_CRF_NUMERIC, prop_id, value);
  crf.mode = engine_crf_mode(static_cast<GstDeeplabCrfMode>(g_value_get_enum(value)));
  return true;
}

static bool gst_deeplab_seg_get_crf_property(const deeplab::CrfOptions& crf, guint prop_id, GValue* value) {
  if (prop_id == PROP_CRF_PARAMS) {
    g_value_set_string(value, crf.params_file.c_str());
    return true;
  }
  if (prop_id != PROP_CRF) return deeplab_gst::get_crf_property(crf, PROP_CRF_NUMERIC, prop_id, value);
  g_value_set_enum(value, gst_crf_mode(crf.mode));
  return true;
}

static void gst_deeplab_seg_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  auto* self = GST_DEEPLAB_SEG(object);
  GstDeeplabSegPrivate& p = *self->priv;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: {
      const gchar* model = g_value_get_string(value);
      p.settings.model = model ? model : DEFAULT_PROP_MODEL;
      break;
    }
    case PROP_DEVICE: p.settings.device = static_cast<GstDeeplabDevice>(g_value_get_enum(value)); break;
    case PROP_PRECISION: p.settings.precision = static_cast<GstDeeplabPrecision>(g_value_get_enum(value)); break;
    case PROP_INPUT_SIZE: {
      const gchar* size = g_value_get_string(value);
      p.settings.input_size = size ? size : "";
      break;
    }
    case PROP_ASPECT: p.settings.aspect = static_cast<GstDeeplabAspect>(g_value_get_enum(value)); break;
    case PROP_THREADS: p.settings.threads = g_value_get_uint(value); break;
    case PROP_CLASSES: {
      const gchar* classes = g_value_get_string(value);
      p.classes = classes ? classes : "";
      ++p.classes_generation;
      break;
    }
    case PROP_EMIT_PROBABILITIES: p.emit_probabilities = g_value_get_boolean(value); break;
    case PROP_LATENCY: p.latency_property = g_value_get_uint64(value); break;
    case PROP_MODEL_INSTANCE_ID: {
      const gchar* id = g_value_get_string(value);
      p.settings.model_instance_id = id ? id : "";
      break;
    }
    case PROP_BATCH_SIZE: p.settings.batch_size = g_value_get_uint(value); break;
    case PROP_BATCH_TIMEOUT: p.settings.batch_timeout = g_value_get_uint(value); break;
    default:
      if (!gst_deeplab_seg_set_crf_property(p.crf, prop_id, value)) {
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
        break;
      }
      ++p.crf_generation;
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_deeplab_seg_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  auto* self = GST_DEEPLAB_SEG(object);
  const GstDeeplabSegPrivate& p = *self->priv;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string(value, p.settings.model.c_str()); break;
    case PROP_DEVICE: g_value_set_enum(value, p.settings.device); break;
    case PROP_PRECISION: g_value_set_enum(value, p.settings.precision); break;
    case PROP_INPUT_SIZE: g_value_set_string(value, p.settings.input_size.c_str()); break;
    case PROP_ASPECT: g_value_set_enum(value, p.settings.aspect); break;
    case PROP_THREADS: g_value_set_uint(value, p.settings.threads); break;
    case PROP_CLASSES: g_value_set_string(value, p.classes.c_str()); break;
    case PROP_EMIT_PROBABILITIES: g_value_set_boolean(value, p.emit_probabilities); break;
    case PROP_LATENCY: g_value_set_uint64(value, p.latency_property); break;
    case PROP_MODEL_INSTANCE_ID: g_value_set_string(value, p.settings.model_instance_id.c_str()); break;
    case PROP_BATCH_SIZE: g_value_set_uint(value, p.settings.batch_size); break;
    case PROP_BATCH_TIMEOUT: g_value_set_uint(value, p.settings.batch_timeout); break;
    default:
      if (!gst_deeplab_seg_get_crf_property(p.crf, prop_id, value)) G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_deeplab_seg_init(GstDeeplabSeg* self) {
  self->priv = new GstDeeplabSegPrivate();
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), TRUE);
}

// The dense CRF's properties (docs/crf.md). Stds are in pixels of the frame (and 0..255 colour units);
// with crf-scale < 1 the CRF runs on a smaller image and the engine scales the position stds with it.
static void gst_deeplab_seg_install_crf_properties(GObjectClass* gobject_class, GParamFlags flags) {
  g_object_class_install_property(
      gobject_class, PROP_CRF,
      g_param_spec_enum("crf", "Dense CRF",
                        "Fully connected CRF after the network (DeepLab v1/v2): off, full (every frame from the "
                        "network's probabilities) or temporal (each frame starts from the previous one's result). "
                        "Can change while playing",
                        GST_TYPE_DEEPLAB_CRF_MODE, DEFAULT_PROP_CRF, flags));
  g_object_class_install_property(
      gobject_class, PROP_CRF_PARAMS,
      g_param_spec_string("crf-params", "CRF parameter file",
                          "A YAML file with a crf: block (deeplab-crf-tune's output): its CRF parameters replace the "
                          "model's own (its manifest's crf: block); crf-* properties set explicitly still win. Empty: "
                          "none",
                          "", flags));
  deeplab_gst::install_crf_properties(gobject_class, PROP_CRF_NUMERIC, flags);
}

// Sharing one engine between elements, and batching their frames (deeplab/batching.h).
static void gst_deeplab_seg_install_sharing_properties(GObjectClass* gobject_class, GParamFlags flags) {
  g_object_class_install_property(
      gobject_class, PROP_MODEL_INSTANCE_ID,
      g_param_spec_string("model-instance-id", "Model instance id",
                          "Elements of one process naming the same id share one loaded network and batch their frames "
                          "(up to batch-size per network call); each keeps its own pre-processing, upsampling and CRF "
                          "state. They must agree on model, device, precision, input-size, aspect, threads, batch-size "
                          "and batch-timeout (an error at start otherwise). Device cuda: the CUDA batch backend (not yet "
                          "run on a GPU). With aspect keep, frames are batched per network input shape (one "
                          "network per frame aspect). Empty: an "
                          "engine of the element's own",
                          DEFAULT_PROP_MODEL_INSTANCE_ID, flags));
  g_object_class_install_property(
      gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint("batch-size", "Batch size",
                        "With model-instance-id: frames per network call, gathered from the sharing elements",
                        1, deeplab::kMaxBatch, DEFAULT_PROP_BATCH_SIZE, flags));
  g_object_class_install_property(
      gobject_class, PROP_BATCH_TIMEOUT,
      g_param_spec_uint("batch-timeout", "Batch timeout",
                        "With model-instance-id: the longest a batch waits to fill after its first frame, in ms (a "
                        "stalled or finished stream holds the others no longer; added to the reported latency)",
                        0, deeplab::kMaxBatchTimeoutMs, DEFAULT_PROP_BATCH_TIMEOUT, flags));
}

// Model-related properties apply at the next start (READY); the others can change while playing.
static void gst_deeplab_seg_install_properties(GObjectClass* gobject_class) {
  const auto ready = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  const auto playing = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model",
                          "A model manifest name (models/NAME.yaml, also looked up in $DEEPLAB_MODEL_DIR), a manifest "
                          ".yaml path, or an .onnx / .tflite path. The model file is found in $DEEPLAB_MODEL_CACHE, "
                          "models/cache or beside the manifest. Loaded at READY->PAUSED, and again only when it or device, "
                          "precision, input-size, aspect or threads changed",
                          DEFAULT_PROP_MODEL, ready));
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_enum("device", "Device", "Where the model runs", GST_TYPE_DEEPLAB_DEVICE, DEFAULT_PROP_DEVICE, ready));
  g_object_class_install_property(
      gobject_class, PROP_PRECISION,
      g_param_spec_enum("precision", "Precision", "Arithmetic precision of the network (fp16: CUDA only)",
                        GST_TYPE_DEEPLAB_PRECISION, DEFAULT_PROP_PRECISION, ready));
  g_object_class_install_property(
      gobject_class, PROP_INPUT_SIZE,
      g_param_spec_string("input-size", "Input size",
                          "Network input size WIDTHxHEIGHT (1..16384 each; a size other than the model's own only where "
                          "its graph follows the input size, else an error at start); empty: the manifest's or the "
                          "model's own size. With aspect=keep, its long side",
                          DEFAULT_PROP_INPUT_SIZE, ready));
  g_object_class_install_property(
      gobject_class, PROP_ASPECT,
      g_param_spec_enum("aspect", "Aspect",
                        "How a frame meets the network input: stretch (resized to input-size whatever its aspect) or "
                        "keep (the network input follows the frame's aspect, re-planned when it changes)",
                        GST_TYPE_DEEPLAB_ASPECT, DEFAULT_PROP_ASPECT, ready));
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_uint("threads", "Threads", "CPU threads for the network (0: all cores)", 0, deeplab::kMaxThreads,
                        DEFAULT_PROP_THREADS, ready));
  g_object_class_install_property(
      gobject_class, PROP_CLASSES,
      g_param_spec_string("classes", "Classes",
                          "Comma-separated class names (or ids) to keep, e.g. \"person,car\"; the others are reported "
                          "as 0 (background). Empty: keep every class. Unknown names are an error at start",
                          DEFAULT_PROP_CLASSES, playing));
  g_object_class_install_property(
      gobject_class, PROP_EMIT_PROBABILITIES,
      g_param_spec_boolean("emit-probabilities", "Emit probabilities",
                           "Also attach per-class softmax probabilities (float, CHW) at the network's input size",
                           DEFAULT_PROP_EMIT_PROBABILITIES, playing));
  g_object_class_install_property(
      gobject_class, PROP_LATENCY,
      g_param_spec_uint64("latency", "Latency",
                          "Processing latency to report in LATENCY queries, in ns (0: measured, the longest of the "
                          "last 32 frames)",
                          0, G_MAXUINT64, DEFAULT_PROP_LATENCY, playing));
  g_assert(deeplab::CrfOptions{}.mode == deeplab::CrfMode::kOff);
  gst_deeplab_seg_install_crf_properties(gobject_class, playing);
  gst_deeplab_seg_install_sharing_properties(gobject_class, ready);
}

// gst-inspect's description of the element, with a working gst-launch-1.0 line.
static const char kDescription[] =
    "Segments every frame with a DeepLab model (CPU engine) and attaches a GstDeeplabSegMeta: a class map at the "
    "frame's resolution (GRAY8, value = class id), the class names and palette, and optionally per-class "
    "probabilities; optionally refined by a dense CRF (crf=full|temporal). The frame itself passes through "
    "unchanged. Example:\n"
    "  gst-launch-1.0 filesrc location=video.mp4 ! decodebin ! videoconvert ! deeplabseg crf=temporal ! "
    "deeplaboverlay ! videoconvert ! autovideosink\n"
    "Four cameras sharing one network, batched four frames per call:\n"
    "  gst-launch-1.0 filesrc location=a.mp4 ! decodebin ! videoconvert ! deeplabseg model-instance-id=cams "
    "batch-size=4 ! fakesink  filesrc location=b.mp4 ! decodebin ! videoconvert ! deeplabseg "
    "model-instance-id=cams batch-size=4 ! fakesink  (and so on)";

static void gst_deeplab_seg_class_init(GstDeeplabSegClass* klass) {
  deeplab_gst::init_debug_categories();
  deeplab_gst::init_element_class(klass, {gst_deeplab_seg_set_property, gst_deeplab_seg_get_property,
                                          gst_deeplab_seg_finalize, "DeepLab segmentation", "Filter/Analyzer/Video",
                                          kDescription, &sink_template, &src_template});
  gst_deeplab_seg_install_properties(G_OBJECT_CLASS(klass));

  auto* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  trans_class->start = GST_DEBUG_FUNCPTR(gst_deeplab_seg_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_deeplab_seg_stop);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_deeplab_seg_query);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_deeplab_seg_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_deeplab_seg_transform_ip);
  auto* filter_class = GST_VIDEO_FILTER_CLASS(klass);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_deeplab_seg_set_info);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_deeplab_seg_transform_frame_ip);

  deeplab_gst::mark_plugin_api({GST_TYPE_DEEPLAB_DEVICE, GST_TYPE_DEEPLAB_PRECISION, GST_TYPE_DEEPLAB_ASPECT,
                                 GST_TYPE_DEEPLAB_CRF_MODE});
}
