// AccessGate: whether this mount may serve a repo at all. The block cache is
// keyed by content, not by who may read it, so a gated or private repo's
// listing and bytes are served (from the network or the cache alike) only
// after the Hub accepted this mount's own token for that repo, and again
// once revision_ttl has passed. Without that: PermissionDenied for a gated
// repo, NotFound for a private one, as a mount with an empty cache answers.
//
// A repo's visibility is what the Hub's last answer said (SnapshotSource
// passes each resolution on), kept in memory and in the MetaStore
// (access/KINDS/ORG/NAME), so a remount with no network still knows that a
// repo is gated. A repo reached only by commit (no resolution) costs one API
// call the first time; public repos cost nothing after that.
//
// How the Hub accepts a token: for a private repo, any API answer with it
// (a resolution counts, so a branch costs no extra request); for a gated
// repo, whose API answers are public, a one-byte ranged read of its
// smallest file. A mount without a token is refused at once, with no
// request: the Hub never lets an anonymous client read either.
//
// Thread safety: all methods are thread-safe. Checks of one repo running at
// once may each ask the Hub (at most one per FUSE worker).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "cache/block_store.h"
#include "fetch/hub_client.h"
#include "fs/tree/caller.h"
#include "fs/tree/snapshot.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/status.h"

namespace hfm {

struct AccessGateOptions {
  Duration revision_ttl = std::chrono::seconds(60);
  Duration request_timeout = std::chrono::seconds(30);
  bool offline = false;  // HF_HUB_OFFLINE: no endpoint will answer
  // -o offline_gated: when no endpoint answers, serve a gated or private
  // repo from the cache anyway (logged once per repo). Off: refused.
  bool serve_gated_offline = false;
  // -o per_user_token: a gated or private repo is served to each caller
  // (caller.h) by that user's own token, which this loads ("" = none), and
  // fetched with it; the mount's token then serves only the mount itself.
  // Unset: the mount's token serves every caller alike.
  std::function<Result<std::string>(uint32_t uid)> user_token;
  // Most (uid, repo) verdicts kept at once: any local user can make new ones
  // (each uid times each restricted repo), so the table is bounded; past the
  // bound the expired and then the soonest-expiring verdicts go first.
  size_t max_caller_verdicts = 4096;
};

class AccessGate {
 public:
  // `hub`, `meta` and `clock` are borrowed and must outlive this object.
  AccessGate(HubClient* hub, MetaStore* meta, Clock* clock, AccessGateOptions options);

  // The Hub resolved a revision of `repo` with this mount's token and said
  // `visibility` (kUnknown: said nothing). For a private repo that is an
  // acceptance.
  void RecordResolution(const RepoId& repo, RepoVisibility visibility) EXCLUDES(mu_);

  // OK if this mount may serve `snapshot`'s repo now; asks the Hub when the
  // repo is gated or private and the last acceptance is older than
  // revision_ttl.
  Status Check(const Snapshot& snapshot) EXCLUDES(mu_);

  // The visibility last recorded for `repo` (kUnknown if none).
  RepoVisibility Visibility(const RepoId& repo) EXCLUDES(mu_);

  // The token to fetch `repo`'s bytes with for the current caller: under
  // per_user_token, the one the Hub accepted for them ("" if none or when
  // the repo is public); otherwise "" (the client's own token).
  std::string CredentialFor(const RepoId& repo) EXCLUDES(mu_);
  bool per_user() const { return static_cast<bool>(options_.user_token); }

  // (uid, repo) verdicts held now: at most max_caller_verdicts.
  size_t caller_verdicts() EXCLUDES(mu_);

 private:
  // One caller's standing with one restricted repo (per_user_token).
  struct CallerAccess {
    Status verdict;
    TimePoint valid_until;
    std::string token;  // accepted for the repo; never logged
  };

  struct RepoAccess {
    RepoVisibility visibility = RepoVisibility::kUnknown;
    bool loaded = false;      // the MetaStore's record was read
    Status verdict;           // the last check's outcome...
    TimePoint valid_until;    // ...which holds until then
    bool warned_offline = false;  // this outage was logged
  };

  // `repo`'s entry, its visibility read from the MetaStore on first use.
  RepoAccess& EntryFor(const RepoId& repo) REQUIRES(mu_);
  void Persist(const RepoId& repo, RepoVisibility visibility);
  // A repo never seen resolved (a pinned commit): one API call says its
  // visibility (recorded, so a remount asks nothing), then Check again.
  Status Learn(const Snapshot& snapshot);
  // Check of a restricted repo for `caller` with their own token.
  Status CheckCaller(const Snapshot& snapshot, RepoVisibility visibility, Caller caller) EXCLUDES(mu_);
  // Frees one slot of callers_ when it is full.
  void MakeRoomForCaller() REQUIRES(mu_);
  // Asks the Hub whether it accepts `credential` ("" = this mount's token)
  // for the repo.
  Status AskHub(const Snapshot& snapshot, RepoVisibility visibility, const std::string& credential);
  // The Hub's answer, or (when no endpoint answered) the offline policy's.
  Status Decide(const Snapshot& snapshot, RepoVisibility visibility, const Status& answer) EXCLUDES(mu_);

  HubClient* const hub_;
  MetaStore* const meta_;
  Clock* const clock_;
  const AccessGateOptions options_;

  Mutex mu_;
  std::map<std::string, RepoAccess> repos_ GUARDED_BY(mu_);  // by RepoDisplayName
  std::map<std::string, CallerAccess> callers_ GUARDED_BY(mu_);  // by uid and RepoDisplayName
};

// The status a mount that may not read `repo` answers: PermissionDenied for a
// gated repo, NotFound for a private one. `why` ends the message.
Status RefusedAccess(const RepoId& repo, RepoVisibility visibility, const std::string& why);

}  // namespace hfm
