// HubClient: the Hugging Face Hub protocol (fetch/PROTOCOL.md) as a
// read-only filesystem needs it: revision -> commit, the recursive tree
// listing of a commit, and byte ranges of one file at one commit.
//
// Errors are typed by Status code: NotFound (RepoNotFound, RevisionNotFound,
// EntryNotFound), PermissionDenied (gated, private, disabled, bad token),
// Unavailable (network, 5xx, 429 after retries), DeadlineExceeded, DataLoss
// (a response that contradicts the request: wrong Content-Range, short body).
//
// Mirrors. A client may hold an ordered list of endpoints (the Hub and
// mirrors of it, highest priority first); each request goes to the best one
// (mirror_set.h) and moves to the next on a connect error, a timeout, a
// transfer under the speed floor, 5xx, 429, a malformed answer, or a 404 for
// a file the listing has. Answers that are the Hub's word (NotFound,
// PermissionDenied) end a request, with two exceptions for a mirror that
// lags: ListTree and FetchRange skip an endpoint that answers
// RevisionNotFound for the commit, and so does ResolveRevision of a full
// commit id. ResolveRevision of a branch or tag takes NotFound from whichever
// endpoint answers first (the primary while it is up); a lagging mirror may
// then know an older commit or none.
// Requests that failed everywhere are retried in rounds with jittered
// exponential backoff, honouring Retry-After and RateLimit, never past the
// caller's deadline: a wait that would pass it fails the request at once.
//
// Trusted metadata. With options.trusted_endpoint set, revision -> commit
// and listings (and so every hash the bytes are verified against) come only
// from that endpoint, while file bytes still come from the mirrors; a
// trusted endpoint not among `endpoints` answers metadata only. When it
// cannot be reached, metadata calls fail (Unavailable, logged once per
// repo) unless options.trust_fallback lets the mirrors answer (a warning
// once per repo); each answer says whether it was the trusted endpoint's.
//
// The token is sent to every configured endpoint, each time only to that
// endpoint's own host: never to a CDN a redirect points to, never to
// another host a mirror redirects to (even another configured mirror's),
// and never over plain http unless the host is loopback or named in
// token_http_hosts.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fetch/http_transport.h"
#include "fetch/listing_memory.h"
#include "util/clock.h"
#include "util/content_hash.h"
#include "util/status.h"

namespace hfm {

enum class RepoKind { kModel, kDataset, kSpace };

struct RepoId {
  RepoKind kind = RepoKind::kModel;
  std::string name;  // "ns/name"
  bool operator==(const RepoId& o) const { return kind == o.kind && name == o.name; }
};

// "models", "datasets", "spaces" (as in /api/{kind}s/...).
const char* RepoKindPlural(RepoKind kind);
// The kind RepoKindPlural() names; nullopt for any other word.
std::optional<RepoKind> RepoKindFromPlural(std::string_view plural);
// "" for models, "datasets/", "spaces/" (as in file URLs).
const char* RepoKindUrlPrefix(RepoKind kind);
// "ns/name" for models, "datasets/ns/name" otherwise: for log lines.
std::string RepoDisplayName(const RepoId& repo);

// True for a full commit id: 40 hex digits (either case). A revision that is
// one names itself, so it never needs resolving.
bool IsCommitId(std::string_view revision);

// One validated entry of a tree listing. Entries the parser could not trust
// (see tree_parser.h) never become TreeEntry values.
struct TreeEntry {
  std::string path;  // relative to the repo root, '/'-separated, no "." or ".."
  bool is_dir = false;
  uint64_t size = 0;  // the real content size (lfs.size for LFS files)
  // Files only: sha256 (lfs.oid) for LFS files, git blob sha1 (oid) otherwise.
  ContentHash hash;
  bool is_lfs = false;
};

// Who may read a repo, as the Hub's API says ("private", "gated").
enum class RepoVisibility : uint8_t { kUnknown, kPublic, kGated, kPrivate };
// "public", "gated", "private" ("unknown" for kUnknown).
const char* RepoVisibilityName(RepoVisibility visibility);
// The visibility RepoVisibilityName() names; kUnknown for any other word.
RepoVisibility RepoVisibilityFromName(std::string_view name);

// Who answered a metadata request, for the records kept of the answer.
struct MetadataOrigin {
  std::string endpoint;
  // The client's trusted endpoint answered (never true without one).
  bool trusted = false;
};

// What a revision resolves to, and what the same answer says of the repo.
struct RevisionInfo {
  std::string commit;  // 40 hex, lowercase
  RepoVisibility visibility = RepoVisibility::kUnknown;
};

// What FetchRange needs to find one file's bytes.
struct FileLocation {
  RepoId repo;
  std::string commit;  // 40 hex; never a branch name
  std::string path;    // repo-relative, unencoded
  uint64_t size = 0;
  bool is_lfs = false;
  // If set, sent instead of the client's own token, under the same rule
  // (only to each endpoint's own host): a caller's token on a shared mount
  // (-o per_user_token). A secret: never logged. ({}: initializers that
  // leave it out stay free of -Wmissing-field-initializers.)
  std::string credential{};
  // The content hash the (trusted) listing gives, if known. An endpoint whose
  // /resolve answer names other content (X-Linked-Etag, else ETag, when it
  // is a hash of the same kind) or another commit (X-Repo-Commit) is not
  // asked for the bytes: DataLoss, and the next endpoint serves them.
  std::optional<ContentHash> expected_hash{};
};

// Receives the bytes of a range strictly in order, starting at the requested
// offset. Returning false stops the fetch (FetchRange then returns OK with
// fewer bytes delivered).
class RangeSink {
 public:
  virtual ~RangeSink() = default;
  virtual bool OnBytes(const char* data, size_t len) = 0;
  // Called as each attempt starts, before its bytes follow: the first, and
  // each retry or resume after a failure, on whichever endpoint (with
  // mirrors, a range may be completed by another endpoint). A caller can say
  // who served bad bytes, and tell a clean transfer from one that faltered.
  virtual void OnSource(const std::string& endpoint) { (void)endpoint; }
};

struct HubClientOptions {
  std::string endpoint;  // e.g. "https://huggingface.co", no trailing '/'
  // Endpoints in priority order; when non-empty it replaces `endpoint`.
  // Empty entries are ignored, repeats dropped; at most 64.
  std::vector<std::string> endpoints;
  std::string token;     // "" = anonymous; sent only to each endpoint's own host
  // Plain-http endpoint hosts that still get the token; loopback always
  // does, other http endpoints never (EndpointClientOptions).
  std::vector<std::string> token_http_hosts;
  // "" = metadata from any endpoint; else the only endpoint asked for
  // commits and listings (see the file comment).
  std::string trusted_endpoint;
  // With a trusted endpoint that cannot be reached, ask the mirrors instead.
  bool trust_fallback = false;
  // HF_HUB_OFFLINE=1: every call fails at once (Unavailable) and nothing is
  // sent; callers serve what they cached.
  bool offline = false;
  HttpTransport* transport = nullptr;  // borrowed; must outlive the client
  Clock* clock = nullptr;              // borrowed; SystemClock() if null
  // Longest first wait before retrying a 408/429/5xx or a network error
  // once every endpoint failed (jittered to [base/2, base]); doubles on each
  // of up to 3 retries, never past the deadline. Zero in tests.
  Duration retry_backoff_base = std::chrono::seconds(1);
  // A transfer moving fewer than low_speed_bytes_per_second for
  // low_speed_seconds in a row is stalled: it moves to the next endpoint.
  // 10 s (not 30) so that a stall still leaves room to fail over within the
  // default 30 s read timeout; 1 KiB/s is far below any working link. 0 = off.
  long low_speed_bytes_per_second = 1024;
  long low_speed_seconds = 10;
  // A host that drops packets is given up on after this long. 0 = deadline.
  Duration connect_timeout = std::chrono::seconds(10);
  // An endpoint that failed gets no traffic while others are healthy, for
  // a jittered while that starts at the base and doubles up to the cap.
  Duration endpoint_backoff_base = std::chrono::seconds(1);
  Duration endpoint_backoff_max = std::chrono::seconds(60);
  // Seeds the jitter of every backoff; 0 = random. Tests fix it.
  uint64_t jitter_seed = 0;
  // The daemon-wide budget for listings in memory (borrowed, must outlive
  // the client; null: none) and the cap of each one (listing_memory.h).
  ListingMemory* listing_memory = nullptr;
  uint64_t listing_cap = kDefaultListingCap;
};

// One endpoint's tally, for stats.
struct EndpointStats {
  std::string endpoint;
  uint64_t requests = 0;  // attempts sent to it (an API call, a listing, a ranged transfer)
  uint64_t failures = 0;  // attempts that failed there, and verification failures it served
  uint64_t bytes = 0;     // file bytes it delivered
  std::string last_error;  // the latest failure's message ("" if none)
  std::string state;       // "healthy", "backing-off" or "rate-limited"
  // "rate-limited": how long until the server's longest wait ends.
  Duration rate_limited_for = Duration::zero();
};

// One repo found by HubClient::Search.
struct RepoSummary {
  std::string id;  // ORG/NAME
  bool is_private = false;
  bool gated = false;
  uint64_t downloads = 0;
  uint64_t likes = 0;
};

class HubClient {
 public:
  virtual ~HubClient() = default;

  // Repos of `kind` whose id contains `query`, at most `limit`, in the Hub's
  // order (GET /api/{kind}s?search=...&limit=...). The default answers
  // Unavailable: a client that cannot search (tests' fakes) says so.
  virtual Result<std::vector<RepoSummary>> Search(RepoKind kind, const std::string& query, int limit,
                                                  TimePoint deadline) {
    return Status::Unavailable("search is not supported by this client");
  }

  // The commit a revision points to. `revision` "" means the repo's default
  // branch (GET /api/{kind}s/{repo}); otherwise a branch, tag, full commit or
  // "refs/pr/N" (sent as one %2F-encoded path segment).
  virtual Result<std::string> ResolveRevision(const RepoId& repo, std::string_view revision,
                                              TimePoint deadline) = 0;

  // ResolveRevision, with the repo's visibility from the same answer (no
  // extra request) and, when `origin` is not null, who gave it. The default
  // knows no visibility (tests' fakes).
  virtual Result<RevisionInfo> ResolveRevisionInfo(const RepoId& repo, std::string_view revision,
                                                   TimePoint deadline, MetadataOrigin* origin) {
    MetadataOrigin answered;
    auto commit = ResolveRevisionFrom(repo, revision, deadline, &answered);
    if (!commit.ok()) return commit.status();
    if (origin != nullptr) *origin = std::move(answered);
    return RevisionInfo{std::move(*commit), RepoVisibility::kUnknown};
  }

  // Whether requests carry a token: without one, the Hub never lets this
  // client read a gated or private repo's files.
  virtual bool has_token() const { return false; }

  // Every entry of the repo at `commit`, following Link rel="next" pagination
  // to the end. Invalid entries are skipped with one log line each.
  virtual Result<std::vector<TreeEntry>> ListTree(const RepoId& repo, std::string_view commit,
                                                  TimePoint deadline) = 0;

  // Delivers bytes [offset, offset + length) of the file to `sink`, in order,
  // via ranged GETs on /resolve/<commit>/<path>. LFS redirects are followed
  // without the token when the host changes, and the signed location is reused
  // for later ranges of the same file until it fails. `length` is clipped to
  // the file's size. A transfer that breaks is resumed from the byte reached
  // (on the same or another endpoint), so the sink sees each byte once. On
  // failure part of the range may already have been delivered; the caller
  // may resume from there.
  virtual Status FetchRange(const FileLocation& file, uint64_t offset, uint64_t length,
                            RangeSink* sink, TimePoint deadline) = 0;

  // ResolveRevision and ListTree, saying who answered. The defaults are for
  // clients without a trusted endpoint: the answer is the primary's word.
  virtual Result<std::string> ResolveRevisionFrom(const RepoId& repo, std::string_view revision,
                                                  TimePoint deadline, MetadataOrigin* origin) {
    *origin = MetadataOrigin{endpoint(), false};
    return ResolveRevision(repo, revision, deadline);
  }
  virtual Result<std::vector<TreeEntry>> ListTreeFrom(const RepoId& repo, std::string_view commit,
                                                      TimePoint deadline, MetadataOrigin* origin) {
    *origin = MetadataOrigin{endpoint(), false};
    return ListTree(repo, commit, deadline);
  }

  // The primary (first) endpoint.
  virtual const std::string& endpoint() const = 0;

  // The endpoint metadata must come from; "" when any may answer.
  virtual const std::string& trusted_endpoint() const {
    static const std::string kNone;
    return kNone;
  }

  // The bytes of `file` failed verification. Endpoints that served ranges of
  // it recently are demoted for that file: the next FetchRange prefers one
  // that did not; once all were reported, the order starts over.
  virtual void ReportCorrupt(const FileLocation& file) { (void)file; }

  // One tally per endpoint, in priority order.
  virtual std::vector<EndpointStats> Stats() const { return {}; }
};

// A client over options.endpoints (or options.endpoint alone). Never null:
// with unusable options (no transport, an endpoint that is not an http(s) URL
// without a query, a token holding control characters, over 64 endpoints)
// every call returns InvalidArgument.
std::unique_ptr<HubClient> NewHubClient(const HubClientOptions& options);

}  // namespace hfm
