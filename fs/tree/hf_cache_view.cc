#include "fs/tree/hf_cache_view.h"

#include <algorithm>
#include <optional>

#include "fs/tree/repo_name.h"

namespace hfm {
namespace {

enum class HfNode : uint8_t {
  kRoot,          // /.hf-cache
  kHub,           // /.hf-cache/hub
  kRepo,          // .../models--ORG--NAME
  kRefsDir,       // .../refs, .../refs/refs, .../refs/refs/pr (`ref`: the prefix)
  kRefFile,       // .../refs/REV: holds the commit (`ref`: the revision)
  kSnapshotsDir,  // .../snapshots
  kSnapshotDir,   // .../snapshots/COMMIT[/DIR...]
  kLink,          // .../snapshots/COMMIT/PATH: a symlink into blobs/
  kBlobsDir,      // .../blobs
  kBlob,          // .../blobs/ETAG: a repo file, read like any other
};

HfNode TypeOfNode(const Node& node) { return TypeOf<HfNode>(node); }

constexpr std::string_view kSep = "--";

std::string RepoPart(const RepoId& repo) { return std::string(RepoKindPlural(repo.kind)) + "|" + repo.name; }

std::string Etag(const SnapshotEntry& file) { return file.hash.ToHex(); }

// "models--ORG--NAME" -> the repo, or nullopt for a name the Hub cannot hold.
std::optional<RepoId> ParseRepoFolder(std::string_view folder) {
  const size_t first = folder.find(kSep);
  if (first == std::string_view::npos) return std::nullopt;
  const size_t second = folder.find(kSep, first + kSep.size());
  if (second == std::string_view::npos) return std::nullopt;
  const std::string_view kind = folder.substr(0, first);
  const std::string_view org = folder.substr(first + kSep.size(), second - first - kSep.size());
  const std::string_view name = folder.substr(second + kSep.size());
  const std::optional<RepoKind> repo_kind = RepoKindFromPlural(kind);
  if (!repo_kind) return std::nullopt;
  RepoId repo;
  repo.kind = *repo_kind;
  auto parsed = ParseRepoDirName(name);
  if (!IsValidOrgName(org) || !parsed || !parsed->revision.empty() || parsed->name != name) return std::nullopt;
  repo.name = std::string(org) + "/" + std::string(name);
  return repo;
}

std::string RepoFolder(RepoKind kind, const std::string& org, const std::string& name) {
  return std::string(RepoKindPlural(kind)) + std::string(kSep) + org + std::string(kSep) + name;
}

std::string LinkTarget(const SnapshotEntry& file) {
  std::string target;
  const auto depth = std::count(file.path.begin(), file.path.end(), '/');
  for (long i = 0; i < depth + 2; ++i) target += "../";
  return target + "blobs/" + Etag(file);
}

std::string RefContent(const Node& ref) { return ref.snapshot ? ref.snapshot->commit() : ""; }

}  // namespace

HfCacheView::HfCacheView(SnapshotSource* snapshots, TreeTimeouts timeouts, int64_t mount_time)
    : snapshots_(snapshots), timeouts_(timeouts), mount_time_(mount_time) {}

std::shared_ptr<const Node> HfCacheView::Root() {
  return MakeNode(this, HfNode::kRoot, NodeShape::kDirectory, "H|");
}

Result<std::shared_ptr<const Node>> HfCacheView::Lookup(const Node& dir, std::string_view name) {
  switch (TypeOfNode(dir)) {
    case HfNode::kRoot:
      if (name != "hub") return Status::NotFound("no such entry");
      return std::shared_ptr<const Node>(MakeNode(this, HfNode::kHub, NodeShape::kDirectory, "H|hub"));
    case HfNode::kHub:
      return LookupRepo(name);
    case HfNode::kRepo:
      return LookupInRepo(dir, name);
    case HfNode::kRefsDir:
      return LookupRef(dir, name);
    case HfNode::kSnapshotsDir:
      return LookupSnapshot(dir, name);
    case HfNode::kSnapshotDir: {
      const SnapshotEntry* child = dir.snapshot->FindChild(*dir.entry, name);
      if (!child) return Status::NotFound("no such entry");
      return SnapshotChild(dir, dir.snapshot, *child);
    }
    case HfNode::kBlobsDir:
      return LookupBlob(dir, name);
    case HfNode::kRefFile:
    case HfNode::kLink:
    case HfNode::kBlob:
      break;
  }
  return Status::NotADirectory("not a directory");
}

Result<std::shared_ptr<const Node>> HfCacheView::LookupRepo(std::string_view folder) {
  auto id = ParseRepoFolder(folder);
  if (!id) return Status::NotFound("not a cache folder name");
  // ENOENT for a repo the Hub does not have, as on the plain paths.
  auto snap = snapshots_->Current(*id, "");
  if (!snap.ok()) return snap.status();
  auto node = MakeNode(this, HfNode::kRepo, NodeShape::kDirectory, "H|r|" + RepoPart(*id));
  node->repo = *id;
  return std::shared_ptr<const Node>(node);
}

Result<std::shared_ptr<const Node>> HfCacheView::LookupInRepo(const Node& repo, std::string_view name) {
  const std::string part = RepoPart(repo.repo);
  std::shared_ptr<Node> node;
  if (name == "refs") {
    node = MakeNode(this, HfNode::kRefsDir, NodeShape::kDirectory, "H|refs|" + part + "|");
  } else if (name == "snapshots") {
    node = MakeNode(this, HfNode::kSnapshotsDir, NodeShape::kDirectory, "H|snaps|" + part);
  } else if (name == "blobs") {
    node = MakeNode(this, HfNode::kBlobsDir, NodeShape::kDirectory, "H|blobs|" + part);
  } else {
    return Status::NotFound("no such entry");
  }
  node->repo = repo.repo;
  return std::shared_ptr<const Node>(node);
}

Result<std::shared_ptr<const Node>> HfCacheView::LookupRef(const Node& parent, std::string_view name) {
  const std::string revision = parent.ref + std::string(name);
  // refs/pr/N and refs/convert/X are written as nested folders.
  if (revision == "refs" || revision == "refs/pr" || revision == "refs/convert") {
    auto node = MakeNode(this, HfNode::kRefsDir, NodeShape::kDirectory,
                         "H|refs|" + RepoPart(parent.repo) + "|" + revision + "/");
    node->repo = parent.repo;
    node->ref = revision + "/";
    return std::shared_ptr<const Node>(node);
  }
  auto snap = snapshots_->Current(parent.repo, revision);
  if (!snap.ok()) return snap.status();
  // The commit is part of the key: when the branch moves, a new lookup gives
  // a new inode with the new content rather than changing an old one's.
  auto node = MakeNode(this, HfNode::kRefFile, NodeShape::kMadeFile,
                       "H|ref|" + RepoPart(parent.repo) + "|" + revision + "|" + (*snap)->commit());
  node->repo = parent.repo;
  node->ref = revision;
  node->revision = revision;
  node->pinned = IsCommitId(revision);
  node->snapshot = *snap;
  return std::shared_ptr<const Node>(node);
}

Result<std::shared_ptr<const Node>> HfCacheView::LookupSnapshot(const Node& parent, std::string_view commit) {
  // The official cache names snapshots by full commit only.
  if (!IsCommitId(commit)) return Status::NotFound("not a commit id");
  auto snap = snapshots_->Current(parent.repo, std::string(commit));
  if (!snap.ok()) return snap.status();
  return SnapshotChild(parent, *snap, (*snap)->root());
}

Result<std::shared_ptr<const Node>> HfCacheView::LookupBlob(const Node& parent, std::string_view etag) {
  Blob blob{};
  {
    MutexLock lock(&mu_);
    auto it = blobs_.find(RepoPart(parent.repo) + "|" + std::string(etag));
    if (it != blobs_.end()) blob = it->second;
  }
  if (!blob.snapshot) {
    // Not seen through snapshots/ in this mount (a path the kernel kept
    // from before, a tool that goes straight to blobs/): look in the
    // default branch.
    const auto kind = etag.size() == 64 ? ContentHash::Kind::kSha256 : ContentHash::Kind::kGitSha1;
    auto hash = ContentHash::FromHex(kind, etag);
    if (!hash) return Status::NotFound("not an etag");
    auto snap = snapshots_->Current(parent.repo, "");
    if (!snap.ok()) return snap.status();
    const SnapshotEntry* file = (*snap)->FindFileWithHash(*hash);
    if (!file || Etag(*file) != etag) return Status::NotFound("no such blob");
    blob = Blob{*snap, file};
  }
  auto node = MakeNode(this, HfNode::kBlob, NodeShape::kRepoFile,
                       "H|blob|" + RepoPart(parent.repo) + "|" + std::string(etag));
  node->repo = parent.repo;
  node->revision = blob.snapshot->commit();
  node->pinned = true;
  node->snapshot = blob.snapshot;
  node->entry = blob.entry;
  return std::shared_ptr<const Node>(node);
}

std::shared_ptr<const Node> HfCacheView::SnapshotChild(const Node& parent,
                                                       const std::shared_ptr<const Snapshot>& snap,
                                                       const SnapshotEntry& entry) {
  const std::string where = RepoPart(parent.repo) + "|" + snap->commit() + "|" + entry.path;
  auto node = entry.is_dir ? MakeNode(this, HfNode::kSnapshotDir, NodeShape::kDirectory, "H|snap|" + where)
                           : MakeNode(this, HfNode::kLink, NodeShape::kSymlink, "H|link|" + where);
  node->repo = parent.repo;
  node->revision = snap->commit();
  node->pinned = true;
  node->snapshot = snap;
  node->entry = &entry;
  if (!entry.is_dir) RememberBlob(parent, snap, entry);
  return node;
}

void HfCacheView::RememberBlob(const Node& repo_node, const std::shared_ptr<const Snapshot>& snap,
                               const SnapshotEntry& file) {
  MutexLock lock(&mu_);
  blobs_.emplace(RepoPart(repo_node.repo) + "|" + Etag(file), Blob{snap, &file});
}

Result<std::vector<DirEntry>> HfCacheView::List(const Node& dir) {
  const std::string repo = RepoPart(dir.repo);
  switch (TypeOfNode(dir)) {
    case HfNode::kRoot:
      return std::vector<DirEntry>{MakeDirEntry("hub", NodeShape::kDirectory, "H|hub")};
    case HfNode::kHub:
      return ListHub();
    case HfNode::kRepo:
      return std::vector<DirEntry>{MakeDirEntry("blobs", NodeShape::kDirectory, "H|blobs|" + repo),
                                   MakeDirEntry("refs", NodeShape::kDirectory, "H|refs|" + repo + "|"),
                                   MakeDirEntry("snapshots", NodeShape::kDirectory, "H|snaps|" + repo)};
    case HfNode::kRefsDir:
    case HfNode::kSnapshotsDir:
      return std::vector<DirEntry>();  // made on lookup: revisions and commits appear when asked for
    case HfNode::kSnapshotDir:
      return ListSnapshotDir(dir);
    case HfNode::kBlobsDir:
      return ListBlobs(dir);
    case HfNode::kRefFile:
    case HfNode::kLink:
    case HfNode::kBlob:
      break;
  }
  return Status::NotADirectory("not a directory");
}

std::vector<DirEntry> HfCacheView::ListHub() {
  std::vector<DirEntry> out;
  for (const auto& r : snapshots_->KnownRepos()) {
    const RepoId id{r.kind, r.org + "/" + r.name};
    out.push_back(MakeDirEntry(RepoFolder(r.kind, r.org, r.name), NodeShape::kDirectory, "H|r|" + RepoPart(id)));
  }
  std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

std::vector<DirEntry> HfCacheView::ListSnapshotDir(const Node& dir) {
  std::vector<DirEntry> out;
  const std::string repo = RepoPart(dir.repo);
  for (const SnapshotEntry* child : dir.snapshot->Children(*dir.entry)) {
    const std::string where = repo + "|" + dir.snapshot->commit() + "|" + child->path;
    if (child->is_dir) {
      out.push_back(MakeDirEntry(child->name, NodeShape::kDirectory, "H|snap|" + where));
    } else {
      out.push_back(MakeDirEntry(child->name, NodeShape::kSymlink, "H|link|" + where));
      RememberBlob(dir, dir.snapshot, *child);
    }
  }
  return out;
}

std::vector<DirEntry> HfCacheView::ListBlobs(const Node& dir) {
  std::vector<DirEntry> out;
  const std::string prefix = RepoPart(dir.repo) + "|";
  MutexLock lock(&mu_);
  for (auto it = blobs_.lower_bound(prefix); it != blobs_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
    out.push_back(MakeDirEntry(it->first.substr(prefix.size()), NodeShape::kRepoFile, "H|blob|" + it->first));
  }
  return out;
}

Result<Attr> HfCacheView::AttrOf(const Node& node) {
  Attr a;
  a.is_dir = node.is_dir();
  a.is_symlink = node.shape == NodeShape::kSymlink;
  a.mtime = node.snapshot ? node.snapshot->first_seen() : mount_time_;
  switch (TypeOfNode(node)) {
    case HfNode::kRefFile:
      a.size = RefContent(node).size();
      return a;
    case HfNode::kLink:
      a.size = LinkTarget(*node.entry).size();
      return a;
    case HfNode::kBlob:
      a.size = node.entry->size;
      return a;
    case HfNode::kSnapshotDir:
      a.nlink = 2 + node.entry->subdirs;
      return a;
    default: {
      // The made-up folders: nlink = 2 + subdirectories, as for any directory.
      auto listing = List(node);
      a.nlink = 2;
      if (listing.ok()) {
        for (const auto& e : *listing) a.nlink += e.is_dir ? 1 : 0;
      }
      return a;
    }
  }
}

EntryTimeouts HfCacheView::Timeouts(const Node& parent, const Node& child) const {
  switch (TypeOfNode(child)) {
    case HfNode::kRefFile: {
      // refs/main follows the branch; refs/<commit> never changes.
      const double t = child.pinned ? timeouts_.pinned : timeouts_.branch;
      return {t, t};
    }
    case HfNode::kSnapshotDir:
    case HfNode::kLink:
    case HfNode::kBlob:
      return {timeouts_.pinned, timeouts_.pinned};  // named by commit or by content
    default:
      return {TreeTimeouts::kVirtual, TreeTimeouts::kVirtual};
  }
}

double HfCacheView::NegativeTimeout(const Node& dir) const {
  // A commit never gains a file.
  return TypeOfNode(dir) == HfNode::kSnapshotDir ? timeouts_.pinned : timeouts_.negative;
}

Result<MadeFile> HfCacheView::OpenMadeFile(const Node& file) {
  MadeFile made;
  made.bytes = RefContent(file);
  made.keep_cache = true;  // the inode names one commit
  return made;
}

Result<std::string> HfCacheView::ReadLink(const Node& link) { return LinkTarget(*link.entry); }

}  // namespace hfm
