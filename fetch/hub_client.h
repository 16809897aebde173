// HubClient: the Hugging Face Hub protocol (../shared/HUB_PROTOCOL.md) as a
// read-only filesystem needs it: revision -> commit, the recursive tree
// listing of a commit, and byte ranges of one file at one commit.
//
// Errors are typed by Status code: NotFound (RepoNotFound, RevisionNotFound,
// EntryNotFound), PermissionDenied (gated, private, disabled, bad token),
// Unavailable (network, 5xx, 429 after retries), DeadlineExceeded, DataLoss
// (a response that contradicts the request: wrong Content-Range, short body).
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

// What FetchRange needs to find one file's bytes.
struct FileLocation {
  RepoId repo;
  std::string commit;  // 40 hex; never a branch name
  std::string path;    // repo-relative, unencoded
  uint64_t size = 0;
  bool is_lfs = false;
};

// Receives the bytes of a range strictly in order, starting at the requested
// offset. Returning false stops the fetch (FetchRange then returns OK with
// fewer bytes delivered).
class RangeSink {
 public:
  virtual ~RangeSink() = default;
  virtual bool OnBytes(const char* data, size_t len) = 0;
};

struct HubClientOptions {
  std::string endpoint;  // e.g. "https://huggingface.co", no trailing '/'
  std::string token;     // "" = anonymous; sent only to the endpoint's host
  HttpTransport* transport = nullptr;  // borrowed; must outlive the client
  Clock* clock = nullptr;              // borrowed; SystemClock() if null
  // First wait before retrying a 408/429/5xx or a network error; doubles on
  // each of up to 3 retries, never past the deadline. Zero in tests.
  Duration retry_backoff_base = std::chrono::seconds(1);
};

class HubClient {
 public:
  virtual ~HubClient() = default;

  // The commit a revision points to. `revision` "" means the repo's default
  // branch (GET /api/{kind}s/{repo}); otherwise a branch, tag, full commit or
  // "refs/pr/N" (sent as one %2F-encoded path segment).
  virtual Result<std::string> ResolveRevision(const RepoId& repo, std::string_view revision,
                                              TimePoint deadline) = 0;

  // Every entry of the repo at `commit`, following Link rel="next" pagination
  // to the end. Invalid entries are skipped with one log line each.
  virtual Result<std::vector<TreeEntry>> ListTree(const RepoId& repo, std::string_view commit,
                                                  TimePoint deadline) = 0;

  // Delivers bytes [offset, offset + length) of the file to `sink`, in order,
  // via ranged GETs on /resolve/<commit>/<path>. LFS redirects are followed
  // without the token when the host changes, and the signed location is reused
  // for later ranges of the same file until it fails. `length` is clipped to
  // the file's size. On failure part of the range may already have been
  // delivered; the caller may resume from there.
  virtual Status FetchRange(const FileLocation& file, uint64_t offset, uint64_t length,
                            RangeSink* sink, TimePoint deadline) = 0;

  virtual const std::string& endpoint() const = 0;
};

std::unique_ptr<HubClient> NewHubClient(const HubClientOptions& options);

}  // namespace hfm
