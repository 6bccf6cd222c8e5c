// deeplab::Pipeline: the public face of config.cpp (load and validate), launch.cpp (the gst-launch
// arguments) and runner.cpp (one run).
#include "deeplab/pipeline.h"

#include <atomic>

#include "config.h"
#include "element_props.h"
#include "launch.h"
#include "runner.h"

namespace deeplab {

struct Pipeline::Impl {
  pipeline::PipelineConfig config;
  std::vector<std::string> args;
  FrameCallback callback;
  std::atomic<int> stop_requests{0};
  static_assert(std::atomic<int>::is_always_lock_free, "stop() must be async-signal-safe");
};

Pipeline::Pipeline(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;
Pipeline::~Pipeline() = default;

Pipeline Pipeline::from_file(const std::string& path, const std::vector<std::string>& overrides) {
  auto impl = std::make_unique<Impl>();
  impl->config = pipeline::load_config_file(path, overrides);
  impl->args = pipeline::launch_args(impl->config);
  return Pipeline(std::move(impl));
}

Pipeline Pipeline::from_string(const std::string& yaml, const std::vector<std::string>& overrides,
                               const std::string& origin) {
  auto impl = std::make_unique<Impl>();
  impl->config = pipeline::load_config(yaml, origin, overrides);
  impl->args = pipeline::launch_args(impl->config);
  return Pipeline(std::move(impl));
}

const std::vector<std::string>& Pipeline::launch_args() const { return impl_->args; }
std::string Pipeline::launch_line() const { return pipeline::launch_line(impl_->args); }
bool Pipeline::is_live() const { return impl_->config.live(); }

void Pipeline::check() const { pipeline::GstPipelineHandle handle(impl_->args); }

void Pipeline::on_frame(FrameCallback callback) { impl_->callback = std::move(callback); }

RunStats Pipeline::run(const RunOptions& options) {
  // A stop() that came before run() (Ctrl-C while starting up) counts; afterwards the next run starts afresh.
  struct ResetStops {
    std::atomic<int>& stops;
    ~ResetStops() { stops.store(0); }
  } reset{impl_->stop_requests};
  pipeline::Runner runner(impl_->config, impl_->args, impl_->callback, impl_->stop_requests, options);
  return runner.run();
}

void Pipeline::stop() noexcept { impl_->stop_requests.fetch_add(1); }

std::string describe_section(const std::string& section) {
  if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  if (section == "segmentation") return pipeline::properties_markdown("deeplabseg");
  if (section == "overlay") return pipeline::properties_markdown("deeplaboverlay");
  if (section == "encoder") return pipeline::properties_markdown("x264enc");
  throw ConfigError("no section '" + section + "' made of element properties (segmentation, overlay or encoder)");
}

}  // namespace deeplab
