// Replays inputs through the fuzz target without libFuzzer, so that it builds with any compiler
// and runs as a regression test.
//
//   fuzz_onnx_replay [--generate DIR] [--truncations N] [PATH...]
//
//   --generate DIR     write the seed corpus (seeds.h) into DIR first
//   --truncations N    also feed each FILE argument cut at k/N of its size, k = 1..N-1
//   PATH               a file, or a directory whose regular files (not dot-files) are fed in name order
//
// Exits 0 when every input was handled (loaded, or rejected with a deeplab::Error); any other
// outcome crashes, or reports the input and exits 1 for an escaped exception.
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include "seeds.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace fs = std::filesystem;

namespace {

char g_current[4096] = "";  // the input being run, for the fatal-signal message

void on_fatal_signal(int sig) {
  const char prefix[] = "\nfuzz_onnx_replay: fatal signal while running ";
  ssize_t ignored = write(2, prefix, sizeof(prefix) - 1);
  ignored = write(2, g_current, std::strlen(g_current));
  ignored = write(2, "\n", 1);
  (void)ignored;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

bool run_one(const std::string& label, const std::string& bytes) {
  std::snprintf(g_current, sizeof(g_current), "%s", label.c_str());
  try {
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_onnx_replay: %s: escaped exception: %s\n", label.c_str(), e.what());
    return false;
  } catch (...) {
    std::fprintf(stderr, "fuzz_onnx_replay: %s: escaped non-standard exception\n", label.c_str());
    return false;
  }
  return true;
}

std::string read_all(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

int usage() {
  std::fprintf(stderr, "usage: fuzz_onnx_replay [--generate DIR] [--truncations N] [PATH...]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGSEGV, on_fatal_signal);
  std::signal(SIGABRT, on_fatal_signal);
  std::signal(SIGFPE, on_fatal_signal);
  std::signal(SIGBUS, on_fatal_signal);
  std::signal(SIGILL, on_fatal_signal);

  int truncations = 0;
  std::vector<std::string> paths;
  for (int k = 1; k < argc; ++k) {
    const std::string arg = argv[k];
    if (arg == "--generate" && k + 1 < argc) {
      const int n = deeplab::fuzz::write_seed_corpus(argv[++k]);
      std::printf("fuzz_onnx_replay: wrote %d seed inputs to %s\n", n, argv[k]);
    } else if (arg == "--truncations" && k + 1 < argc) {
      truncations = std::atoi(argv[++k]);
    } else if (arg.rfind("--", 0) == 0) {
      return usage();
    } else {
      paths.push_back(arg);
    }
  }

  int inputs = 0, failures = 0;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (const auto& entry : fs::directory_iterator(p))
        if (entry.is_regular_file() && entry.path().filename().string()[0] != '.') files.push_back(entry.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        failures += run_one(f.string(), read_all(f)) ? 0 : 1;
        ++inputs;
      }
    } else if (fs::is_regular_file(p, ec)) {
      const std::string bytes = read_all(p);
      failures += run_one(p, bytes) ? 0 : 1;
      ++inputs;
      for (int k = 1; k < truncations; ++k) {
        const std::size_t n = bytes.size() * static_cast<std::size_t>(k) / static_cast<std::size_t>(truncations);
        failures += run_one(p + " cut at " + std::to_string(n) + " bytes", bytes.substr(0, n)) ? 0 : 1;
        ++inputs;
      }
    } else {
      std::fprintf(stderr, "fuzz_onnx_replay: %s: no such file or directory\n", p.c_str());
      ++failures;
    }
  }
  std::printf("fuzz_onnx_replay: %d inputs, %d failures\n", inputs, failures);
  return failures ? 1 : 0;
}
