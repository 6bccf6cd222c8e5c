// Runs `f`, which must throw a deeplab::Error with `code` whose message contains every needle; a
// gtest failure (naming `context`) otherwise. Shared by the importer tests.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <string>

#include "deeplab/error.h"

namespace deeplab::test {

inline void expect_error(const std::function<void()>& f, ErrorCode code, std::initializer_list<std::string> needles,
                         const std::string& context = "") {
  try {
    f();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(error_code_name(e.code()), std::string(error_code_name(code))) << context << ": " << message;
    for (const auto& needle : needles)
      EXPECT_NE(message.find(needle), std::string::npos)
          << context << ": message \"" << message << "\" does not mention \"" << needle << "\"";
    return;
  }
  ADD_FAILURE() << context << ": no deeplab::Error thrown (expected " << error_code_name(code) << ")";
}

}  // namespace deeplab::test
