#include "fs/tree/repo_tree.h"

#include <set>
#include <string>

#include "fs/tree/repo_name.h"

namespace hfm {
namespace {

enum class RepoNode : uint8_t {
  kRoot,      // the mount point
  kKindDir,   // /datasets, /spaces
  kOrgDir,    // /ORG, /datasets/ORG
  kRepoRoot,  // /ORG/NAME[@REV]: resolves its revision on use
  kDir,       // a folder of one snapshot
  kFile,      // a file of one snapshot
};

RepoNode TypeOfNode(const Node& node) { return TypeOf<RepoNode>(node); }

std::string EntryKey(const Node& repo_dir, const Snapshot& snap, const std::string& path) {
  return "E|" + std::string(RepoKindPlural(repo_dir.repo.kind)) + "|" + repo_dir.repo.name + "@" +
         repo_dir.revision + "|" + snap.commit() + "|" + path;
}

std::string RepoRootKey(const RepoId& repo, const std::string& revision) {
  return "R|" + std::string(RepoKindPlural(repo.kind)) + "|" + repo.name + "@" + revision;
}

std::string OrgKey(RepoKind kind, std::string_view org) {
  return "O|" + std::string(RepoKindPlural(kind)) + "|" + std::string(org);
}

bool IsAboveRepos(RepoNode type) {
  return type == RepoNode::kRoot || type == RepoNode::kKindDir || type == RepoNode::kOrgDir;
}

}  // namespace

RepoTree::RepoTree(SnapshotSource* snapshots, TreeTimeouts timeouts, int64_t mount_time)
    : snapshots_(snapshots), timeouts_(timeouts), mount_time_(mount_time) {}

std::shared_ptr<const Node> RepoTree::Root() {
  return MakeNode(this, RepoNode::kRoot, NodeShape::kDirectory, "/");
}

Result<std::shared_ptr<const Snapshot>> RepoTree::SnapshotOf(const Node& node) {
  if (node.snapshot) return node.snapshot;
  if (TypeOfNode(node) != RepoNode::kRepoRoot) return Status::Internal("node has no snapshot");
  return snapshots_->Current(node.repo, node.revision);
}

Result<std::shared_ptr<const Node>> RepoTree::Lookup(const Node& dir, std::string_view name) {
  switch (TypeOfNode(dir)) {
    case RepoNode::kRoot:
      if (name == "datasets" || name == "spaces") {
        auto node = MakeNode(this, RepoNode::kKindDir, NodeShape::kDirectory, "K|" + std::string(name));
        node->repo_kind = name == "datasets" ? RepoKind::kDataset : RepoKind::kSpace;
        return std::shared_ptr<const Node>(node);
      }
      return LookupOrg(dir, name);
    case RepoNode::kKindDir:
      return LookupOrg(dir, name);
    case RepoNode::kOrgDir:
      return LookupRepo(dir, name);
    case RepoNode::kRepoRoot:
    case RepoNode::kDir:
      return LookupEntry(dir, name);
    case RepoNode::kFile:
      break;
  }
  return Status::NotADirectory("not a directory");
}

Result<std::shared_ptr<const Node>> RepoTree::LookupOrg(const Node& dir, std::string_view name) {
  if (!IsValidOrgName(name)) return Status::NotFound("not an org name");
  const RepoKind kind = TypeOfNode(dir) == RepoNode::kRoot ? RepoKind::kModel : dir.repo_kind;
  auto node = MakeNode(this, RepoNode::kOrgDir, NodeShape::kDirectory, OrgKey(kind, name));
  node->repo_kind = kind;
  node->org = std::string(name);
  return std::shared_ptr<const Node>(node);
}

Result<std::shared_ptr<const Node>> RepoTree::LookupRepo(const Node& org, std::string_view name) {
  auto parsed = ParseRepoDirName(name);
  if (!parsed) return Status::NotFound("not a repo name");
  const RepoId repo{org.repo_kind, org.org + "/" + parsed->name};
  auto node = MakeNode(this, RepoNode::kRepoRoot, NodeShape::kDirectory, RepoRootKey(repo, parsed->revision));
  node->repo = repo;
  node->revision = parsed->revision;
  node->pinned = IsCommitId(parsed->revision);
  // Resolve now: a missing repo or revision must be ENOENT at lookup.
  auto snap = snapshots_->Current(node->repo, node->revision);
  if (!snap.ok()) return snap.status();
  return std::shared_ptr<const Node>(node);
}

Result<std::shared_ptr<const Node>> RepoTree::LookupEntry(const Node& dir, std::string_view name) {
  auto snap = SnapshotOf(dir);
  if (!snap.ok()) return snap.status();
  const SnapshotEntry* folder = dir.entry ? dir.entry : &(*snap)->root();
  const SnapshotEntry* child = (*snap)->FindChild(*folder, name);
  if (!child) return Status::NotFound("no such entry");
  auto node = child->is_dir
                  ? MakeNode(this, RepoNode::kDir, NodeShape::kDirectory, EntryKey(dir, **snap, child->path))
                  : MakeNode(this, RepoNode::kFile, NodeShape::kRepoFile, EntryKey(dir, **snap, child->path));
  node->repo = dir.repo;
  node->revision = dir.revision;
  node->pinned = dir.pinned;
  node->snapshot = *snap;
  node->entry = child;
  return std::shared_ptr<const Node>(node);
}

Result<std::vector<DirEntry>> RepoTree::List(const Node& dir) {
  const RepoNode type = TypeOfNode(dir);
  if (IsAboveRepos(type)) return ListKnownRepos(dir);
  if (type == RepoNode::kRepoRoot || type == RepoNode::kDir) return ListSnapshotDir(dir);
  return Status::NotADirectory("not a directory");
}

std::vector<DirEntry> RepoTree::ListKnownRepos(const Node& dir) {
  std::vector<DirEntry> out;
  const RepoNode type = TypeOfNode(dir);
  const RepoKind kind = type == RepoNode::kRoot ? RepoKind::kModel : dir.repo_kind;
  if (type == RepoNode::kRoot) {
    out.push_back(MakeDirEntry("datasets", NodeShape::kDirectory, "K|datasets"));
    out.push_back(MakeDirEntry("spaces", NodeShape::kDirectory, "K|spaces"));
  }
  // An org folder lists its repos' names; the others, the orgs.
  std::set<std::string> names;
  for (const auto& r : snapshots_->KnownRepos()) {
    if (r.kind != kind) continue;
    if (type != RepoNode::kOrgDir) {
      names.insert(r.org);
    } else if (r.org == dir.org) {
      names.insert(r.name);
    }
  }
  for (const auto& n : names) {
    const std::string key =
        type == RepoNode::kOrgDir ? RepoRootKey(RepoId{kind, dir.org + "/" + n}, "") : OrgKey(kind, n);
    out.push_back(MakeDirEntry(n, NodeShape::kDirectory, key));
  }
  return out;
}

Result<std::vector<DirEntry>> RepoTree::ListSnapshotDir(const Node& dir) {
  auto snap = SnapshotOf(dir);
  if (!snap.ok()) return snap.status();
  const SnapshotEntry* folder = dir.entry ? dir.entry : &(*snap)->root();
  std::vector<DirEntry> out;
  for (const SnapshotEntry* child : (*snap)->Children(*folder)) {
    const NodeShape shape = child->is_dir ? NodeShape::kDirectory : NodeShape::kRepoFile;
    out.push_back(MakeDirEntry(child->name, shape, EntryKey(dir, **snap, child->path)));
  }
  return out;
}

Result<Attr> RepoTree::AttrOf(const Node& node) {
  Attr a;
  a.is_dir = node.is_dir();
  a.mtime = mount_time_;
  switch (TypeOfNode(node)) {
    case RepoNode::kRoot:
    case RepoNode::kKindDir:
    case RepoNode::kOrgDir:
      // nlink = 2 + subdirectories, as for any directory.
      a.nlink = 2 + static_cast<uint32_t>(ListKnownRepos(node).size());
      return a;
    case RepoNode::kRepoRoot: {
      auto snap = SnapshotOf(node);
      if (!snap.ok()) return snap.status();
      a.mtime = (*snap)->first_seen();
      a.nlink = 2 + (*snap)->root().subdirs;
      return a;
    }
    case RepoNode::kDir:
      a.mtime = node.snapshot->first_seen();
      a.nlink = 2 + node.entry->subdirs;
      return a;
    case RepoNode::kFile:
      a.mtime = node.snapshot->first_seen();
      a.size = node.entry->size;
      return a;
  }
  return Status::Internal("unknown repo tree node");
}

EntryTimeouts RepoTree::Timeouts(const Node& parent, const Node& child) const {
  switch (TypeOfNode(child)) {
    case RepoNode::kRoot:
    case RepoNode::kKindDir:
    case RepoNode::kOrgDir:
      return {TreeTimeouts::kVirtual, TreeTimeouts::kVirtual};
    case RepoNode::kRepoRoot:
      // The name is stable; what it points to follows the branch.
      return child.pinned ? EntryTimeouts{timeouts_.pinned, timeouts_.pinned}
                          : EntryTimeouts{TreeTimeouts::kVirtual, timeouts_.branch};
    case RepoNode::kDir:
    case RepoNode::kFile: {
      // A snapshot's entries never change; only the names directly under a
      // branch's repo directory must be looked up again to follow the branch.
      const bool under_branch =
          parent.subtree == this && TypeOfNode(parent) == RepoNode::kRepoRoot && !parent.pinned;
      return {under_branch ? timeouts_.branch : timeouts_.pinned, timeouts_.pinned};
    }
  }
  return {TreeTimeouts::kVirtual, TreeTimeouts::kVirtual};
}

double RepoTree::NegativeTimeout(const Node& dir) const {
  const RepoNode type = TypeOfNode(dir);
  if (type == RepoNode::kDir || (type == RepoNode::kRepoRoot && dir.pinned)) {
    return timeouts_.pinned;  // a commit never gains a file
  }
  if (type == RepoNode::kRepoRoot) return timeouts_.branch;
  return timeouts_.negative;
}

}  // namespace hfm
