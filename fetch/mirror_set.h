// MirrorSet: the ordered endpoints of one mount (the Hub and its mirrors,
// highest priority first) and what experience taught about each, so every
// request can be routed to the best one (CVMFS's model, LESSONS.md):
//
//  - Health. An endpoint that failed (network error, timeout, 5xx, 429, a
//    body cut short or malformed) backs off: it goes behind the healthy ones
//    for a jittered, doubling while (base, 2*base, ... capped), and a success
//    makes it healthy again. So traffic leaves a failing primary at once and
//    returns to it when its backoff ends and it answers again.
//  - Server-requested waits. A 429/503 with Retry-After or RateLimit blocks
//    the endpoint for that long, per kind of request (the Hub counts API calls
//    and file resolutions in separate buckets): nothing is sent to it before.
//  - Missing things. A mirror that answered RevisionNotFound for a commit (it
//    lags) or 404 for a file the listing has is skipped for that commit or file
//    for a while (bounded memory, forgotten after `forget_after`), unless
//    every endpoint is skipped, when all are tried again.
//  - Corrupt bytes. The endpoints that served ranges of a file recently are
//    remembered; when the file fails verification they are demoted for that
//    file (tried last). Once every endpoint has been demoted for it, the
//    demotions are dropped and the order starts over from the primary.
//  - Who may answer. A request may be restricted to some endpoints (with a
//    trusted endpoint, metadata goes only to it, and bytes never go to it
//    unless it is also a configured mirror).
//  - A tally per endpoint (attempts, failures, file bytes, last error,
//    state) for stats.
//
// Thread safety: all methods are thread-safe (one mutex, held briefly, never
// across I/O).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fetch/bounded_lru.h"
#include "fetch/hub_client.h"
#include "fetch/retry_policy.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/status.h"

namespace hfm {

// The most endpoints one set holds (per-file memories are 64-bit masks).
inline constexpr size_t kMaxMirrorEndpoints = 64;

// Requests the Hub rate-limits separately: /api calls and file bytes; and
// within file bytes, /resolve alone (a 429 there leaves the CDN locations it
// signed before usable).
enum class RequestKind { kApi = 0, kFile = 1, kResolve = 2 };

struct MirrorSetOptions {
  Duration backoff_base = std::chrono::seconds(1);
  Duration backoff_max = std::chrono::seconds(60);
  Duration forget_after = std::chrono::minutes(10);  // lagging commits, missing files, demotions
  size_t memory_capacity = 4096;                     // entries per memory
  uint64_t jitter_seed = 0;                          // 0 = random
  // Endpoints that answer metadata only and never serve file bytes (bit i =
  // endpoint i): a file counts as demoted everywhere without them.
  uint64_t metadata_only = 0;
};

// What a request touches, for the per-commit and per-file memories.
struct RouteKey {
  RequestKind kind = RequestKind::kApi;
  std::string commit_key;  // "" = none (resolving a branch)
  std::string file_key;    // "" = not a file
  uint64_t allowed = ~uint64_t{0};  // bit i set: endpoint i may be asked
  // kFile: bit i set: endpoint i holds this file's location, so a wait on
  // its resolves does not hold this request back.
  uint64_t located = 0;
};

struct Route {
  // Endpoints to try, best first: healthy before backing off, demoted (for
  // this file) last, priority order within each. Leaves out endpoints under
  // a server-requested wait, and skipped ones unless all are skipped, and
  // every endpoint the key does not allow.
  std::vector<size_t> order;
  // The endpoints left out because of a server-requested wait, with its end.
  std::vector<std::pair<size_t, TimePoint>> blocked;
};

// The endpoints of one HubClient: the configured ones (trailing '/' trimmed,
// empty and repeated ones dropped; `default_endpoint` when none), then the
// trusted endpoint when it is not one of them (it answers metadata only).
struct MountEndpoints {
  std::vector<std::string> endpoints;
  size_t configured = 0;          // endpoints[0, configured) serve bytes
  std::optional<size_t> trusted;  // the trusted endpoint's index, if any
  Status status;                  // InvalidArgument past kMaxMirrorEndpoints (then cut to it)
};
MountEndpoints MakeMountEndpoints(const HubClientOptions& options, const char* default_endpoint);

class MirrorSet {
 public:
  // REQUIRES: 1 <= endpoints.size() <= kMaxMirrorEndpoints. `clock` is
  // borrowed and must outlive the set.
  MirrorSet(std::vector<std::string> endpoints, const Clock* clock, const MirrorSetOptions& options);
  MirrorSet(const MirrorSet&) = delete;
  MirrorSet& operator=(const MirrorSet&) = delete;

  size_t size() const { return endpoints_.size(); }
  const std::string& endpoint(size_t i) const { return endpoints_[i]; }

  Route Order(const RouteKey& key);

  // One attempt is about to go to endpoint i.
  void OnAttempt(size_t i);
  // It succeeded: the endpoint is healthy again.
  void OnSuccess(size_t i);
  // It failed in a way that says the endpoint is in trouble: it backs off,
  // and stays blocked for `server_wait` for requests of `kind` when given.
  // kResolve (a 429 from /resolve) only blocks resolves: the endpoint is
  // healthy, and files it located before go on.
  void OnFailure(size_t i, const Status& status, RequestKind kind, std::optional<Duration> server_wait);
  // It answered that it lacks `key` (a commit or file key): skipped for it.
  // Counted as a failure in the tally, not against its health.
  void OnMissing(size_t i, const std::string& key, const Status& status);
  // It delivered `bytes` of the file under `file_key`.
  void OnServed(size_t i, const std::string& file_key, uint64_t bytes);
  // The file under `file_key` failed verification: demotes, for that file,
  // every endpoint that served it recently, and returns them. `what` names
  // the file for the tally's last_error.
  std::vector<size_t> ReportCorrupt(const std::string& file_key, const std::string& what);

  std::vector<EndpointStats> Stats() const;

 private:
  struct State {
    int consecutive_failures = 0;
    TimePoint backoff_until;      // backing off while now < backoff_until
    TimePoint not_before[3];      // per RequestKind: the server asked us to wait
    uint64_t attempts = 0;
    uint64_t failures = 0;
    uint64_t bytes = 0;
    std::string last_error;
  };

  static std::string SkipKey(size_t i, const std::string& key) { return std::to_string(i) + "\n" + key; }

  const std::vector<std::string> endpoints_;
  const Clock* const clock_;
  const MirrorSetOptions options_;
  JitterSource jitter_;
  mutable Mutex mu_;
  std::vector<State> states_ GUARDED_BY(mu_);
  BoundedLru<bool> skipped_ GUARDED_BY(mu_);       // SkipKey -> true
  BoundedLru<uint64_t> served_ GUARDED_BY(mu_);    // file key -> endpoint mask
  BoundedLru<uint64_t> demoted_ GUARDED_BY(mu_);   // file key -> endpoint mask
};

}  // namespace hfm
