// deeplab-machine-bench: what a second (third, ...) core adds on this machine, for reading the
// CRF's thread scaling (scripts/crf-bench.sh records it beside every run; docs/performance.md).
//   deeplab-machine-bench [--threads N] [--mb M] [--json]
// Two probes, each run by one thread alone and then by N threads at once (std::thread, started
// together), every thread on its own data:
//   memory: reads M MiB per thread, 16 passes, 8 independent sums (bandwidth-bound: GB/s);
//   arithmetic: 12 independent multiply-add chains on 8-float vectors, no memory (Gflop/s).
// Scaling = the N threads' total over one thread alone. A phase of the CRF bound by memory can
// speed up no more than the memory scaling, one bound by arithmetic no more than the arithmetic
// scaling; on a virtual machine both change from minute to minute with the other tenants.
// A third probe times a cache line handed back and forth between two threads on the first two
// CPUs the process may use: what each line that one thread writes and the other reads costs (the
// CRF's threads share the lattice's tables and rows); 0 where the process may use one CPU only.
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <thread>
#include <vector>

#include "cli_args.h"

using namespace deeplab;

namespace {

typedef float Floats8 __attribute__((vector_size(32)));

constexpr int kReadPasses = 16;
constexpr long kArithmeticSteps = 20'000'000;
constexpr int kChains = 12;

using Clock = std::chrono::steady_clock;

volatile float g_sink;  // the probes' results go here, so that their loops are not optimised away

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// GB/s of reading `data` kReadPasses times.
double read_bandwidth(const std::vector<Floats8>& data) {
  Floats8 sums[8] = {};
  const auto start = Clock::now();
  for (int pass = 0; pass < kReadPasses; ++pass)
    for (std::size_t i = 0; i + 8 <= data.size(); i += 8)
      for (int k = 0; k < 8; ++k) sums[k] += data[i + k];
  const double s = seconds_since(start);
  for (int k = 1; k < 8; ++k) sums[0] += sums[k];
  g_sink = sums[0][0];
  return static_cast<double>(kReadPasses) * data.size() * sizeof(Floats8) / s / 1e9;
}

// Gflop/s of kChains independent x = x * a + b chains on 8 floats (2 flops per lane and step).
double arithmetic_rate() {
  Floats8 x[kChains];
  for (int k = 0; k < kChains; ++k) x[k] = Floats8{} + (1.0f + 1e-3f * static_cast<float>(k));
  const Floats8 a = Floats8{} + 0.9999f, b = Floats8{} + 1e-4f;
  const auto start = Clock::now();
  for (long step = 0; step < kArithmeticSteps; ++step)
    for (int k = 0; k < kChains; ++k) x[k] = x[k] * a + b;
  const double s = seconds_since(start);
  for (int k = 1; k < kChains; ++k) x[0] += x[k];
  g_sink = x[0][0];
  return 2.0 * 8 * kChains * static_cast<double>(kArithmeticSteps) / s / 1e9;
}

// Each of `threads` threads runs probe(t) at the same moment; returns their rates.
template <class Probe>
std::vector<double> together(int threads, Probe probe) {
  std::vector<double> rates(threads);
  std::atomic<int> ready{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < threads) std::this_thread::yield();
      rates[t] = probe(t);
    });
  for (auto& thread : pool) thread.join();
  return rates;
}

constexpr int kHandOvers = 100'000;

// The first two CPUs in this process's affinity mask, or false if it has only one.
bool two_cpus(int& first, int& second) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return false;
  first = second = -1;
  for (int c = 0; c < CPU_SETSIZE && second < 0; ++c)
    if (CPU_ISSET(c, &set)) (first < 0 ? first : second) = c;
  return second >= 0;
}

void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Nanoseconds for one round trip of a cache line between CPUs a and b: each side waits for the
// other's write to the shared counter, then writes its own. The calling thread is pinned to a for
// the probe only.
double round_trip_ns(int a, int b) {
  cpu_set_t mask;
  sched_getaffinity(0, sizeof mask, &mask);
  alignas(64) std::atomic<int> turn{0};
  std::thread other([&] {
    pin_to(b);
    for (int i = 0; i < kHandOvers; ++i) {
      while (turn.load(std::memory_order_acquire) != 2 * i + 1) {
      }
      turn.store(2 * i + 2, std::memory_order_release);
    }
  });
  pin_to(a);
  const auto start = Clock::now();
  for (int i = 0; i < kHandOvers; ++i) {
    turn.store(2 * i + 1, std::memory_order_release);
    while (turn.load(std::memory_order_acquire) != 2 * i + 2) {
    }
  }
  const double s = seconds_since(start);
  other.join();
  pthread_setaffinity_np(pthread_self(), sizeof mask, &mask);
  return s / kHandOvers * 1e9;
}

double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

void print_rates(const char* name, const std::vector<double>& v) {
  std::printf("\"%s\": [", name);
  for (std::size_t i = 0; i < v.size(); ++i) std::printf("%s%.2f", i ? ", " : "", v[i]);
  std::printf("]");
}

}  // namespace

int main(int argc, char** argv) {
  return tools::run_tool("deeplab-machine-bench", [&] {
    tools::Args args(argc, argv, "deeplab-machine-bench [--threads N] [--mb M] [--json]");
    const int threads = args.integer("--threads", 2, 1, 256);
    const int mb = args.integer("--mb", 256, 1, 16384);
    const bool json = args.flag("--json");
    args.finish();
    const std::size_t vectors = static_cast<std::size_t>(mb) * (1 << 20) / sizeof(Floats8);
    std::vector<std::vector<Floats8>> data(threads, std::vector<Floats8>(vectors, Floats8{} + 1.0f));
    const auto read = [&](int t) { return read_bandwidth(data[t]); };
    const auto compute = [&](int) { return arithmetic_rate(); };
    const double read_one = together(1, read)[0], compute_one = together(1, compute)[0];
    const std::vector<double> read_all = together(threads, read), compute_all = together(threads, compute);
    const double read_scaling = sum(read_all) / read_one, compute_scaling = sum(compute_all) / compute_one;
    int cpu_a, cpu_b;
    const double round_trip = two_cpus(cpu_a, cpu_b) ? round_trip_ns(cpu_a, cpu_b) : 0.0;
    if (json) {
      std::printf("{\"kind\": \"machine\", \"threads\": %d, \"mb_per_thread\": %d, \"read_gbps_alone\": %.2f, ",
                  threads, mb, read_one);
      print_rates("read_gbps_together", read_all);
      std::printf(", \"read_scaling\": %.3f, \"gflops_alone\": %.2f, ", read_scaling, compute_one);
      print_rates("gflops_together", compute_all);
      std::printf(", \"arithmetic_scaling\": %.3f, \"core_round_trip_ns\": %.0f}\n", compute_scaling, round_trip);
    } else {
      std::printf("memory read: %.1f GB/s one thread alone, %.1f GB/s for %d threads at once (%.2fx)\n", read_one,
                  sum(read_all), threads, read_scaling);
      std::printf("arithmetic:  %.1f Gflop/s one thread alone, %.1f Gflop/s for %d threads at once (%.2fx)\n",
                  compute_one, sum(compute_all), threads, compute_scaling);
      if (round_trip > 0)
        std::printf("a cache line between CPUs %d and %d and back: %.0f ns\n", cpu_a, cpu_b, round_trip);
    }
    return 0;
  });
}
