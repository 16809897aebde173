#include "fetch/retry_policy.h"

#include <gtest/gtest.h>

#include <set>

namespace hfm {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The random value that makes Jitter(d) return d itself.
uint64_t TopOf(Duration d) { return static_cast<uint64_t>(d.count() - d.count() / 2); }

TEST(RetryPolicyTest, RetryableStatuses) {
  for (int s : {408, 429, 500, 502, 503, 504, 599}) EXPECT_TRUE(IsRetryableHttpStatus(s)) << s;
  for (int s : {200, 206, 302, 400, 401, 403, 404, 416, 600}) EXPECT_FALSE(IsRetryableHttpStatus(s)) << s;
  EXPECT_TRUE(IsRetryableTransportError(Status::Unavailable("reset")));
  EXPECT_FALSE(IsRetryableTransportError(Status::DeadlineExceeded("late")));
}

TEST(RetryPolicyTest, BackoffDoubles) {
  RetryPolicy p;
  EXPECT_EQ(BackoffFor(p, 0), seconds(1));
  EXPECT_EQ(BackoffFor(p, 1), seconds(2));
  EXPECT_EQ(BackoffFor(p, 2), seconds(4));
  EXPECT_EQ(BackoffFor(p, 1000), BackoffFor(p, 16));  // no overflow
}

TEST(RetryPolicyTest, JitterStaysInTheUpperHalfAndSpreads) {
  JitterSource random(42);
  std::set<Duration::rep> seen;
  for (int k = 0; k < 1000; ++k) {
    const Duration d = Jitter(seconds(4), random.Next());
    ASSERT_GE(d, seconds(2));
    ASSERT_LE(d, seconds(4));
    seen.insert(d.count());
  }
  EXPECT_GT(seen.size(), 900u);  // not a constant
  EXPECT_EQ(Jitter(seconds(4), 0), seconds(2));
  EXPECT_EQ(Jitter(seconds(4), TopOf(seconds(4))), seconds(4));
  EXPECT_EQ(Jitter(Duration(1), 1), Duration(1));
  EXPECT_EQ(Jitter(Duration::zero(), 123), Duration::zero());
  EXPECT_EQ(Jitter(-seconds(1), 123), Duration::zero());
}

TEST(RetryPolicyTest, JitterSourceIsRepeatablePerSeed) {
  JitterSource a(7), b(7), c(8);
  const uint64_t a1 = a.Next();
  EXPECT_EQ(a1, b.Next());
  EXPECT_NE(a1, c.Next());
  EXPECT_NE(a1, a.Next());
}

TEST(RetryPolicyTest, GivesUpWhenRetriesAreUsed) {
  RetryPolicy p;
  p.backoff_base = Duration::zero();
  FakeClock clock;
  const TimePoint deadline = clock.Now() + seconds(10);
  EXPECT_EQ(RetryWait(p, 0, 1, std::nullopt, clock.Now(), deadline), Duration::zero());
  EXPECT_EQ(RetryWait(p, 2, 1, std::nullopt, clock.Now(), deadline), Duration::zero());
  EXPECT_FALSE(RetryWait(p, 3, 1, std::nullopt, clock.Now(), deadline));
}

TEST(RetryPolicyTest, NeverWaitsPastTheDeadline) {
  RetryPolicy p;  // 1 s base: the shortest jittered wait is 500 ms
  FakeClock clock;
  EXPECT_FALSE(RetryWait(p, 0, 0, std::nullopt, clock.Now(), clock.Now() + milliseconds(500)));
  EXPECT_TRUE(RetryWait(p, 0, 0, std::nullopt, clock.Now(), clock.Now() + milliseconds(501)));
  EXPECT_FALSE(RetryWait(p, 2, TopOf(seconds(4)), std::nullopt, clock.Now(), clock.Now() + seconds(4)));
  p.backoff_base = Duration::zero();
  EXPECT_FALSE(RetryWait(p, 0, 0, std::nullopt, clock.Now(), clock.Now()));
}

TEST(RetryPolicyTest, ServerWaitIsAMinimum) {
  RetryPolicy p;
  FakeClock clock;
  const TimePoint deadline = clock.Now() + seconds(60);
  EXPECT_EQ(RetryWait(p, 0, 0, seconds(42), clock.Now(), deadline), seconds(42));
  // A shorter server wait does not cut our own backoff.
  EXPECT_EQ(RetryWait(p, 2, TopOf(seconds(4)), seconds(1), clock.Now(), deadline), seconds(4));
  // A server wait past the deadline: fail now rather than sleep into it.
  EXPECT_FALSE(RetryWait(p, 0, 0, seconds(60), clock.Now(), deadline));
}

}  // namespace
}  // namespace hfm
