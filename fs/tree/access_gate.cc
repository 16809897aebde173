#include "fs/tree/access_gate.h"

#include <algorithm>
#include <vector>

#include "fs/tree/meta_records.h"
#include "util/log.h"

namespace hfm {
namespace {

// How long a verdict reached with no endpoint answering holds.
constexpr Duration kOfflineVerdictLife = std::chrono::seconds(10);

// Discards the byte an access probe reads.
class DiscardSink : public RangeSink {
 public:
  bool OnBytes(const char*, size_t) override { return true; }
};

// The smallest non-empty file of `snapshot`, or nullptr: the cheapest bytes
// that prove the Hub lets this token read the repo's files.
const SnapshotEntry* SmallestFile(const Snapshot& snapshot) {
  const SnapshotEntry* best = nullptr;
  std::vector<const SnapshotEntry*> dirs{&snapshot.root()};
  while (!dirs.empty()) {
    const SnapshotEntry* dir = dirs.back();
    dirs.pop_back();
    for (const SnapshotEntry* child : snapshot.Children(*dir)) {
      if (child->is_dir) {
        dirs.push_back(child);
      } else if (child->size > 0 && (!best || child->size < best->size)) {
        best = child;
      }
    }
  }
  return best;
}

bool IsHubVerdict(const Status& s) { return s.ok() || s.IsPermissionDenied() || s.IsNotFound(); }

std::string CallerKey(Caller caller, const RepoId& repo) {
  return std::to_string(caller.uid) + "|" + RepoDisplayName(repo);
}

}  // namespace

Status RefusedAccess(const RepoId& repo, RepoVisibility visibility, const std::string& why) {
  const std::string message = RepoDisplayName(repo) + " is " + RepoVisibilityName(visibility) + ": " + why;
  if (visibility == RepoVisibility::kPrivate) return Status::NotFound(message);
  return Status::PermissionDenied(message);
}

AccessGate::AccessGate(HubClient* hub, MetaStore* meta, Clock* clock, AccessGateOptions options)
    : hub_(hub), meta_(meta), clock_(clock), options_(options) {}

AccessGate::RepoAccess& AccessGate::EntryFor(const RepoId& repo) {
  RepoAccess& entry = repos_[RepoDisplayName(repo)];
  if (!entry.loaded) {
    entry.loaded = true;
    // A small read under the lock: the MetaStore never waits on the network.
    auto stored = meta_->Get(AccessMetaKey(repo));
    if (stored.ok() && stored->has_value()) entry.visibility = RepoVisibilityFromName(**stored);
  }
  return entry;
}

void AccessGate::Persist(const RepoId& repo, RepoVisibility visibility) {
  Status st = meta_->Put(AccessMetaKey(repo), RepoVisibilityName(visibility));
  if (!st.ok()) LogWarning("cannot record the visibility of " + RepoDisplayName(repo) + ": " + st.ToString());
}

RepoVisibility AccessGate::Visibility(const RepoId& repo) {
  MutexLock lock(&mu_);
  return EntryFor(repo).visibility;
}

void AccessGate::RecordResolution(const RepoId& repo, RepoVisibility visibility) {
  bool changed = false;
  {
    MutexLock lock(&mu_);
    RepoAccess& entry = EntryFor(repo);
    if (visibility == RepoVisibility::kUnknown) {
      // An answer that does not say (a mirror, an old server) never lifts a
      // restriction recorded before; with none, the repo answered as public.
      if (entry.visibility != RepoVisibility::kUnknown) return;
      visibility = RepoVisibility::kPublic;
    }
    changed = entry.visibility != visibility;
    entry.visibility = visibility;
    if (visibility == RepoVisibility::kPrivate) {
      // Only a token the Hub accepts for a private repo gets an answer at all.
      entry.verdict = Status();
      entry.valid_until = clock_->Now() + options_.revision_ttl;
    } else if (changed) {
      entry.valid_until = TimePoint();  // a repo that became gated is asked about anew
    }
  }
  if (changed) Persist(repo, visibility);
}

Status AccessGate::Check(const Snapshot& snapshot) {
  const RepoId& repo = snapshot.repo();
  const std::optional<Caller> caller = CurrentCaller();
  const bool as_caller = per_user() && caller;
  RepoVisibility visibility;
  {
    MutexLock lock(&mu_);
    RepoAccess& entry = EntryFor(repo);
    visibility = entry.visibility;
    if (visibility == RepoVisibility::kPublic) return Status();
    // The mount's own verdict never stands in for a caller's (per_user_token).
    const bool mounts_verdict_counts = !as_caller || visibility == RepoVisibility::kUnknown;
    if (mounts_verdict_counts && clock_->Now() < entry.valid_until) return entry.verdict;
  }
  if (visibility == RepoVisibility::kUnknown) return Learn(snapshot);
  if (as_caller) return CheckCaller(snapshot, visibility, *caller);
  if (!hub_->has_token()) {
    return RefusedAccess(repo, visibility, "this mount has no Hub token (set HF_TOKEN or -o token_file=)");
  }
  Status answer =
      options_.offline ? Status::Unavailable("offline (HF_HUB_OFFLINE)") : AskHub(snapshot, visibility, "");
  return Decide(snapshot, visibility, answer);
}

Status AccessGate::Learn(const Snapshot& snapshot) {
  const RepoId& repo = snapshot.repo();
  // Nothing known says the repo is restricted: without the network, serve it.
  if (options_.offline) return Status();
  auto info = hub_->ResolveRevisionInfo(repo, snapshot.commit(), clock_->Now() + options_.request_timeout, nullptr);
  if (!info.ok()) {
    if (!IsHubVerdict(info.status())) return Status();
    MutexLock lock(&mu_);
    RepoAccess& entry = EntryFor(repo);
    entry.valid_until = clock_->Now() + options_.revision_ttl;
    entry.verdict = info.status();
    return entry.verdict;
  }
  RecordResolution(repo, info->visibility);  // never leaves it unknown
  return Check(snapshot);
}

Status AccessGate::AskHub(const Snapshot& snapshot, RepoVisibility visibility, const std::string& credential) {
  const TimePoint deadline = clock_->Now() + options_.request_timeout;
  if (visibility == RepoVisibility::kPrivate && credential.empty()) {
    auto info = hub_->ResolveRevisionInfo(snapshot.repo(), snapshot.commit(), deadline, nullptr);
    if (info.ok()) RecordResolution(snapshot.repo(), info->visibility);
    return info.status();
  }
  // A caller's token is tried on a file (for a private repo too): the API
  // calls go with the mount's own token.
  const SnapshotEntry* file = SmallestFile(snapshot);
  if (!file) return Status();  // no bytes to protect
  FileLocation location{snapshot.repo(), snapshot.commit(), file->path, file->size, file->is_lfs, credential};
  DiscardSink sink;
  return hub_->FetchRange(location, 0, 1, &sink, deadline);
}

Status AccessGate::Decide(const Snapshot& snapshot, RepoVisibility visibility, const Status& answer) {
  const RepoId& repo = snapshot.repo();
  const std::string where = RepoDisplayName(repo) + "@" + snapshot.commit() + " at " + hub_->endpoint();
  MutexLock lock(&mu_);
  RepoAccess& entry = EntryFor(repo);
  if (IsHubVerdict(answer)) {
    entry.warned_offline = false;
    entry.valid_until = clock_->Now() + options_.revision_ttl;
    entry.verdict = answer.ok() ? Status() : RefusedAccess(repo, visibility, "the Hub refused this mount's token");
    if (!answer.ok()) {
      LogWarning("access to " + where + " refused for this mount's token: " + answer.ToString());
    }
    return entry.verdict;
  }
  // No endpoint gave an answer. The policy's verdict holds a short while, so
  // that every lookup in an outage does not wait for the network again.
  entry.valid_until = clock_->Now() + std::min<Duration>(options_.revision_ttl, kOfflineVerdictLife);
  if (options_.serve_gated_offline) {
    if (!entry.warned_offline) {
      entry.warned_offline = true;
      LogWarning("cannot confirm access to " + where + " (" + answer.ToString() +
                 "); serving it from the cache because of -o offline_gated");
    }
    entry.verdict = Status();
    return entry.verdict;
  }
  if (!entry.warned_offline) {
    entry.warned_offline = true;
    LogWarning("cannot confirm access to " + where + " (" + answer.ToString() +
               "); refusing it (-o offline_gated would serve it from the cache)");
  }
  entry.verdict =
      RefusedAccess(repo, visibility, "no endpoint confirmed this mount's access (" + answer.ToString() + ")");
  return entry.verdict;
}

Status AccessGate::CheckCaller(const Snapshot& snapshot, RepoVisibility visibility, Caller caller) {
  const RepoId& repo = snapshot.repo();
  const std::string key = CallerKey(caller, repo);
  {
    MutexLock lock(&mu_);
    auto it = callers_.find(key);
    if (it != callers_.end() && clock_->Now() < it->second.valid_until) return it->second.verdict;
  }
  const std::string who = "uid " + std::to_string(caller.uid);
  auto token = options_.user_token(caller.uid);
  CallerAccess access;
  access.valid_until = clock_->Now() + options_.revision_ttl;
  if (!token.ok()) {
    LogWarning("not using the token of " + who + " for " + RepoDisplayName(repo) + ": " + token.status().ToString());
    access.verdict = RefusedAccess(repo, visibility, who + " has no usable Hub token");
  } else if (token->empty()) {
    access.verdict = RefusedAccess(repo, visibility, who + " has no Hub token");
  } else {
    const Status answer = options_.offline ? Status::Unavailable("offline (HF_HUB_OFFLINE)")
                                           : AskHub(snapshot, visibility, *token);
    if (answer.ok() || (!IsHubVerdict(answer) && options_.serve_gated_offline)) {
      access.token = std::move(*token);
    } else {
      access.verdict = RefusedAccess(repo, visibility, "the Hub refused the token of " + who);
      LogWarning("access to " + RepoDisplayName(repo) + "@" + snapshot.commit() + " at " + hub_->endpoint() +
                 " refused for " + who + ": " + answer.ToString());
    }
    if (!IsHubVerdict(answer)) {
      access.valid_until = clock_->Now() + std::min<Duration>(options_.revision_ttl, kOfflineVerdictLife);
    }
  }
  MutexLock lock(&mu_);
  if (callers_.find(key) == callers_.end()) MakeRoomForCaller();
  CallerAccess& stored = callers_[key];
  stored = std::move(access);
  return stored.verdict;
}

void AccessGate::MakeRoomForCaller() {
  if (callers_.size() < std::max<size_t>(options_.max_caller_verdicts, 1)) return;
  const TimePoint now = clock_->Now();
  std::erase_if(callers_, [now](const auto& kv) { return kv.second.valid_until <= now; });
  if (callers_.size() < std::max<size_t>(options_.max_caller_verdicts, 1)) return;
  auto soonest = std::min_element(callers_.begin(), callers_.end(), [](const auto& a, const auto& b) {
    return a.second.valid_until < b.second.valid_until;
  });
  callers_.erase(soonest);
}

size_t AccessGate::caller_verdicts() {
  MutexLock lock(&mu_);
  return callers_.size();
}

std::string AccessGate::CredentialFor(const RepoId& repo) {
  const std::optional<Caller> caller = CurrentCaller();
  if (!per_user() || !caller) return "";
  MutexLock lock(&mu_);
  auto it = callers_.find(CallerKey(*caller, repo));
  return it == callers_.end() ? "" : it->second.token;
}

}  // namespace hfm
