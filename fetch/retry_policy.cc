#include "fetch/retry_policy.h"

#include <thread>

namespace hfm {

bool IsRetryableHttpStatus(int status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

bool IsRetryableTransportError(const Status& status) { return status.IsUnavailable(); }

Duration BackoffFor(const RetryPolicy& policy, int retry) {
  if (retry < 0) retry = 0;
  if (retry > 16) retry = 16;  // keeps the shift far from overflow
  return policy.backoff_base * (int64_t{1} << retry);
}

bool SleepBeforeRetry(const RetryPolicy& policy, int retry, const Clock& clock, TimePoint deadline) {
  if (retry >= policy.max_retries) return false;
  const Duration wait = BackoffFor(policy, retry);
  if (clock.Now() + wait >= deadline) return false;
  if (wait > Duration::zero()) std::this_thread::sleep_for(wait);
  return true;
}

}  // namespace hfm
