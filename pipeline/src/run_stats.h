// Figures gathered while a pipeline runs: per-frame latency of deeplabseg (its sink pad to its src pad),
// frame counts per output, drops. Everything is sized before the first frame: recording a frame
// allocates nothing.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

namespace deeplab::pipeline {

// Latencies in a log-spaced histogram (1 us .. ~100 s, 2 % per bin), so that p95 needs no list of
// every frame; the mean and the maximum are exact. Written by one thread (deeplabseg's streaming
// thread), read after that thread stopped.
class LatencyHistogram {
 public:
  void add(std::int64_t microseconds);
  void merge(const LatencyHistogram& other);  // several sources' histograms into one
  std::uint64_t count() const { return count_; }
  double mean_ms() const;
  double max_ms() const { return static_cast<double>(max_us_) / 1000.0; }
  double percentile_ms(double p) const;  // the upper edge of the bin holding the p-th percentile, at most max

 private:
  static constexpr int kBins = 1000;
  static int bin_of(std::int64_t microseconds);
  static double upper_edge_us(int bin);
  std::array<std::uint64_t, kBins> bins_{};
  std::uint64_t count_ = 0;
  double sum_us_ = 0;
  std::int64_t max_us_ = 0;
};

// The way into deeplabseg, watched by a pad probe on the pad that feeds it. It lets `max` frames
// through (source.max-frames; 0 = no limit), or every frame until the runner closes it (stop()); then
// it sends EOS straight into deeplabseg, once, and drops what still comes. So on a stop the frames
// that wait before the model (demuxer and decoder queues) are dropped, not segmented first: the EOS
// follows the frame being segmented, and the files are finalised a frame later, however slow the model.
// Shared by the streaming thread that feeds deeplabseg and the bus loop, under `mutex`.
struct StopGate {
  std::mutex mutex;
  std::uint64_t max = 0;
  std::uint64_t passed = 0;  // frames let through
  bool closed = false;       // stop() was seen
  bool limited = false;      // `max` frames went through
  bool eos_sent = false;     // an EOS went into deeplabseg (the gate's, or the source's own)
};

// Shared between the streaming threads (pad probes) and the bus loop.
struct FrameCounters {
  std::atomic<std::uint64_t> source_queue_in{0};  // buffers into the live source's leaky queue
  std::atomic<std::uint64_t> seg_in{0};           // buffers reaching deeplabseg
  std::atomic<std::uint64_t> seg_out{0};          // segmented frames leaving it
  std::atomic<std::int64_t> last_pts{-1};         // of the last segmented frame, ns
  std::int64_t seg_started_us = 0;                // deeplabseg's streaming thread only
  LatencyHistogram latency;                       // deeplabseg's streaming thread only
  std::atomic<std::int64_t> last_end{-1};        // PTS + duration of the last segmented frame, ns
  StopGate gate;
};

}  // namespace deeplab::pipeline
