#include "cli_args.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "deeplab/error.h"

namespace deeplab::tools {

Args::Args(int argc, char** argv, std::string usage) : usage_(std::move(usage)) {
  for (int k = 1; k < argc; ++k) {
    std::string a = argv[k];
    if (a == "--help" || a == "-h") {
      help_ = true;
      continue;
    }
    if (a.rfind("--", 0) != 0)
      throw Error(ErrorCode::kInvalidArgument, "unexpected argument '" + a + "'\nusage: " + usage_);
    const auto eq = a.find('=');
    if (eq != std::string::npos) {
      options_[a.substr(0, eq)] = a.substr(eq + 1);
    } else if (k + 1 < argc && std::string(argv[k + 1]).rfind("--", 0) != 0) {
      options_[a] = argv[++k];
    } else {
      flags_.insert(a);
    }
  }
  if (help_) {
    std::printf("usage: %s\n", usage_.c_str());
    std::exit(0);
  }
}

std::string Args::required(const std::string& key) {
  known_.insert(key);
  auto it = options_.find(key);
  if (it == options_.end()) throw Error(ErrorCode::kInvalidArgument, "missing " + key + "\nusage: " + usage_);
  return it->second;
}

std::string Args::value(const std::string& key, const std::string& def) {
  known_.insert(key);
  auto it = options_.find(key);
  return it == options_.end() ? def : it->second;
}

int Args::integer(const std::string& key, int def, int lo, int hi) {
  if (flag(key)) throw Error(ErrorCode::kInvalidArgument, key + " needs a value");
  const std::string v = value(key);
  if (v.empty()) return def;
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(v.c_str(), &end, 10);
  if (*end || end == v.c_str() || errno == ERANGE)
    throw Error(ErrorCode::kInvalidArgument, key + ": '" + v + "' is not an integer");
  if (n < lo || n > hi)
    throw Error(ErrorCode::kInvalidArgument,
                key + ": " + v + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
  return static_cast<int>(n);
}

double Args::real(const std::string& key, double def, double lo, double hi) {
  if (flag(key)) throw Error(ErrorCode::kInvalidArgument, key + " needs a value");
  const std::string v = value(key);
  if (v.empty()) return def;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (*end || end == v.c_str() || std::isnan(x))
    throw Error(ErrorCode::kInvalidArgument, key + ": '" + v + "' is not a number");
  if (x < lo || x > hi) {
    char range[64];
    std::snprintf(range, sizeof range, "%g..%g", lo, hi);
    throw Error(ErrorCode::kInvalidArgument, key + ": " + v + " is out of range " + range);
  }
  return x;
}

bool Args::flag(const std::string& key) {
  known_.insert(key);
  return flags_.count(key) != 0;
}

bool Args::size(const std::string& key, int& width, int& height) {
  const std::string v = value(key);
  if (v.empty()) return false;
  if (std::sscanf(v.c_str(), "%dx%d", &width, &height) != 2 || width <= 0 || height <= 0 || width > 16384 ||
      height > 16384)
    throw Error(ErrorCode::kInvalidArgument, key + ": '" + v + "' is not a size like 520x520");
  return true;
}

void Args::finish() {
  for (const auto& [key, v] : options_)
    if (!known_.count(key)) throw Error(ErrorCode::kInvalidArgument, "unknown option " + key + "\nusage: " + usage_);
  for (const auto& key : flags_)
    if (!known_.count(key)) throw Error(ErrorCode::kInvalidArgument, "unknown option " + key + " (or it needs a value)\nusage: " + usage_);
}

bool environment_flag(const char* name, bool fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return *v != '0';
}

namespace {

std::string environment_text(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

ModelSearch model_search_from_environment() {
  ModelSearch search;
  search.manifest_dir = environment_text("DEEPLAB_MODEL_DIR");
  search.cache_dir = environment_text("DEEPLAB_MODEL_CACHE");
  return search;
}

int run_tool(const char* tool, const std::function<int()>& body, const int* failure_code) {
  const auto failed = [&] { return failure_code ? *failure_code : 2; };
  try {
    return body();
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: %s\n", tool, e.what());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: out of memory (the input or the options need more memory than this process can have; "
                         "try a smaller --crf-scale / --crf-max-pixels or a smaller input)\n", tool);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", tool, e.what());
  }
  return failed();
}

}  // namespace deeplab::tools
