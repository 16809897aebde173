#include "fetch/etag.h"

#include <gtest/gtest.h>

namespace hfm {
namespace {

TEST(EtagTest, StripsWeakPrefixAndQuotes) {
  EXPECT_EQ(NormalizeEtag("\"abc123\""), "abc123");
  EXPECT_EQ(NormalizeEtag("W/\"abc123\""), "abc123");
  EXPECT_EQ(NormalizeEtag("w/\"abc123\""), "abc123");
  EXPECT_EQ(NormalizeEtag("  W/ \"abc\"  "), "abc");
  EXPECT_EQ(NormalizeEtag("abc"), "abc");
}

TEST(EtagTest, OddInputsStaySafe) {
  EXPECT_EQ(NormalizeEtag(""), "");
  EXPECT_EQ(NormalizeEtag("\""), "\"");
  EXPECT_EQ(NormalizeEtag("\"\""), "");
  EXPECT_EQ(NormalizeEtag("W/"), "");
  EXPECT_EQ(NormalizeEtag("\"abc"), "\"abc");
}

}  // namespace
}  // namespace hfm
