// Snapshot: one commit of one repo as a directory tree, built once from the
// Hub's recursive tree listing and never changed. Every directory node and open
// file of the mount refers to exactly one Snapshot, so a listing never mixes
// two commits and an open file keeps reading the commit it was opened at.
//
// Thread safety: immutable after construction; share as
// std::shared_ptr<const Snapshot>.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fetch/hub_client.h"
#include "fetch/listing_memory.h"
#include "util/status.h"

namespace hfm {

struct SnapshotEntry {
  std::string path;  // from the repo root
  std::string name;  // last component
  bool is_dir = false;
  uint64_t size = 0;
  ContentHash hash;  // files only
  bool is_lfs = false;
  uint32_t subdirs = 0;  // directories only: for nlink
};

class Snapshot {
 public:
  // Builds a snapshot from a listing, its memory charged to `budget`
  // (borrowed, may be null) and capped at `cap` bytes before anything is
  // built: the listing is validated (tree_parser.h, so a listing read back
  // from the cache is checked as one from the Hub), then every entry is
  // charged at ListedPathFootprint. ResourceExhausted (EIO) when either cap
  // would be passed; the charge is held until the snapshot is destroyed.
  static Result<std::shared_ptr<const Snapshot>> Make(RepoId repo, std::string commit,
                                                      std::vector<TreeEntry> entries, int64_t first_seen,
                                                      ListingMemory* budget, uint64_t cap);

  // `entries` must be validated (tree_parser.h: unique, every parent
  // present); an entry whose parent is missing is not reachable.
  // `first_seen` (Unix seconds) becomes every entry's mtime: the listing
  // carries no per-file times without expand=true, which is too slow to
  // use, and a stable time keeps `make`-style tools calm.
  Snapshot(RepoId repo, std::string commit, std::vector<TreeEntry> entries, int64_t first_seen,
           ListingCharge charge = ListingCharge());
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  const RepoId& repo() const { return repo_; }
  const std::string& commit() const { return commit_; }
  int64_t first_seen() const { return first_seen_; }
  const SnapshotEntry& root() const { return root_; }
  size_t file_count() const { return file_count_; }
  // Bytes of the listing memory budget this snapshot holds.
  uint64_t charged_bytes() const { return charge_.bytes(); }

  // The entry at `path` ("" is the root), or nullptr.
  const SnapshotEntry* Find(std::string_view path) const;
  // The entry named `name` inside directory `dir`, or nullptr.
  const SnapshotEntry* FindChild(const SnapshotEntry& dir, std::string_view name) const;
  // A file whose content is `hash`, or nullptr (a linear scan).
  const SnapshotEntry* FindFileWithHash(const ContentHash& hash) const;
  // Children of a directory, sorted by name.
  const std::vector<const SnapshotEntry*>& Children(const SnapshotEntry& dir) const;

  // The entries as given (for persisting the listing).
  std::vector<TreeEntry> ToTreeEntries() const;

 private:
  // The index of `e` in entries_, or entries_.size() for the root.
  size_t IndexOf(const SnapshotEntry& e) const;

  RepoId repo_;
  std::string commit_;
  int64_t first_seen_;
  SnapshotEntry root_;
  size_t file_count_ = 0;
  // Each path is stored once, here, sorted by path; lookups bisect it.
  std::vector<SnapshotEntry> entries_;
  // children_[i]: the children of entries_[i]; the last slot is the root's.
  std::vector<std::vector<const SnapshotEntry*>> children_;
  ListingCharge charge_;
};

}  // namespace hfm
