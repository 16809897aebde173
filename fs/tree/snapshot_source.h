// SnapshotSource: turns (repo, revision) into the Snapshot of one commit.
//
// A branch or tag resolves to a commit when first asked and again once
// revision_ttl has passed; a full commit id never needs the network. Listings
// of commits are immutable, so they are kept in the MetaStore for good and a
// remount lists a commit-pinned repo with zero requests. When the Hub cannot be
// reached, the last commit a revision resolved to is used (and said once).
//
// With a trusted endpoint (HubClient::trusted_endpoint()), records carry who
// answered: a resolution or listing the trusted endpoint did not give (an
// untrusted mirror's, or one cached by an older version) is not used; the
// trusted endpoint is asked again, and when it cannot answer the revision is
// refused (Unavailable: EIO).
//
// With a lock file (options.lock), a locked repo resolves only its locked
// revision (or commit), to the locked commit with no request, and its
// listing, from any endpoint or the cache, must agree with the lock on every
// file's size and hash; else the repo is refused (DataLoss: EIO, one log
// line). Repos the lock does not name are served as without it.
//
// Repos that resolved once are "known": `ls` of the mount root and of an org
// shows them.
//
// Every snapshot handed out has passed the AccessGate (access_gate.h): a
// gated or private repo only with this mount's token accepted, pinned
// commits and cached listings included.
//
// Thread safety: all methods are thread-safe. Concurrent requests for the same
// revision or commit share one Hub request.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "cache/block_store.h"
#include "fetch/hub_client.h"
#include "fetch/lock_file.h"
#include "fs/tree/access_gate.h"
#include "fs/tree/snapshot.h"
#include "util/clock.h"
#include "util/mutex.h"

namespace hfm {

struct SnapshotSourceOptions {
  Duration revision_ttl = std::chrono::seconds(60);
  // How long "does not exist" is remembered for a branch/tag (commit-pinned
  // misses are the caller's to cache in the kernel).
  Duration negative_ttl = std::chrono::seconds(10);
  Duration request_timeout = std::chrono::seconds(30);
  bool offline = false;  // HF_HUB_OFFLINE: never touch the network
  std::shared_ptr<const LockFile> lock;  // null = no lock file
  // Snapshots in memory are charged to this daemon-wide budget (borrowed,
  // must outlive the source; null: none), each capped at `listing_cap`. A
  // snapshot that would not fit first pushes the recently used ones out of
  // memory, then is refused (EIO).
  ListingMemory* listing_memory = nullptr;
  uint64_t listing_cap = kDefaultListingCap;
  // -o offline_gated: a gated or private repo is served from the cache when
  // no endpoint can confirm this mount's access (see access_gate.h).
  bool serve_gated_offline = false;
  // -o per_user_token: each caller's own token (AccessGateOptions::user_token).
  std::function<Result<std::string>(uint32_t uid)> user_token;
  size_t max_caller_verdicts = 4096;  // AccessGateOptions::max_caller_verdicts
};

struct KnownRepo {
  RepoKind kind;
  std::string org;
  std::string name;
  bool operator<(const KnownRepo& o) const {
    return std::tie(kind, org, name) < std::tie(o.kind, o.org, o.name);
  }
};

class SnapshotSource {
 public:
  // `hub`, `meta` and `clock` are borrowed and must outlive this object.
  SnapshotSource(HubClient* hub, MetaStore* meta, Clock* clock, SnapshotSourceOptions options);

  // The snapshot `revision` ("" = default branch) of `repo` points to now.
  Result<std::shared_ptr<const Snapshot>> Current(const RepoId& repo, const std::string& revision);

  // Repos seen so far (this mount and earlier ones on the same cache).
  std::vector<KnownRepo> KnownRepos();

  // OK if this mount may still serve `snapshot` (a node's, reached before):
  // the AccessGate's re-check once revision_ttl has passed.
  Status CheckAccess(const Snapshot& snapshot) { return gate_.Check(snapshot); }
  AccessGate& gate() { return gate_; }

  const SnapshotSourceOptions& options() const { return options_; }

 private:
  struct Resolved {
    std::string commit;  // empty when `error` is set
    Status error;
    TimePoint at;
    bool trusted = true;  // usable as the trusted endpoint's word (see Trusts)
  };

  // Whether metadata from `origin` may be used as this mount's: any without
  // a trusted endpoint; with one, only what it said itself.
  bool Trusts(const MetadataOrigin& origin) const;
  // The lock entry of `repo` when the lock file pins it at `commit`.
  const LockedRepo* LockedAt(const RepoId& repo, const std::string& commit) const;
  // OK when `entries` agree with `locked`; else DataLoss, logged once per repo.
  Status CheckLock(const LockedRepo& locked, const std::vector<TreeEntry>& entries) EXCLUDES(mu_);

  // The commit a recorded resolution of `key` names, and its age in seconds,
  // if younger than revision_ttl.
  std::optional<std::pair<std::string, int64_t>> RecordedCommit(const std::string& key);
  Result<std::string> ResolveCommit(const RepoId& repo, const std::string& revision) EXCLUDES(mu_);
  // Waits on cv_ until a resolution or a load ends.
  void WaitForChange() REQUIRES(mu_);
  // What `revision` names now, asked of the Hub (or, when the Hub cannot be
  // reached, the last commit known for `key`); `entry` is set to what to
  // remember of the answer.
  Result<std::string> AskHub(const RepoId& repo, const std::string& revision, const std::string& key,
                             Resolved* entry) EXCLUDES(mu_);
  // The commit `key` last resolved to (recorded in the cache, else in this
  // mount), if any.
  std::optional<std::string> LastKnownCommit(const std::string& key) EXCLUDES(mu_);
  Result<std::shared_ptr<const Snapshot>> LoadSnapshot(const RepoId& repo, const std::string& commit);
  Result<std::shared_ptr<const Snapshot>> LoadSnapshotUncached(const RepoId& repo,
                                                              const std::string& commit);
  // Snapshot::Make within the budget, after dropping the recently used
  // snapshots kept alive only by recent_ when the budget lacks room.
  Result<std::shared_ptr<const Snapshot>> MakeSnapshot(const RepoId& repo, const std::string& commit,
                                                      std::vector<TreeEntry> entries, int64_t first_seen)
      EXCLUDES(mu_);
  void RememberRepo(const RepoId& repo);

  HubClient* const hub_;
  MetaStore* const meta_;
  Clock* const clock_;
  const SnapshotSourceOptions options_;
  AccessGate gate_;

  Mutex mu_;
  CondVar cv_{&mu_};  // signalled when a resolution or a load ends
  std::map<std::string, Resolved> resolved_ GUARDED_BY(mu_);
  std::set<std::string> resolving_ GUARDED_BY(mu_);
  std::map<std::string, std::weak_ptr<const Snapshot>> snapshots_ GUARDED_BY(mu_);
  std::deque<std::shared_ptr<const Snapshot>> recent_ GUARDED_BY(mu_);
  std::set<std::string> loading_ GUARDED_BY(mu_);
  std::set<KnownRepo> known_ GUARDED_BY(mu_);
  bool known_loaded_ GUARDED_BY(mu_) = false;
  std::set<std::string> lock_refused_ GUARDED_BY(mu_);  // repos whose refusal was logged
};

}  // namespace hfm
