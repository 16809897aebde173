// EndpointClient: the Hub protocol against ONE endpoint (the Hub or one
// mirror), one attempt per call. It builds URLs, follows redirects itself (the
// token goes only to its endpoint's host, never to a CDN or another mirror),
// reuses signed CDN locations, parses listings and maps errors; it never
// waits and never retries. Whether to retry, wait or move to another endpoint
// is the HubClient's decision (hub_client.cc), made from the AttemptInfo each
// call fills in.
//
// Every error message names this endpoint, so a log line built from it says
// which mirror failed.
//
// Thread safety: all methods are thread-safe; the signed URL cache has its own
// lock. A ListingProgress belongs to one caller.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "fetch/http_transport.h"
#include "fetch/listing_memory.h"
#include "fetch/hub_client.h"
#include "fetch/signed_url_cache.h"
#include "fetch/single_flight.h"
#include "util/clock.h"
#include "util/status.h"

namespace hfm {

class RangeResponseSink;

struct EndpointClientOptions {
  std::string endpoint;  // http(s) URL without query; trailing '/' dropped
  std::string token;     // "" = anonymous
  // Plain-http hosts that may still get the token (the admin's choice, e.g.
  // a mirror on a trusted LAN). Loopback always may; any other http
  // endpoint gets no token, and one warning says so.
  std::vector<std::string> token_http_hosts;
  HttpTransport* transport = nullptr;  // borrowed
  Clock* clock = nullptr;              // borrowed; SystemClock() if null
  // The speed floor for file transfers (see HttpRequest). API calls get it
  // only with `api_speed_floor`: a Hub computing a large listing page may
  // send nothing for a while, and with a single endpoint there is nowhere
  // better to go.
  long low_speed_bytes = 0;
  long low_speed_seconds = 0;
  bool api_speed_floor = false;
  Duration connect_timeout = Duration::zero();
  // Listings are charged to this daemon-wide budget (borrowed; null: none)
  // and each to at most `listing_cap` bytes (listing_memory.h).
  ListingMemory* listing_memory = nullptr;
  uint64_t listing_cap = kDefaultListingCap;
};

// What a failed attempt tells the caller deciding where to go next.
struct AttemptInfo {
  // Unavailable that may heal: a network error, 408/429/5xx, a short body.
  bool retryable = false;
  // A 429 or 503 asked for this wait (Retry-After, RateLimit).
  std::optional<Duration> server_wait;
  // X-Error-Code of a 4xx from the endpoint's host (RevisionNotFound, ...).
  std::string error_code;
  // FetchRange: bytes handed to the sink in this attempt (also on failure).
  uint64_t delivered = 0;
  // FetchRange: the sink asked to stop.
  bool sink_stopped = false;
  // The refusal was of /resolve (a 429 there): the Hub limits resolves in a
  // bucket of their own, so the wait is for resolves only; locations it
  // signed before still serve bytes.
  bool resolve_limited = false;
  // The refusal came from another host the endpoint sent us to (a mirror's
  // 308 to the Hub, which gets no token): that host's word on the file, not
  // this endpoint's, so another endpoint may still serve it.
  bool off_host_refusal = false;
};

// Where a paginated listing got to, so a retry on the same endpoint goes on
// from the page that failed instead of starting over (each page counts
// against the Hub's rate limit). Pages of another endpoint need a fresh one.
struct ListingProgress {
  std::string next_url;  // "" = not started
  int pages = 0;
  size_t bytes = 0;  // JSON bytes of the pages accepted so far
  std::unordered_set<std::string> seen;  // page URLs requested: a repeat is a loop
  std::vector<TreeEntry> entries;
  ListingCharge charge;  // what `entries` (and the parents they imply) cost
};

class EndpointClient {
 public:
  explicit EndpointClient(const EndpointClientOptions& options);
  EndpointClient(const EndpointClient&) = delete;
  EndpointClient& operator=(const EndpointClient&) = delete;

  // InvalidArgument when the options are unusable (no transport, not an
  // http(s) URL, a URL with user:password@, a token holding control
  // characters); every call returns it.
  const Status& init_status() const { return init_status_; }
  // False when there is no token, or it is withheld from this endpoint
  // because it is plain http to a host not named in token_http_hosts.
  bool sends_token() const { return token_allowed_ && !token_.empty(); }
  const std::string& endpoint() const { return endpoint_; }

  // As HubClient's, one attempt each; `info` (not null) says how it failed.
  // `visibility`, if not null, is set from the answer's "private" and "gated".
  Result<std::string> ResolveRevision(const RepoId& repo, std::string_view revision, TimePoint deadline,
                                      AttemptInfo* info, RepoVisibility* visibility = nullptr);
  Result<std::vector<TreeEntry>> ListTree(const RepoId& repo, std::string_view commit, TimePoint deadline,
                                          ListingProgress* progress, AttemptInfo* info);
  Result<std::vector<RepoSummary>> Search(RepoKind kind, const std::string& query, int limit, TimePoint deadline,
                                          AttemptInfo* info);

  // The checks FetchRange makes before any byte moves: names, commit, path,
  // sink, offset <= size. Clips *length to the file's end.
  Status CheckRange(const FileLocation& file, uint64_t offset, uint64_t* length, const RangeSink* sink) const;

  // One ranged transfer of [offset, offset + length) (REQUIRES: CheckRange
  // passed and length > 0), from the cached signed URL when there is one; a
  // cached URL that fails before any byte is resolved again once. Returns OK
  // when every byte arrived or the sink stopped; otherwise info->delivered
  // bytes did arrive, in order, and the caller may resume after them. A body
  // that ends early is Unavailable and retryable.
  Status FetchRange(const FileLocation& file, uint64_t offset, uint64_t length, RangeSink* sink,
                    TimePoint deadline, AttemptInfo* info);

  // Drops the signed URL kept for `file`: its bytes failed verification, so
  // the next range asks /resolve for a (possibly different) location.
  void ForgetSignedUrl(const FileLocation& file);
  // Whether a location of `file` is held, so a range of it needs no /resolve.
  bool HasLocation(const FileLocation& file);

 private:
  struct ApiResponse;
  struct RangeAttempt;
  struct RangeWalk;

  // `credential`, if not empty, replaces the client's token.
  HttpHeaders HeadersFor(const std::string& url, const std::string& credential = "") const;
  Result<ApiResponse> GetApi(std::string url, TimePoint deadline, const std::string& context, AttemptInfo* info);
  // ListTree's step.
  Result<std::string> NextPageUrl(const ApiResponse& response, int page, const std::string& context,
                                  std::unordered_set<std::string>* seen) const;
  RangeAttempt FetchOnce(const FileLocation& file, uint64_t pos, uint64_t end, RangeSink* sink,
                         TimePoint deadline, const std::string& context);
  // FetchOnce's steps.
  void StartRangeWalk(const FileLocation& file, TimePoint deadline, RangeWalk* walk);
  // A request for `file`'s bytes at `url` (its token rule, identity
  // encoding, deadline and speed floor); RangeRequest adds the Range.
  HttpRequest FileRequest(const FileLocation& file, const std::string& url, TimePoint deadline) const;
  HttpRequest RangeRequest(const FileLocation& file, const std::string& url, uint64_t pos, uint64_t end,
                           TimePoint deadline) const;
  // Where an LFS file's bytes are: HEAD /resolve WITHOUT Range, as the
  // official client asks (a location signed for a Range may be bound to
  // it), following the endpoint's own redirects and another Hub's /resolve,
  // up to the first other host (the CDN). The location goes in the cache.
  Status Locate(const FileLocation& file, TimePoint deadline, const std::string& context, RangeWalk* walk,
                AttemptInfo* info);
  // The cached location failed: drop it and start over from /resolve.
  Status ResolveAgain(const FileLocation& file, TimePoint deadline, RangeWalk* walk, std::string_view why,
                      const std::string& context, AttemptInfo* info);
  Status FollowRangeRedirect(const HttpResponseHead& head, const std::string& context, RangeWalk* walk);
  void FinishRangeWalk(const HttpResponseHead& head, const RangeResponseSink& body, const std::string& context,
                       RangeWalk* walk, RangeAttempt* attempt);

  std::string endpoint_;
  std::string endpoint_for_log_;
  const std::string token_;  // never logged
  // False for plain http to a host that is neither loopback nor named in
  // token_http_hosts: no token (the mount's or a per-user one) goes there.
  bool token_allowed_ = false;
  HttpTransport* const transport_;
  Clock* const clock_;
  const long low_speed_bytes_;
  const long low_speed_seconds_;
  const bool api_speed_floor_;
  const Duration connect_timeout_;
  Status init_status_;
  ListingMemory* const listing_memory_;
  const uint64_t listing_cap_;
  SignedUrlCache signed_urls_;
  SingleFlight resolving_;  // keyed like signed_urls_: one /resolve per file at a time
};

}  // namespace hfm
