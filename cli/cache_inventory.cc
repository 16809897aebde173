#include "cli/cache_inventory.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "cache/store_maintenance.h"
#include "fs/tree/meta_records.h"
#include "fs/tree/repo_name.h"

namespace hfm {
namespace {

struct Listing {
  RepoId repo;
  std::string commit;
  std::vector<TreeEntry> entries;
};

bool SameRepo(const RepoId& a, const RepoId& b) { return a.kind == b.kind && a.name == b.name; }

// Every listing the cache holds; damaged records are skipped (a mount lists
// those commits again when asked).
Result<std::vector<Listing>> LoadListings(MetaStore* meta) {
  auto keys = meta->KeysWithPrefix(kTreeKeyPrefix);
  if (!keys.ok()) return keys.status();
  std::vector<Listing> out;
  for (const std::string& key : *keys) {
    auto parsed = ParseMetaKey(std::string_view(key).substr(kTreeKeyPrefix.size()));
    if (!parsed || !IsCommitId(parsed->second)) continue;
    auto value = meta->Get(key);
    if (!value.ok()) return value.status();
    if (!value->has_value()) continue;  // deleted since the scan
    auto decoded = DecodeListing(**value);
    if (!decoded) continue;
    out.push_back(Listing{std::move(parsed->first), std::move(parsed->second), std::move(decoded->entries)});
  }
  return out;
}

using StoredByHash = std::unordered_map<ContentHash, StoredFile, ContentHashHasher>;

Result<StoredByHash> LoadStored(BlockStore* store) {
  auto files = store->ListFiles();
  if (!files.ok()) return files.status();
  StoredByHash out;
  for (StoredFile& f : *files) out.emplace(f.hash, std::move(f));
  return out;
}

}  // namespace

Result<CacheInventory> TakeInventory(BlockStore* store, MetaStore* meta) {
  auto listings = LoadListings(meta);
  if (!listings.ok()) return listings.status();
  auto stored = LoadStored(store);
  if (!stored.ok()) return stored.status();

  // Which branch or tag names last resolved to each commit.
  std::map<std::tuple<RepoKind, std::string, std::string>, std::vector<std::string>> names;
  auto rev_keys = meta->KeysWithPrefix(kRevisionKeyPrefix);
  if (!rev_keys.ok()) return rev_keys.status();
  for (const std::string& key : *rev_keys) {
    auto parsed = ParseMetaKey(std::string_view(key).substr(kRevisionKeyPrefix.size()));
    auto value = meta->Get(key);
    if (!parsed || !value.ok() || !value->has_value()) continue;
    if (auto record = DecodeRevisionRecord(**value)) {
      // A mount asked for the default branch by no name: "(default)".
      names[{parsed->first.kind, parsed->first.name, record->commit}].push_back(
          parsed->second.empty() ? kDefaultBranchName : parsed->second);
    }
  }

  CacheInventory inventory;
  std::unordered_set<ContentHash, ContentHashHasher> listed;
  for (const Listing& l : *listings) {
    CachedRevision r;
    r.repo = l.repo;
    r.commit = l.commit;
    if (auto it = names.find({l.repo.kind, l.repo.name, l.commit}); it != names.end()) r.revisions = it->second;
    for (const TreeEntry& e : l.entries) {
      if (e.is_dir) continue;
      r.files++;
      r.bytes += e.size;
      listed.insert(e.hash);
      if (e.size == 0) {  // nothing to cache: an empty file is always whole
        r.cached_files++;
        r.complete_files++;
        continue;
      }
      auto it = stored->find(e.hash);
      if (it == stored->end() || it->second.cached_bytes == 0) continue;
      r.cached_files++;
      r.cached_bytes += it->second.cached_bytes;
      if (it->second.complete) r.complete_files++;
    }
    inventory.revisions.push_back(std::move(r));
  }
  std::sort(inventory.revisions.begin(), inventory.revisions.end(),
            [](const CachedRevision& a, const CachedRevision& b) {
              return std::tie(a.repo.kind, a.repo.name, a.commit) < std::tie(b.repo.kind, b.repo.name, b.commit);
            });
  for (const auto& [hash, f] : *stored) {
    inventory.stored_files++;
    inventory.stored_bytes += f.cached_bytes;
    if (!listed.count(hash)) {
      inventory.unlisted_files++;
      inventory.unlisted_bytes += f.cached_bytes;
    }
  }
  return inventory;
}

Result<std::unordered_map<ContentHash, std::string, ContentHashHasher>> ListedNames(MetaStore* meta) {
  auto listings = LoadListings(meta);
  if (!listings.ok()) return listings.status();
  std::unordered_map<ContentHash, std::string, ContentHashHasher> names;
  for (const Listing& l : *listings) {
    for (const TreeEntry& e : l.entries) {
      if (!e.is_dir) names.try_emplace(e.hash, RepoDisplayName(l.repo) + "@" + l.commit + "/" + e.path);
    }
  }
  return names;
}

Result<std::string> RecordedCommit(MetaStore* meta, const RepoId& repo, const std::string& revision) {
  if (IsCommitId(revision)) return revision;
  auto value = meta->Get(RevisionMetaKey(repo, revision));
  if (!value.ok()) return value.status();
  if (value->has_value()) {
    if (auto record = DecodeRevisionRecord(**value)) return record->commit;
  }
  return Status::NotFound("the cache has no record of " + RepoDisplayName(repo) + "@" +
                          (revision.empty() ? "<default branch>" : revision));
}

Result<EvictOutcome> EvictRepo(BlockStore* store, MetaStore* meta, const RepoId& repo, const std::string& commit) {
  auto listings = LoadListings(meta);
  if (!listings.ok()) return listings.status();
  EvictOutcome outcome;
  std::set<std::pair<ContentHash, uint64_t>> targets;  // (hash, size)
  std::unordered_set<ContentHash, ContentHashHasher> kept;
  for (const Listing& l : *listings) {
    const bool target = SameRepo(l.repo, repo) && (commit.empty() || l.commit == commit);
    if (target) outcome.revisions++;
    for (const TreeEntry& e : l.entries) {
      if (e.is_dir) continue;
      if (target) {
        targets.emplace(e.hash, e.size);
      } else {
        kept.insert(e.hash);
      }
    }
  }
  if (outcome.revisions == 0) {
    return Status::NotFound("the cache holds no listing of " + RepoDisplayName(repo) +
                            (commit.empty() ? "" : "@" + commit));
  }
  auto stored = LoadStored(store);
  if (!stored.ok()) return stored.status();
  for (const auto& [hash, size] : targets) {
    auto it = stored->find(hash);
    if (it == stored->end()) continue;
    if (kept.count(hash)) {
      outcome.shared_files++;
      continue;
    }
    HFM_RETURN_IF_ERROR(store->DropFile(hash, size));
    outcome.dropped_files++;
    outcome.freed_bytes += it->second.cached_bytes;
    stored->erase(it);  // a hash listed twice in one repo is dropped once
  }
  return outcome;
}

Result<EvictOutcome> PurgeCache(BlockStore* store, MetaStore* meta) {
  auto shrunk = ShrinkStore(store, 0);
  if (!shrunk.ok()) return shrunk.status();
  EvictOutcome outcome;
  outcome.dropped_files = shrunk->dropped_files;
  outcome.freed_bytes = shrunk->freed_bytes;
  for (std::string_view prefix : {kTreeKeyPrefix, kRevisionKeyPrefix, kRepoKeyPrefix}) {
    auto keys = meta->KeysWithPrefix(prefix);
    if (!keys.ok()) return keys.status();
    for (const std::string& key : *keys) {
      HFM_RETURN_IF_ERROR(meta->Delete(key));
      if (prefix == kTreeKeyPrefix) outcome.revisions++;
    }
  }
  return outcome;
}

}  // namespace hfm
