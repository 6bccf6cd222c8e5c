// The engine's log (deeplab/log.h): messages reach the installed callback, one at a time from any
// thread; an empty callback restores the default.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "deeplab/log.h"

using namespace deeplab;

TEST(Log, MessagesReachTheCallbackAndTheDefaultComesBack) {
  std::vector<std::string> seen;
  set_log_callback([&](LogLevel level, const std::string& message) {
    seen.push_back(std::string(log_level_name(level)) + " " + message);
  });
  log_message(LogLevel::kInfo, "one");
  log_message(LogLevel::kWarning, "two");
  set_log_callback(nullptr);
  log_message(LogLevel::kDebug, "not seen: the default prints nothing at debug level");
  EXPECT_EQ(seen, (std::vector<std::string>{"info one", "warning two"}));
}

TEST(Log, CallsFromSeveralThreadsNeverOverlap) {
  int inside = 0, most_inside = 0, calls = 0;
  set_log_callback([&](LogLevel, const std::string&) {
    most_inside = std::max(most_inside, ++inside);
    ++calls;
    --inside;
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([] {
      for (int k = 0; k < 1000; ++k) log_message(LogLevel::kDebug, "x");
    });
  for (auto& t : threads) t.join();
  set_log_callback(nullptr);
  EXPECT_EQ(calls, 4000);
  EXPECT_EQ(most_inside, 1);
}
