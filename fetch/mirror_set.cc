#include "fetch/mirror_set.h"

#include <algorithm>
#include <utility>

namespace hfm {
namespace {

// Tally messages are kept for stats, not logs; a cap keeps them small.
constexpr size_t kMaxLastErrorBytes = 500;

uint64_t Bit(size_t i) { return uint64_t{1} << i; }

std::string TrimSlashes(std::string e) {
  while (!e.empty() && e.back() == '/') e.pop_back();
  return e;
}

}  // namespace

MountEndpoints MakeMountEndpoints(const HubClientOptions& options, const char* default_endpoint) {
  MountEndpoints out;
  std::vector<std::string>& endpoints = out.endpoints;
  for (const std::string& given : options.endpoints) {
    std::string e = TrimSlashes(given);
    if (e.empty() || std::find(endpoints.begin(), endpoints.end(), e) != endpoints.end()) continue;
    endpoints.push_back(std::move(e));
  }
  if (endpoints.empty()) endpoints.push_back(TrimSlashes(options.endpoint.empty() ? default_endpoint : options.endpoint));
  out.configured = endpoints.size();
  if (const std::string trusted = TrimSlashes(options.trusted_endpoint); !trusted.empty()) {
    const auto found = std::find(endpoints.begin(), endpoints.end(), trusted);
    out.trusted = static_cast<size_t>(found - endpoints.begin());
    if (found == endpoints.end()) endpoints.push_back(trusted);  // metadata only
  }
  if (endpoints.size() > kMaxMirrorEndpoints) {
    out.status = Status::InvalidArgument(std::to_string(endpoints.size()) + " endpoints; at most " +
                                         std::to_string(kMaxMirrorEndpoints) + " are supported");
    endpoints.resize(kMaxMirrorEndpoints);
    out.configured = std::min(out.configured, kMaxMirrorEndpoints);
    out.trusted.reset();
  }
  return out;
}

MirrorSet::MirrorSet(std::vector<std::string> endpoints, const Clock* clock, const MirrorSetOptions& options)
    : endpoints_(std::move(endpoints)),
      clock_(clock),
      options_(options),
      jitter_(options.jitter_seed),
      states_(endpoints_.size()),
      skipped_(options.memory_capacity, options.forget_after, clock),
      served_(options.memory_capacity, Duration::zero(), clock),
      demoted_(options.memory_capacity, options.forget_after, clock) {}

Route MirrorSet::Order(const RouteKey& key) {
  const TimePoint now = clock_->Now();
  const auto kind = static_cast<size_t>(key.kind);
  MutexLock lock(&mu_);
  Route route;
  std::vector<size_t> open, fresh;  // not blocked; of those, not skipped
  for (size_t i = 0; i < states_.size(); ++i) {
    if (!(key.allowed & Bit(i))) continue;
    TimePoint unblock = states_[i].not_before[kind];
    if (key.kind == RequestKind::kFile && !(key.located & Bit(i))) {
      unblock = std::max(unblock, states_[i].not_before[static_cast<size_t>(RequestKind::kResolve)]);
    }
    if (unblock > now) {
      route.blocked.emplace_back(i, unblock);
      continue;
    }
    open.push_back(i);
    const bool skipped = (!key.commit_key.empty() && skipped_.Get(SkipKey(i, key.commit_key))) ||
                         (!key.file_key.empty() && skipped_.Get(SkipKey(i, key.file_key)));
    if (!skipped) fresh.push_back(i);
  }
  // When every open endpoint was skipped, the memory may be stale (a
  // mirror caught up): ask them all rather than nobody.
  route.order = fresh.empty() ? std::move(open) : std::move(fresh);
  const uint64_t demoted = key.file_key.empty() ? 0 : demoted_.Get(key.file_key).value_or(0);
  auto tier = [&](size_t i) REQUIRES(mu_) {
    return ((demoted & Bit(i)) ? 2 : 0) + (states_[i].backoff_until > now ? 1 : 0);
  };
  std::stable_sort(route.order.begin(), route.order.end(), [&](size_t a, size_t b) REQUIRES(mu_) { return tier(a) < tier(b); });
  return route;
}

void MirrorSet::OnAttempt(size_t i) {
  MutexLock lock(&mu_);
  ++states_[i].attempts;
}

void MirrorSet::OnSuccess(size_t i) {
  MutexLock lock(&mu_);
  states_[i].consecutive_failures = 0;
  states_[i].backoff_until = TimePoint();
}

void MirrorSet::OnFailure(size_t i, const Status& status, RequestKind kind, std::optional<Duration> server_wait) {
  const TimePoint now = clock_->Now();
  MutexLock lock(&mu_);
  State& s = states_[i];
  ++s.failures;
  s.last_error = status.ToString().substr(0, kMaxLastErrorBytes);
  if (kind == RequestKind::kResolve && server_wait) {
    TimePoint& block = s.not_before[static_cast<size_t>(kind)];
    block = std::max(block, now + *server_wait);
    return;
  }
  s.consecutive_failures = std::min(s.consecutive_failures + 1, 30);
  RetryPolicy doubling;
  doubling.backoff_base = options_.backoff_base;
  const Duration ceiling = std::min(BackoffFor(doubling, s.consecutive_failures - 1), options_.backoff_max);
  s.backoff_until = now + Jitter(ceiling, jitter_.Next());
  if (server_wait) {
    TimePoint& block = s.not_before[static_cast<size_t>(kind)];
    block = std::max(block, now + *server_wait);
  }
}

void MirrorSet::OnMissing(size_t i, const std::string& key, const Status& status) {
  MutexLock lock(&mu_);
  ++states_[i].failures;
  states_[i].last_error = status.ToString().substr(0, kMaxLastErrorBytes);
  skipped_.Put(SkipKey(i, key), true);
}

void MirrorSet::OnServed(size_t i, const std::string& file_key, uint64_t bytes) {
  MutexLock lock(&mu_);
  states_[i].bytes += bytes;
  served_.Put(file_key, served_.Get(file_key).value_or(0) | Bit(i));
}

std::vector<size_t> MirrorSet::ReportCorrupt(const std::string& file_key, const std::string& what) {
  MutexLock lock(&mu_);
  const uint64_t served = served_.Get(file_key).value_or(0);
  served_.Erase(file_key);
  std::vector<size_t> culprits;
  for (size_t i = 0; i < states_.size(); ++i) {
    if (!(served & Bit(i))) continue;
    culprits.push_back(i);
    ++states_[i].failures;
    states_[i].last_error = ("served bytes of " + what + " that failed verification").substr(0, kMaxLastErrorBytes);
  }
  const uint64_t all = (states_.size() >= 64 ? ~uint64_t{0} : Bit(states_.size()) - 1) & ~options_.metadata_only;
  const uint64_t demoted = demoted_.Get(file_key).value_or(0) | served;
  if ((demoted & all) == all) {
    demoted_.Erase(file_key);  // every endpoint served bad bytes once: start over
  } else if (demoted != 0) {
    demoted_.Put(file_key, demoted);
  }
  return culprits;
}

std::vector<EndpointStats> MirrorSet::Stats() const {
  const TimePoint now = clock_->Now();
  MutexLock lock(&mu_);
  std::vector<EndpointStats> out;
  for (size_t i = 0; i < states_.size(); ++i) {
    const State& s = states_[i];
    EndpointStats e;
    e.endpoint = endpoints_[i];
    e.requests = s.attempts;
    e.failures = s.failures;
    e.bytes = s.bytes;
    e.last_error = s.last_error;
    const TimePoint limited_until = std::max({s.not_before[0], s.not_before[1], s.not_before[2]});
    if (limited_until > now) {
      e.state = "rate-limited";
      e.rate_limited_for = limited_until - now;
    } else if (s.backoff_until > now) {
      e.state = "backing-off";
    } else {
      e.state = "healthy";
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace hfm
