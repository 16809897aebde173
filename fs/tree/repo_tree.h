// RepoTree: the mount's own paths (subtree.h), the Hub's repos by name:
//
//   /                       datasets, spaces, and the orgs of known model repos
//   /ORG/NAME[@REV]/...     a model repo at its default branch or at REV
//   /datasets/ORG/NAME/...  /spaces/ORG/NAME/...
//
// The names of orgs and repos are made on lookup; a repo directory resolves
// its revision on each use, and what lies below it is one snapshot's.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "fs/tree/snapshot_source.h"
#include "fs/tree/subtree.h"

namespace hfm {

class RepoTree : public Subtree {
 public:
  // `snapshots` is borrowed and must outlive this object. `mount_time`
  // (Unix seconds) is the mtime of the folders above the repos.
  RepoTree(SnapshotSource* snapshots, TreeTimeouts timeouts, int64_t mount_time);

  // The mount point.
  std::shared_ptr<const Node> Root();

  Result<std::shared_ptr<const Node>> Lookup(const Node& dir, std::string_view name) override;
  Result<std::vector<DirEntry>> List(const Node& dir) override;
  Result<Attr> AttrOf(const Node& node) override;
  EntryTimeouts Timeouts(const Node& parent, const Node& child) const override;
  double NegativeTimeout(const Node& dir) const override;

 private:
  Result<std::shared_ptr<const Node>> LookupOrg(const Node& dir, std::string_view name);
  Result<std::shared_ptr<const Node>> LookupRepo(const Node& org, std::string_view name);
  Result<std::shared_ptr<const Node>> LookupEntry(const Node& dir, std::string_view name);
  std::vector<DirEntry> ListKnownRepos(const Node& dir);
  Result<std::vector<DirEntry>> ListSnapshotDir(const Node& dir);
  // What a repo directory's revision names now, or a snapshot node's own.
  Result<std::shared_ptr<const Snapshot>> SnapshotOf(const Node& node);

  SnapshotSource* const snapshots_;
  const TreeTimeouts timeouts_;
  const int64_t mount_time_;
};

}  // namespace hfm
