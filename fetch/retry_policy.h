// RetryPolicy: when a failed Hub exchange is worth repeating, and how long to
// wait first. The Hub asks clients to retry 408, 429 and 5xx with exponential
// backoff (1, 2, 4 s). Each wait is jittered (a uniform pick in [d/2, d]) so
// that many readers failing together do not come back together, and a
// server's own answer (Retry-After, RateLimit) is honoured as a minimum. A
// retry must never run past the caller's deadline, so a wait that would end
// after it is not taken at all (the caller fails now instead of sleeping into
// a certain DeadlineExceeded).
//
// The functions only compute waits; the caller sleeps through
// HttpTransport::WaitFor, so a shutdown can cut the sleep short and tests
// can run it on a FakeClock.
//
// Thread safety: RetryPolicy is an immutable value; the functions are pure;
// JitterSource::Next may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "util/clock.h"
#include "util/status.h"

namespace hfm {

struct RetryPolicy {
  int max_retries = 3;                              // attempts = 1 + max_retries
  Duration backoff_base = std::chrono::seconds(1);  // waits up to base, 2*base, 4*base...
};

// 408, 429 and every 5xx.
bool IsRetryableHttpStatus(int status);

// Transport failures that may heal: Unavailable (connect, reset, truncated).
// DeadlineExceeded is not: the time is spent.
bool IsRetryableTransportError(const Status& status);

// The longest wait before retry number `retry` (0-based): backoff_base *
// 2^retry, without jitter.
Duration BackoffFor(const RetryPolicy& policy, int retry);

// A wait in [d/2, d] chosen by `random` (any 64-bit value, uniform).
Duration Jitter(Duration d, uint64_t random);

// The wait before retry number `retry`: Jitter(BackoffFor(policy, retry)),
// raised to `server_wait` when the server asked for longer. nullopt when the
// retries are used up or when `now` plus the wait would reach `deadline`.
std::optional<Duration> RetryWait(const RetryPolicy& policy, int retry, uint64_t random,
                                  std::optional<Duration> server_wait, TimePoint now, TimePoint deadline);

// Well-mixed 64-bit values for jitter: splitmix64 over a counter. The same
// seed gives the same sequence, so tests are repeatable; seed 0 draws one
// from std::random_device.
class JitterSource {
 public:
  explicit JitterSource(uint64_t seed);
  uint64_t Next();

 private:
  std::atomic<uint64_t> state_;
};

}  // namespace hfm
