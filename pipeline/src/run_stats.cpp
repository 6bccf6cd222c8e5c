#include "run_stats.h"

#include <algorithm>
#include <cmath>

namespace deeplab::pipeline {

namespace {
constexpr double kRatio = 1.02;
}

int LatencyHistogram::bin_of(std::int64_t microseconds) {
  if (microseconds <= 1) return 0;
  const int bin = static_cast<int>(std::ceil(std::log(static_cast<double>(microseconds)) / std::log(kRatio)));
  return std::min(bin, kBins - 1);
}

double LatencyHistogram::upper_edge_us(int bin) { return std::pow(kRatio, bin); }

void LatencyHistogram::add(std::int64_t microseconds) {
  microseconds = std::max<std::int64_t>(microseconds, 0);
  ++bins_[bin_of(microseconds)];
  ++count_;
  sum_us_ += static_cast<double>(microseconds);
  max_us_ = std::max(max_us_, microseconds);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (int k = 0; k < kBins; ++k) bins_[k] += other.bins_[k];
  count_ += other.count_;
  sum_us_ += other.sum_us_;
  max_us_ = std::max(max_us_, other.max_us_);
}

double LatencyHistogram::mean_ms() const { return count_ ? sum_us_ / static_cast<double>(count_) / 1000.0 : 0.0; }

double LatencyHistogram::percentile_ms(double p) const {
  if (count_ == 0) return 0.0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (int b = 0; b < kBins; ++b) {
    seen += bins_[b];
    if (seen >= std::max<std::uint64_t>(rank, 1)) return std::min(upper_edge_us(b), static_cast<double>(max_us_)) / 1000.0;
  }
  return max_ms();
}

}  // namespace deeplab::pipeline
