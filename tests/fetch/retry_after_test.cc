#include "fetch/retry_after.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace hfm {
namespace {

using std::chrono::seconds;

// 1994-11-06 08:49:37 UTC, the RFC's example date.
constexpr int64_t kRfcDate = 784111777;

TEST(RetryAfterTest, DeltaSeconds) {
  EXPECT_EQ(ParseRetryAfter("120", 0), seconds(120));
  EXPECT_EQ(ParseRetryAfter("  0 ", 0), seconds(0));
  EXPECT_EQ(ParseRetryAfter("007", 0), seconds(7));
}

TEST(RetryAfterTest, HugeValuesAreCapped) {
  EXPECT_EQ(ParseRetryAfter("3600", 0), kMaxServerWait);
  EXPECT_EQ(ParseRetryAfter("99999999999999999999999999999999", 0), kMaxServerWait);
}

TEST(RetryAfterTest, HttpDatesInAllThreeForms) {
  const int64_t now = kRfcDate - 30;
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now), seconds(30));
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now), seconds(30));
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:37 1994", now), seconds(30));
  EXPECT_EQ(ParseRetryAfter("sun, 06 nov 1994 08:49:37 gmt", now), seconds(30));
  // A date in the past: no wait. One far ahead: the cap.
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", kRfcDate + 100), seconds(0));
  EXPECT_EQ(ParseRetryAfter("Fri, 01 Jan 2100 00:00:00 GMT", now), kMaxServerWait);
  // Leap years and month lengths come out right.
  EXPECT_EQ(ParseRetryAfter("Thu, 29 Feb 2024 00:00:10 GMT", 1709164800), seconds(10));
  EXPECT_EQ(ParseRetryAfter("Thu, 01 Jan 1970 00:00:05 GMT", 0), seconds(5));
}

TEST(RetryAfterTest, GarbageIsNotAWait) {
  for (const char* bad : {"", " ", "-5", "1.5", "12abc", "soon", "Sun, 06 Nov 1994", "Sun, 32 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
                          "Sun, 06 Nov 1994 08:49:37 PST", "06 Nov 1994 08:49 GMT", "Sun, 06 Nov 1994 8:49:37:1 GMT",
                          "Nov Nov 06 1994 08:49:37", "Sun, 06 Nov 19940 08:49:37 GMT"}) {
    EXPECT_FALSE(ParseRetryAfter(bad, kRfcDate)) << bad;
  }
}

TEST(RateLimitTest, TheHubsForm) {
  EXPECT_EQ(ParseRateLimit("\"api\";r=0;t=42"), seconds(42));
  EXPECT_EQ(ParseRateLimit("\"api\"; r=0; t=42"), seconds(42));
  EXPECT_EQ(ParseRateLimit("api;r=0;t=42"), seconds(42));
  EXPECT_EQ(ParseRateLimit("r=0;t=42"), seconds(42));
  EXPECT_EQ(ParseRateLimit("\"api\";R=0;T=42"), seconds(42));
}

TEST(RateLimitTest, SeveralPolicies) {
  // Every exhausted policy must reset before a request can pass: the longest.
  EXPECT_EQ(ParseRateLimit("\"a\";r=0;t=10, \"b\";r=0;t=50, \"c\";r=9;t=100"), seconds(50));
  // None exhausted: the soonest reset.
  EXPECT_EQ(ParseRateLimit("\"a\";r=3;t=10, \"b\";r=1;t=5"), seconds(5));
  // A quoted name may hold separators.
  EXPECT_EQ(ParseRateLimit("\"x,y;t=1\";r=0;t=30"), seconds(30));
  // Policies without a usable t are ignored.
  EXPECT_EQ(ParseRateLimit("\"a\";r=0, \"b\";r=0;t=-3, \"c\";r=5;t=8"), seconds(8));
}

TEST(RateLimitTest, OlderDictionaryForm) {
  EXPECT_EQ(ParseRateLimit("limit=500, remaining=0, reset=42"), seconds(42));
  EXPECT_EQ(ParseRateLimit("limit=500, remaining=3, reset=7"), seconds(7));
}

TEST(RateLimitTest, CappedAndGarbage) {
  EXPECT_EQ(ParseRateLimit("\"api\";r=0;t=100000000000000000000000"), kMaxServerWait);
  for (const char* bad : {"", "api", "\"api\";r=0", "\"api\";t=", "\"api\";t=1.5", "\"unterminated;t=4", ";;;,,,"}) {
    EXPECT_FALSE(ParseRateLimit(bad)) << bad;
  }
}

TEST(ServerRequestedWaitTest, OnlyFor429And503TakingTheLonger) {
  HttpResponseHead head;
  head.status = 429;
  head.headers = {{"retry-after", "5"}, {"ratelimit", "\"api\";r=0;t=42"}};
  EXPECT_EQ(ServerRequestedWait(head, 0), seconds(42));
  head.headers = {{"retry-after", "50"}, {"ratelimit", "\"api\";r=0;t=42"}};
  EXPECT_EQ(ServerRequestedWait(head, 0), seconds(50));
  // Two RateLimit lines are one list.
  head.headers = {{"ratelimit", "\"a\";r=0;t=4"}, {"ratelimit", "\"b\";r=0;t=9"}};
  EXPECT_EQ(ServerRequestedWait(head, 0), seconds(9));
  head.headers = {{"retry-after", "garbage"}};
  EXPECT_FALSE(ServerRequestedWait(head, 0));
  head.status = 503;
  head.headers = {{"retry-after", "3"}};
  EXPECT_EQ(ServerRequestedWait(head, 0), seconds(3));
  head.status = 500;
  EXPECT_FALSE(ServerRequestedWait(head, 0));
}

// Random bytes and mutations of valid values: never a crash, never a wait
// outside [0, kMaxServerWait]. (A libFuzzer target would do this better;
// this keeps the property in the unit suite.)
TEST(RetryAfterTest, AnyInputGivesABoundedAnswer) {
  std::mt19937_64 random(20240601);
  const std::string seeds[] = {"Sun, 06 Nov 1994 08:49:37 GMT", "\"api\";r=0;t=42, \"b\";r=1;t=9", "120",
                               "limit=5, remaining=0, reset=3", "Sun Nov  6 08:49:37 1994"};
  const std::string alphabet = "0123456789 ,;:=-\"\\tTrRGMTSunNov\t\x01\xff";
  for (int k = 0; k < 20000; ++k) {
    std::string s = seeds[random() % 5];
    const int edits = static_cast<int>(random() % 6);
    for (int e = 0; e < edits; ++e) {
      const size_t at = s.empty() ? 0 : random() % (s.size() + 1);
      const char c = alphabet[random() % alphabet.size()];
      switch (random() % 3) {
        case 0: s.insert(s.begin() + static_cast<long>(at), c); break;
        case 1: if (at < s.size()) s.erase(at, 1); break;
        default: if (at < s.size()) s[at] = c; break;
      }
    }
    if (k % 10 == 0) {
      s.resize(random() % 100);
      for (char& c : s) c = static_cast<char>(random());
    }
    for (const auto& d : {ParseRetryAfter(s, kRfcDate), ParseRateLimit(s)}) {
      if (!d) continue;
      ASSERT_GE(*d, Duration::zero()) << s;
      ASSERT_LE(*d, kMaxServerWait) << s;
    }
  }
}

}  // namespace
}  // namespace hfm
