#include "fetch/content_range.h"

#include <gtest/gtest.h>

#include <random>

namespace hfm {
namespace {

TEST(ContentRangeTest, ParsesRangeWithTotal) {
  auto r = ParseContentRange("bytes 0-499/1234");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->unsatisfied);
  EXPECT_EQ(r->first, 0u);
  EXPECT_EQ(r->last, 499u);
  ASSERT_TRUE(r->total);
  EXPECT_EQ(*r->total, 1234u);
}

TEST(ContentRangeTest, ParsesUnknownTotalAndUnsatisfied) {
  auto r = ParseContentRange("  Bytes 5-5/*  ");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 5u);
  EXPECT_FALSE(r->total);

  r = ParseContentRange("bytes */1234");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->unsatisfied);
  EXPECT_EQ(*r->total, 1234u);
}

TEST(ContentRangeTest, RefusesMalformed) {
  for (const char* bad : {"", "bytes", "bytes ", "items 0-1/2", "bytes 0-1", "bytes 1-0/5", "bytes 0-5/5",
                          "bytes */*", "bytes -1-2/3", "bytes 0--2/3", "bytes +0-1/3", "bytes 0-1/+3",
                          "bytes 0-1/3x", "bytes a-b/c", "bytes 0-99999999999999999999/*",
                          "bytes 0-1/99999999999999999999", "bytes0-1/3", "bytes 0 - 1/3", "bytes 0-1 /3"}) {
    EXPECT_FALSE(ParseContentRange(bad)) << bad;
  }
}

TEST(ContentRangeTest, RefusesNumbersThatCouldWrap) {
  EXPECT_FALSE(ParseContentRange("bytes 0-1/18446744073709551615"));
  EXPECT_TRUE(ParseContentRange("bytes 0-1/4611686018427387904"));  // 2^62
  EXPECT_FALSE(ParseContentRange("bytes 0-1/4611686018427387905"));
}

TEST(ContentRangeTest, SurvivesRandomInput) {
  std::mt19937 rng(7);
  const std::string alphabet = "bytes 0123456789-/*\t";
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 40, ' ');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    auto r = ParseContentRange(s);
    if (r && !r->unsatisfied) {
      EXPECT_LE(r->first, r->last);
      if (r->total) {
        EXPECT_LT(r->last, *r->total);
      }
    }
  }
}

}  // namespace
}  // namespace hfm
