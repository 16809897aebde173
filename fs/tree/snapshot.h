// Snapshot: one commit of one repo as a directory tree, built once from the
// Hub's recursive tree listing and never changed. Every directory node and open
// file of the mount refers to exactly one Snapshot, so a listing never mixes
// two commits and an open file keeps reading the commit it was opened at.
//
// Thread safety: immutable after construction; share as
// std::shared_ptr<const Snapshot>.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fetch/hub_client.h"

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
  // `entries` must be validated (tree_parser.h); missing parent directories
  // are synthesized. `first_seen` (Unix seconds) becomes every entry's mtime:
  // the listing carries no per-file times without expand=true, which is too
  // slow to use, and a stable time keeps `make`-style tools calm.
  Snapshot(RepoId repo, std::string commit, std::vector<TreeEntry> entries, int64_t first_seen);

  const RepoId& repo() const { return repo_; }
  const std::string& commit() const { return commit_; }
  int64_t first_seen() const { return first_seen_; }
  const SnapshotEntry& root() const { return root_; }
  size_t file_count() const { return file_count_; }

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
  RepoId repo_;
  std::string commit_;
  int64_t first_seen_;
  SnapshotEntry root_;
  size_t file_count_ = 0;
  std::map<std::string, SnapshotEntry, std::less<>> entries_;  // by path
  std::map<std::string, std::vector<const SnapshotEntry*>, std::less<>> children_;  // by dir path
};

}  // namespace hfm
