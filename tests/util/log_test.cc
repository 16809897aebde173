#include "util/log.h"

#include <gtest/gtest.h>

#include <string>

namespace hfm {
namespace {

// A file name from a hostile listing, logged by a caller that forgot to
// escape it: it must not start a line of its own nor reach the terminal raw.
TEST(LogTest, ControlCharactersCannotForgeALineOrReachTheTerminal) {
  testing::internal::CaptureStderr();
  LogWarning("cannot read \"x\n2026-01-01T00:00:00.000Z ERROR hfmirror: forged\x1b[2J\xc2\x9b\xff\"");
  const std::string out = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;  // one line
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_EQ(out.find("\xc2\x9b"), std::string::npos) << out;
  EXPECT_EQ(out.find('\xff'), std::string::npos) << out;
  EXPECT_NE(out.find("x\\x0a2026-01-01T00:00:00.000Z ERROR hfmirror: forged\\x1b[2J\\xc2\\x9b\\xff"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace hfm
