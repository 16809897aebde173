// What the cache holds per repo and revision, and dropping one repo's part of
// it: `hfmirror cache ls | evict | purge`. Joins the MetaStore's listings of
// commits (meta_records.h) with the BlockStore's files, without the network.
//
// The store keys bytes by content, so a file two revisions (or two repos)
// share is stored once: each revision counts it, and evicting one revision
// keeps what another cached listing still names.
//
// Thread safety: each call is independent; safe beside a running mount on the
// same cache (a dropped file is a cache miss to it, never wrong bytes).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/block_store.h"
#include "fetch/hub_client.h"
#include "util/status.h"

namespace hfm {

// How the default branch, asked for by no name, appears among revisions.
inline constexpr const char* kDefaultBranchName = "(default)";

struct CachedRevision {
  RepoId repo;
  std::string commit;
  std::vector<std::string> revisions;  // branches and tags last seen pointing here, in key order
  uint64_t files = 0;                  // files in the listing
  uint64_t bytes = 0;                  // their total size
  uint64_t cached_files = 0;           // files with any byte cached
  uint64_t complete_files = 0;         // files cached whole and verified
  uint64_t cached_bytes = 0;
};

struct CacheInventory {
  std::vector<CachedRevision> revisions;  // by repo, then commit
  uint64_t unlisted_files = 0;            // stored, but named by no cached listing
  uint64_t unlisted_bytes = 0;
  uint64_t stored_files = 0;
  uint64_t stored_bytes = 0;  // every stored block, counted once
};

Result<CacheInventory> TakeInventory(BlockStore* store, MetaStore* meta);

// A name for each file a cached listing holds ("ORG/NAME@COMMIT/PATH", the
// first listing that has it), for messages about a hash.
Result<std::unordered_map<ContentHash, std::string, ContentHashHasher>> ListedNames(MetaStore* meta);

// The commit `revision` names: itself if a commit id, else what the last
// resolution recorded in the cache says; NotFound if none.
Result<std::string> RecordedCommit(MetaStore* meta, const RepoId& repo, const std::string& revision);

struct EvictOutcome {
  uint64_t revisions = 0;      // listings whose files were dropped
  uint64_t dropped_files = 0;
  uint64_t freed_bytes = 0;
  uint64_t shared_files = 0;   // kept: another cached listing names them too
};

// Drops the cached bytes of `repo`'s files at `commit`, or at every cached
// commit of it if `commit` is empty, but those another cached listing also
// names. The listings stay, so the repo still lists offline.
Result<EvictOutcome> EvictRepo(BlockStore* store, MetaStore* meta, const RepoId& repo, const std::string& commit);

// Every stored file and every listing and resolution: an empty cache.
Result<EvictOutcome> PurgeCache(BlockStore* store, MetaStore* meta);

}  // namespace hfm
