#include "fs/tree/snapshot_source.h"

#include "fs/tree/meta_records.h"
#include "fs/tree/repo_name.h"
#include "util/log.h"

namespace hfm {
namespace {

constexpr size_t kRecentSnapshots = 32;

std::string Describe(const RepoId& repo, const std::string& revision) {
  return RepoDisplayName(repo) + "@" + (revision.empty() ? "<default branch>" : revision);
}

AccessGateOptions GateOptions(const SnapshotSourceOptions& options) {
  AccessGateOptions gate;
  gate.revision_ttl = options.revision_ttl;
  gate.request_timeout = options.request_timeout;
  gate.offline = options.offline;
  gate.serve_gated_offline = options.serve_gated_offline;
  gate.user_token = options.user_token;
  gate.max_caller_verdicts = options.max_caller_verdicts;
  return gate;
}

}  // namespace

SnapshotSource::SnapshotSource(HubClient* hub, MetaStore* meta, Clock* clock,
                               SnapshotSourceOptions options)
    : hub_(hub), meta_(meta), clock_(clock), options_(options), gate_(hub, meta, clock, GateOptions(options)) {}

bool SnapshotSource::Trusts(const MetadataOrigin& origin) const {
  const std::string& trusted = hub_->trusted_endpoint();
  return trusted.empty() || (origin.trusted && origin.endpoint == trusted);
}

const LockedRepo* SnapshotSource::LockedAt(const RepoId& repo, const std::string& commit) const {
  const LockedRepo* locked = options_.lock ? options_.lock->Find(repo) : nullptr;
  return locked && locked->commit == commit ? locked : nullptr;
}

Status SnapshotSource::CheckLock(const LockedRepo& locked, const std::vector<TreeEntry>& entries) {
  const std::string mismatch = LockMismatch(locked, entries);
  if (mismatch.empty()) return Status::Ok();
  const std::string message = "refusing " + Describe(locked.repo, locked.commit) +
                              ": its listing disagrees with the lock file: " + mismatch;
  bool first = false;
  {
    MutexLock lock(&mu_);
    first = lock_refused_.insert(RepoDisplayName(locked.repo)).second;
  }
  if (first) LogError(message);
  return Status::DataLoss(message);
}

Result<std::shared_ptr<const Snapshot>> SnapshotSource::Current(const RepoId& repo,
                                                                const std::string& revision) {
  auto commit = ResolveCommit(repo, revision);
  if (!commit.ok()) return commit.status();
  auto snap = LoadSnapshot(repo, *commit);
  if (!snap.ok()) return snap;
  HFM_RETURN_IF_ERROR(gate_.Check(**snap));
  RememberRepo(repo);
  return snap;
}

std::optional<std::pair<std::string, int64_t>> SnapshotSource::RecordedCommit(const std::string& key) {
  auto stored = meta_->Get(key);
  if (!stored.ok() || !stored->has_value()) return std::nullopt;
  auto rec = DecodeRevisionRecord(**stored);
  if (!rec || !Trusts(rec->origin)) return std::nullopt;
  const std::string commit = rec->commit;
  const int64_t age = clock_->WallSeconds() - rec->at;
  const double ttl = std::chrono::duration<double>(options_.revision_ttl).count();
  if (age < 0 || static_cast<double>(age) >= ttl) return std::nullopt;
  return std::make_pair(commit, age);
}

void SnapshotSource::WaitForChange() { cv_.Wait(&mu_); }

Result<std::string> SnapshotSource::ResolveCommit(const RepoId& repo, const std::string& revision) {
  if (const LockedRepo* locked = options_.lock ? options_.lock->Find(repo) : nullptr) {
    // The lock names the commit: no request, and no other revision.
    if (revision == locked->revision || (IsCommitId(revision) && LockedAt(repo, revision))) return locked->commit;
    return Status::Unavailable(Describe(repo, revision) + ": the lock file pins this repo at \"" +
                               locked->revision + "\" (" + locked->commit + ") only");
  }
  // A commit id names itself: no request, so pinned paths work offline.
  if (IsCommitId(revision)) return revision;

  const std::string key = RevisionMetaKey(repo, revision);
  MutexLock lock(&mu_);
  for (;;) {
    auto it = resolved_.find(key);
    if (it != resolved_.end()) {
      const Duration ttl = it->second.error.ok() ? options_.revision_ttl : options_.negative_ttl;
      if (clock_->Now() - it->second.at < ttl) {
        if (!it->second.error.ok()) return it->second.error;
        return it->second.commit;
      }
    }
    if (!resolving_.count(key)) break;
    WaitForChange();  // another thread is asking the Hub; it bounds the wait by its deadline
  }
  if (resolved_.find(key) == resolved_.end()) {
    // First use since the mount: a resolution recorded in the cache by an
    // earlier mount (or another mount on the same cache) counts until its
    // revision_ttl runs out, so a remount does not ask again at once.
    if (auto recorded = RecordedCommit(key)) {
      Resolved entry;
      entry.commit = recorded->first;
      entry.at = clock_->Now() - std::chrono::seconds(recorded->second);
      resolved_[key] = entry;
      return entry.commit;
    }
  }
  resolving_.insert(key);
  lock.Unlock();

  Resolved entry;
  Result<std::string> result = AskHub(repo, revision, key, &entry);

  lock.Lock();
  resolving_.erase(key);
  resolved_[key] = std::move(entry);
  cv_.SignalAll();
  return result;
}

Result<std::string> SnapshotSource::AskHub(const RepoId& repo, const std::string& revision, const std::string& key,
                                          Resolved* entry) {
  Result<std::string> fresh = Status::Unavailable("offline (HF_HUB_OFFLINE)");
  MetadataOrigin origin;
  if (!options_.offline) {
    auto info = hub_->ResolveRevisionInfo(repo, revision, clock_->Now() + options_.request_timeout, &origin);
    if (info.ok()) gate_.RecordResolution(repo, info->visibility);
    fresh = info.ok() ? Result<std::string>(std::move(info->commit)) : Result<std::string>(info.status());
  }

  entry->at = clock_->Now();
  Result<std::string> result = fresh;
  if (fresh.ok()) {
    entry->commit = *fresh;
    entry->trusted = Trusts(origin);
    Status st = meta_->Put(key, EncodeRevisionRecord({*fresh, clock_->WallSeconds(), origin}));
    if (!st.ok()) LogWarning("cannot record revision " + Describe(repo, revision) + ": " + st.ToString());
  } else if (fresh.status().IsNotFound() || fresh.status().IsPermissionDenied()) {
    entry->error = fresh.status();
  } else {
    // The Hub is unreachable or failing: serve the last commit we knew.
    const std::optional<std::string> commit = LastKnownCommit(key);
    if (commit && IsCommitId(*commit)) {
      if (!options_.offline) {
        LogWarning("cannot resolve " + Describe(repo, revision) + " at " + hub_->endpoint() + " (" +
                   fresh.status().ToString() + "); using last known commit " + *commit);
      }
      entry->commit = *commit;
      result = *commit;
    } else {
      entry->error = fresh.status();
      // Transient failures are not remembered: the next lookup asks again.
      entry->at = clock_->Now() - options_.negative_ttl;
    }
  }
  return result;
}

std::optional<std::string> SnapshotSource::LastKnownCommit(const std::string& key) {
  auto stored = meta_->Get(key);
  if (stored.ok() && stored->has_value()) {
    auto rec = DecodeRevisionRecord(**stored);
    if (rec && Trusts(rec->origin)) return rec->commit;
  }
  MutexLock lock(&mu_);
  auto old = resolved_.find(key);
  if (old != resolved_.end() && old->second.error.ok() && old->second.trusted) return old->second.commit;
  return std::nullopt;
}

Result<std::shared_ptr<const Snapshot>> SnapshotSource::LoadSnapshot(const RepoId& repo,
                                                                     const std::string& commit) {
  const std::string key = TreeMetaKey(repo, commit);
  MutexLock lock(&mu_);
  for (;;) {
    auto it = snapshots_.find(key);
    if (it != snapshots_.end()) {
      if (auto snap = it->second.lock()) return std::shared_ptr<const Snapshot>(snap);
    }
    if (!loading_.count(key)) break;
    WaitForChange();
  }
  loading_.insert(key);
  lock.Unlock();

  auto loaded = LoadSnapshotUncached(repo, commit);

  lock.Lock();
  loading_.erase(key);
  if (loaded.ok()) {
    snapshots_[key] = *loaded;
    // Keep the last few snapshots alive even with no node holding them, so a
    // re-lookup soon after does not re-parse the listing.
    recent_.emplace_back(*loaded);
    if (recent_.size() > kRecentSnapshots) recent_.pop_front();
  }
  cv_.SignalAll();
  return loaded;
}

Result<std::shared_ptr<const Snapshot>> SnapshotSource::LoadSnapshotUncached(
    const RepoId& repo, const std::string& commit) {
  const std::string key = TreeMetaKey(repo, commit);
  auto stored = meta_->Get(key);
  if (stored.ok() && stored->has_value()) {
    auto decoded = DecodeListing(**stored);
    const LockedRepo* locked = LockedAt(repo, commit);
    // A lock vouches for a listing whoever gave it; without one, the origin must.
    if (decoded && (locked ? LockMismatch(*locked, decoded->entries).empty() : Trusts(decoded->origin))) {
      return MakeSnapshot(repo, commit, std::move(decoded->entries), decoded->first_seen);
    }
    if (decoded && locked) {
      LogInfo("cached listing of " + Describe(repo, commit) + " disagrees with the lock file; listing again");
    } else if (decoded) {
      const std::string from = decoded->origin.endpoint.empty() ? "an unrecorded endpoint" : decoded->origin.endpoint;
      LogInfo("cached listing of " + Describe(repo, commit) + " came from " + from + ", not the trusted endpoint " +
              hub_->trusted_endpoint() + "; listing again from it");
    } else {
      LogWarning("cached listing of " + Describe(repo, commit) + " is damaged; listing again");
    }
  }
  if (options_.offline) {
    return Status::NotFound("offline and no cached listing for " + Describe(repo, commit));
  }
  MetadataOrigin origin;
  auto listed = hub_->ListTreeFrom(repo, commit, clock_->Now() + options_.request_timeout, &origin);
  if (!listed.ok()) return listed.status();
  if (const LockedRepo* locked = LockedAt(repo, commit)) HFM_RETURN_IF_ERROR(CheckLock(*locked, *listed));
  auto snap = MakeSnapshot(repo, commit, std::move(*listed), clock_->WallSeconds());
  if (!snap.ok()) return snap.status();
  Status st = meta_->Put(key, EncodeListing(**snap, origin));
  if (!st.ok()) LogWarning("cannot store listing of " + Describe(repo, commit) + ": " + st.ToString());
  return snap;
}

Result<std::shared_ptr<const Snapshot>> SnapshotSource::MakeSnapshot(const RepoId& repo, const std::string& commit,
                                                                     std::vector<TreeEntry> entries,
                                                                     int64_t first_seen) {
  ListingMemory* const budget = options_.listing_memory;
  if (budget != nullptr) {
    uint64_t needed = 0;
    for (const TreeEntry& e : entries) needed += ListedPathFootprint(e.path.size());
    for (;;) {
      std::shared_ptr<const Snapshot> oldest;
      {
        MutexLock lock(&mu_);
        if (recent_.empty() || budget->limit() - std::min(budget->used(), budget->limit()) >= needed) break;
        oldest = std::move(recent_.front());
        recent_.pop_front();
      }
      // `oldest` ends here, outside the lock: its charge returns to the
      // budget unless a node still holds it (then it stays reachable
      // through snapshots_ for as long as it lives).
    }
  }
  return Snapshot::Make(repo, commit, std::move(entries), first_seen, budget, options_.listing_cap);
}

void SnapshotSource::RememberRepo(const RepoId& repo) {
  const size_t slash = repo.name.find('/');
  if (slash == std::string::npos) return;
  KnownRepo known{repo.kind, repo.name.substr(0, slash), repo.name.substr(slash + 1)};
  {
    MutexLock lock(&mu_);
    if (!known_.insert(known).second) return;
  }
  Status st = meta_->Put(KnownRepoMetaKey(repo), "");
  if (!st.ok()) LogWarning("cannot record repo " + RepoDisplayName(repo) + ": " + st.ToString());
}

std::vector<KnownRepo> SnapshotSource::KnownRepos() {
  MutexLock lock(&mu_);
  if (!known_loaded_) {
    lock.Unlock();
    auto keys = meta_->KeysWithPrefix(kRepoKeyPrefix);
    lock.Lock();
    known_loaded_ = true;
    if (keys.ok()) {
      for (const auto& k : *keys) {
        auto parsed = ParseMetaKey(std::string_view(k).substr(kRepoKeyPrefix.size()));
        if (!parsed) continue;
        const std::string& name = parsed->first.name;
        const size_t slash = name.find('/');
        known_.insert(KnownRepo{parsed->first.kind, name.substr(0, slash), name.substr(slash + 1)});
      }
    }
  }
  return {known_.begin(), known_.end()};
}

}  // namespace hfm
