#include "fs/tree/hf_cache_view.h"

#include <algorithm>
#include <optional>

#include "fs/tree/repo_name.h"

namespace hfm {
namespace {

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

std::shared_ptr<Node> ChildOf(const Node& parent, NodeType type, std::string key) {
  auto node = std::make_shared<Node>();
  node->type = type;
  node->repo = parent.repo;
  node->key = std::move(key);
  return node;
}

}  // namespace

HfCacheView::HfCacheView(SnapshotSource* snapshots) : snapshots_(snapshots) {}

std::shared_ptr<const Node> HfCacheView::RootNode() {
  auto node = std::make_shared<Node>();
  node->type = NodeType::kHfRoot;
  node->key = "H|";
  return node;
}

std::string HfCacheView::LinkTarget(const SnapshotEntry& file) {
  std::string target;
  const auto depth = std::count(file.path.begin(), file.path.end(), '/');
  for (long i = 0; i < depth + 2; ++i) target += "../";
  return target + "blobs/" + Etag(file);
}

std::string HfCacheView::RefContent(const Node& ref) { return ref.snapshot ? ref.snapshot->commit() : ""; }

Result<std::shared_ptr<const Node>> HfCacheView::Lookup(const Node& parent, std::string_view name) {
  const std::string repo = RepoPart(parent.repo);
  switch (parent.type) {
    case NodeType::kHfRoot: {
      if (name != "hub") return Status::NotFound("no such entry");
      auto node = std::make_shared<Node>();
      node->type = NodeType::kHfHub;
      node->key = "H|hub";
      return std::shared_ptr<const Node>(node);
    }
    case NodeType::kHfHub: {
      auto id = ParseRepoFolder(name);
      if (!id) return Status::NotFound("not a cache folder name");
      // ENOENT for a repo the Hub does not have, as on the plain paths.
      auto snap = snapshots_->Current(*id, "");
      if (!snap.ok()) return snap.status();
      auto node = std::make_shared<Node>();
      node->type = NodeType::kHfRepo;
      node->repo = *id;
      node->key = "H|r|" + RepoPart(*id);
      return std::shared_ptr<const Node>(node);
    }
    case NodeType::kHfRepo:
      if (name == "refs") {
        auto node = ChildOf(parent, NodeType::kHfRefsDir, "H|refs|" + repo + "|");
        return std::shared_ptr<const Node>(node);
      }
      if (name == "snapshots") return std::shared_ptr<const Node>(ChildOf(parent, NodeType::kHfSnapshotsDir, "H|snaps|" + repo));
      if (name == "blobs") return std::shared_ptr<const Node>(ChildOf(parent, NodeType::kHfBlobsDir, "H|blobs|" + repo));
      return Status::NotFound("no such entry");
    case NodeType::kHfRefsDir:
      return LookupRef(parent, name);
    case NodeType::kHfSnapshotsDir: {
      // The official cache names snapshots by full commit only.
      if (!IsCommitId(name)) return Status::NotFound("not a commit id");
      auto snap = snapshots_->Current(parent.repo, std::string(name));
      if (!snap.ok()) return snap.status();
      return SnapshotChild(parent, *snap, (*snap)->root());
    }
    case NodeType::kHfSnapshotDir: {
      const SnapshotEntry* child = parent.snapshot->FindChild(*parent.entry, name);
      if (!child) return Status::NotFound("no such entry");
      return SnapshotChild(parent, parent.snapshot, *child);
    }
    case NodeType::kHfBlobsDir:
      return LookupBlob(parent, name);
    default:
      return Status::InvalidArgument("not a directory");
  }
}

Result<std::shared_ptr<const Node>> HfCacheView::LookupRef(const Node& parent, std::string_view name) {
  const std::string revision = parent.ref + std::string(name);
  // refs/pr/N and refs/convert/X are written as nested folders.
  if (revision == "refs" || revision == "refs/pr" || revision == "refs/convert") {
    auto node = ChildOf(parent, NodeType::kHfRefsDir, "H|refs|" + RepoPart(parent.repo) + "|" + revision + "/");
    node->ref = revision + "/";
    return std::shared_ptr<const Node>(node);
  }
  auto snap = snapshots_->Current(parent.repo, revision);
  if (!snap.ok()) return snap.status();
  // The commit is part of the key: when the branch moves, a new lookup gives
  // a new inode with the new content rather than changing an old one's.
  auto node = ChildOf(parent, NodeType::kHfRefFile,
                      "H|ref|" + RepoPart(parent.repo) + "|" + revision + "|" + (*snap)->commit());
  node->ref = revision;
  node->revision = revision;
  node->pinned = IsCommitId(revision);
  node->snapshot = *snap;
  return std::shared_ptr<const Node>(node);
}

Result<std::shared_ptr<const Node>> HfCacheView::LookupBlob(const Node& parent, std::string_view etag) {
  Blob blob{};
  {
    std::lock_guard<std::mutex> lock(mu_);
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
  auto node = ChildOf(parent, NodeType::kFile, "H|blob|" + RepoPart(parent.repo) + "|" + std::string(etag));
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
  auto node = entry.is_dir ? ChildOf(parent, NodeType::kHfSnapshotDir, "H|snap|" + where)
                           : ChildOf(parent, NodeType::kHfLink, "H|link|" + where);
  node->revision = snap->commit();
  node->pinned = true;
  node->snapshot = snap;
  node->entry = &entry;
  if (!entry.is_dir) RememberBlob(parent, snap, entry);
  return node;
}

void HfCacheView::RememberBlob(const Node& repo_node, const std::shared_ptr<const Snapshot>& snap,
                               const SnapshotEntry& file) {
  std::lock_guard<std::mutex> lock(mu_);
  blobs_.emplace(RepoPart(repo_node.repo) + "|" + Etag(file), Blob{snap, &file});
}

Result<std::vector<HfCacheView::Child>> HfCacheView::List(const Node& dir) {
  std::vector<Child> out;
  const std::string repo = RepoPart(dir.repo);
  switch (dir.type) {
    case NodeType::kHfRoot:
      out.push_back({"hub", NodeType::kHfHub, "H|hub"});
      return out;
    case NodeType::kHfHub: {
      for (const auto& r : snapshots_->KnownRepos()) {
        const RepoId id{r.kind, r.org + "/" + r.name};
        out.push_back({RepoFolder(r.kind, r.org, r.name), NodeType::kHfRepo, "H|r|" + RepoPart(id)});
      }
      std::sort(out.begin(), out.end(), [](const Child& a, const Child& b) { return a.name < b.name; });
      return out;
    }
    case NodeType::kHfRepo:
      out.push_back({"blobs", NodeType::kHfBlobsDir, "H|blobs|" + repo});
      out.push_back({"refs", NodeType::kHfRefsDir, "H|refs|" + repo + "|"});
      out.push_back({"snapshots", NodeType::kHfSnapshotsDir, "H|snaps|" + repo});
      return out;
    case NodeType::kHfRefsDir:
    case NodeType::kHfSnapshotsDir:
      return out;  // made on lookup: revisions and commits appear when asked for
    case NodeType::kHfSnapshotDir:
      for (const SnapshotEntry* child : dir.snapshot->Children(*dir.entry)) {
        const std::string where = repo + "|" + dir.snapshot->commit() + "|" + child->path;
        if (child->is_dir) {
          out.push_back({child->name, NodeType::kHfSnapshotDir, "H|snap|" + where});
        } else {
          out.push_back({child->name, NodeType::kHfLink, "H|link|" + where});
          RememberBlob(dir, dir.snapshot, *child);
        }
      }
      return out;
    case NodeType::kHfBlobsDir: {
      std::lock_guard<std::mutex> lock(mu_);
      const std::string prefix = repo + "|";
      for (auto it = blobs_.lower_bound(prefix); it != blobs_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
        out.push_back({it->first.substr(prefix.size()), NodeType::kFile, "H|blob|" + it->first});
      }
      return out;
    }
    default:
      return Status::InvalidArgument("not a directory");
  }
}

}  // namespace hfm
