#include "fetch/link_header.h"

#include <gtest/gtest.h>

#include <random>

namespace hfm {
namespace {

TEST(LinkHeaderTest, FindsQuotedNext) {
  EXPECT_EQ(ParseNextLink("<https://h/api/models/x/tree/c?recursive=true&cursor=XYZ>; rel=\"next\""),
            "https://h/api/models/x/tree/c?recursive=true&cursor=XYZ");
}

TEST(LinkHeaderTest, FindsBareAndMixedCaseRel) {
  EXPECT_EQ(ParseNextLink("</p2>;rel=next"), "/p2");
  EXPECT_EQ(ParseNextLink("</p2> ; REL = \"NeXt\""), "/p2");
}

TEST(LinkHeaderTest, PicksNextAmongSeveralLinks) {
  EXPECT_EQ(ParseNextLink("</first>; rel=\"first\", </prev>; rel=\"prev\", </n?a=1,2>; title=\"x, y; z\"; rel=\"next\""),
            "/n?a=1,2");
}

TEST(LinkHeaderTest, RelListWithSeveralTypes) {
  EXPECT_EQ(ParseNextLink("</n>; rel=\"prefetch next\""), "/n");
  EXPECT_FALSE(ParseNextLink("</n>; rel=\"nextpage\""));
}

TEST(LinkHeaderTest, OnlyFirstRelCounts) {
  EXPECT_FALSE(ParseNextLink("</n>; rel=\"prev\"; rel=\"next\""));
}

TEST(LinkHeaderTest, NoNext) {
  EXPECT_FALSE(ParseNextLink(""));
  EXPECT_FALSE(ParseNextLink("</a>; rel=\"prev\""));
  EXPECT_FALSE(ParseNextLink("</a>"));
  EXPECT_FALSE(ParseNextLink("rel=next"));
}

TEST(LinkHeaderTest, SkipsMalformedPartsAndFindsLaterNext) {
  EXPECT_EQ(ParseNextLink("garbage \"quoted, still\" , </n>; rel=next"), "/n");
  EXPECT_EQ(ParseNextLink("</a> junk; rel=next, </b>; rel=next"), "/b");
  EXPECT_FALSE(ParseNextLink("</unterminated; rel=next"));
  // An unterminated quoted value runs to the end of the header.
  EXPECT_EQ(ParseNextLink("</a>; rel=\"next"), "/a");
}

TEST(LinkHeaderTest, SurvivesRandomInput) {
  std::mt19937 rng(42);
  const std::string alphabet = "<>;,=\" \\\tnextrl/a";
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 64, ' ');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    (void)ParseNextLink(s);
  }
}

}  // namespace
}  // namespace hfm
