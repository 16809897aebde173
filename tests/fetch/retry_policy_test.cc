#include "fetch/retry_policy.h"

#include <gtest/gtest.h>

namespace hfm {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

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
}

TEST(RetryPolicyTest, GivesUpWhenRetriesAreUsed) {
  RetryPolicy p;
  p.backoff_base = Duration::zero();
  FakeClock clock;
  const TimePoint deadline = clock.Now() + seconds(10);
  EXPECT_TRUE(SleepBeforeRetry(p, 0, clock, deadline));
  EXPECT_TRUE(SleepBeforeRetry(p, 2, clock, deadline));
  EXPECT_FALSE(SleepBeforeRetry(p, 3, clock, deadline));
}

TEST(RetryPolicyTest, NeverSleepsPastTheDeadline) {
  RetryPolicy p;  // 1 s base: returning false must be immediate, no sleep
  FakeClock clock;
  EXPECT_FALSE(SleepBeforeRetry(p, 0, clock, clock.Now() + milliseconds(999)));
  EXPECT_FALSE(SleepBeforeRetry(p, 2, clock, clock.Now() + seconds(3)));
  p.backoff_base = Duration::zero();
  EXPECT_FALSE(SleepBeforeRetry(p, 0, clock, clock.Now()));
}

}  // namespace
}  // namespace hfm
