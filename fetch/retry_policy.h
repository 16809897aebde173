// RetryPolicy: when a failed Hub exchange is worth repeating, and how long to
// wait first. The Hub asks clients to retry 408, 429 and 5xx with exponential
// backoff (1, 2, 4 s); a retry must never run past the caller's deadline, so
// a wait that would end after it is not taken at all (the caller fails now
// instead of sleeping into a certain DeadlineExceeded).
//
// Thread safety: a RetryPolicy is an immutable value; SleepBeforeRetry may be
// called from any thread.
#pragma once

#include "util/clock.h"
#include "util/status.h"

namespace hfm {

struct RetryPolicy {
  int max_retries = 3;                         // attempts = 1 + max_retries
  Duration backoff_base = std::chrono::seconds(1);  // waits base, 2*base, 4*base...
};

// 408, 429 and every 5xx.
bool IsRetryableHttpStatus(int status);

// Transport failures that may heal: Unavailable (connect, reset, truncated).
// DeadlineExceeded is not: the time is spent.
bool IsRetryableTransportError(const Status& status);

// The wait before retry number `retry` (0-based): backoff_base * 2^retry.
Duration BackoffFor(const RetryPolicy& policy, int retry);

// Waits BackoffFor(policy, retry) on the real clock and returns true, or
// returns false at once when retries are used up or when `clock`'s now plus
// the wait would reach `deadline`. A zero backoff never sleeps (tests).
bool SleepBeforeRetry(const RetryPolicy& policy, int retry, const Clock& clock, TimePoint deadline);

}  // namespace hfm
