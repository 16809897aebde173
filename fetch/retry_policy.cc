#include "fetch/retry_policy.h"

#include <algorithm>
#include <random>

namespace hfm {

bool IsRetryableHttpStatus(int status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

bool IsRetryableTransportError(const Status& status) { return status.IsUnavailable(); }

Duration BackoffFor(const RetryPolicy& policy, int retry) {
  if (retry < 0) retry = 0;
  if (retry > 16) retry = 16;  // keeps the shift far from overflow
  return std::max(policy.backoff_base, Duration::zero()) * (int64_t{1} << retry);
}

Duration Jitter(Duration d, uint64_t random) {
  if (d <= Duration::zero()) return Duration::zero();
  const auto half = static_cast<uint64_t>(d.count() / 2);
  const uint64_t spread = static_cast<uint64_t>(d.count()) - half;  // d - d/2, so the top is d itself
  return Duration(static_cast<Duration::rep>(half + random % (spread + 1)));
}

std::optional<Duration> RetryWait(const RetryPolicy& policy, int retry, uint64_t random,
                                  std::optional<Duration> server_wait, TimePoint now, TimePoint deadline) {
  if (retry >= policy.max_retries) return std::nullopt;
  Duration wait = Jitter(BackoffFor(policy, retry), random);
  if (server_wait) wait = std::max(wait, *server_wait);
  if (now >= deadline || wait >= deadline - now) return std::nullopt;
  return wait;
}

JitterSource::JitterSource(uint64_t seed)
    : state_(seed != 0 ? seed : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()) {}

uint64_t JitterSource::Next() {
  // splitmix64 (Steele, Lea, Flood): a counter through a strong mixer.
  uint64_t z = state_.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed) + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace hfm
