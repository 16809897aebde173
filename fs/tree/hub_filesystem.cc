#include "fs/tree/hub_filesystem.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <future>
#include <optional>
#include <set>

#include "fs/tree/file_handle.h"
#include "fs/tree/file_xattrs.h"
#include "fs/read/readahead_window.h"
#include "fs/tree/repo_name.h"
#include "util/log.h"

namespace hfm {
namespace {

constexpr double kVirtualTimeout = 10;  // /, /datasets, /ORG: names never change
constexpr std::string_view kControlDir = ".hfmirror";
constexpr std::string_view kControlFiles[] = {"metrics", "stats.json"};

uint64_t InoHint(const std::string& key) {
  // Stable and non-zero: some tools skip directory entries whose d_ino is 0.
  return (std::hash<std::string>{}(key) | (uint64_t{1} << 63));
}

std::string EntryKey(const Node& root_like, const Snapshot& snap, const std::string& path) {
  return "E|" + std::string(RepoKindPlural(root_like.repo.kind)) + "|" + root_like.repo.name + "@" +
         root_like.revision + "|" + snap.commit() + "|" + path;
}

std::string RepoRootKey(const RepoId& repo, const std::string& revision) {
  return "R|" + std::string(RepoKindPlural(repo.kind)) + "|" + repo.name + "@" + revision;
}

std::string OrgKey(RepoKind kind, std::string_view org) {
  return "O|" + std::string(RepoKindPlural(kind)) + "|" + std::string(org);
}

// A header read's block, the block buffers of its GET and of the next one,
// and a large reply's.
constexpr size_t kPrewarmedBuffers = 4;

}  // namespace


HubFilesystem::HubFilesystem(HubClient* hub, BlockStore* blocks, MetaStore* meta,
                             FilesystemOptions options)
    : hub_(hub),
      blocks_(blocks),
      options_(options),
      mount_time_(SystemClock()->WallSeconds()),
      snapshots_(hub, meta, SystemClock(), options.snapshots),
      hf_view_(&snapshots_),
      budget_(options.max_memory),
      // Idle buffers beside the budget's live ones: enough to recycle a few
      // GETs' worth without a fresh allocation each block.
      buffers_(blocks->block_size(), 8),
      pump_queue_(1),
      contents_(ReadPathEnv{.store = blocks,
                            .hub = hub,
                            .fetch_queue = &fetch_queue_,
                            .urgent_queue = &urgent_fetch_queue_,
                            .writer = &cache_writer_,
                            .hasher = &hasher_,
                            .budget = &budget_,
                            .buffers = &buffers_,
                            .counters = &counters_,
                            .clock = SystemClock(),
                            .options = options.read_path}),
      kernel_notifier_(1),
      cache_writer_(1),
      hasher_(1),
      fetch_queue_(options.fetch_threads),
      urgent_fetch_queue_(options.urgent_fetch_threads) {
  // The first reads after a mount (a model's headers) would fault in every
  // page of their block buffers on their critical path.
  buffers_.Prewarm(kPrewarmedBuffers);
  budget_.SetReleaseListener([this] {
    if (pump_queued_.exchange(true)) return;  // one pump queued covers every release before it
    pump_queue_.Submit([this] {
      pump_queued_ = false;
      if (!stopping_) contents_.PumpBackground();
    });
  });
  // Pages the kernel cached from bytes that then failed verification must
  // not be served again: drop them for every inode with that content.
  contents_.SetMismatchListener([this](const ContentHash& hash) {
    kernel_notifier_.Submit([this, hash] {
      if (!invalidate_pages_) return;
      for (uint64_t ino : inodes_.FilesWithContent(hash)) invalidate_pages_(ino);
    });
  });
}

void HubFilesystem::SetPageCacheInvalidator(std::function<void(uint64_t ino)> invalidate) {
  invalidate_pages_ = std::move(invalidate);
}

void HubFilesystem::SetPageCacheStore(PageCacheStore store) { store_pages_ = std::move(store); }

HubFilesystem::~HubFilesystem() {
  // The queues go next (fetches drain into the writer and hasher): nothing
  // may schedule new fetches while they do, and a pump already running must
  // finish before contents_ goes (pump_queue_ outlives it; later pumps are
  // no-ops).
  stopping_ = true;
  contents_.Shutdown();
  std::promise<void> drained;
  pump_queue_.Submit([&drained] { drained.set_value(); });
  drained.get_future().wait();
}

Result<std::shared_ptr<const Snapshot>> HubFilesystem::SnapshotOf(const Node& node) {
  if (node.snapshot) return node.snapshot;
  if (node.type != NodeType::kRepoRoot) return Status::Internal("node has no snapshot");
  return snapshots_.Current(node.repo, node.revision);
}

Result<std::shared_ptr<const Node>> HubFilesystem::LookupNode(const Node& parent,
                                                              std::string_view name) {
  auto node = std::make_shared<Node>();
  switch (parent.type) {
    case NodeType::kRoot:
      if (name == HfCacheView::kRootName) return HfCacheView::RootNode();
      if (name == kControlDir) {
        node->type = NodeType::kCtlDir;
        node->key = "C|";
        return std::shared_ptr<const Node>(node);
      }
      if (name == "datasets" || name == "spaces") {
        node->type = NodeType::kKindDir;
        node->kind = name == "datasets" ? RepoKind::kDataset : RepoKind::kSpace;
        node->key = "K|" + std::string(name);
        return std::shared_ptr<const Node>(node);
      }
      [[fallthrough]];
    case NodeType::kKindDir: {
      if (!IsValidOrgName(name)) return Status::NotFound("not an org name");
      node->type = NodeType::kOrgDir;
      node->kind = parent.type == NodeType::kRoot ? RepoKind::kModel : parent.kind;
      node->org = std::string(name);
      node->key = OrgKey(node->kind, name);
      return std::shared_ptr<const Node>(node);
    }
    case NodeType::kOrgDir: {
      auto parsed = ParseRepoDirName(name);
      if (!parsed) return Status::NotFound("not a repo name");
      node->type = NodeType::kRepoRoot;
      node->repo = RepoId{parent.kind, parent.org + "/" + parsed->name};
      node->revision = parsed->revision;
      node->pinned = IsCommitId(parsed->revision);
      node->key = RepoRootKey(node->repo, node->revision);
      // Resolve now: a missing repo or revision must be ENOENT at lookup.
      auto snap = snapshots_.Current(node->repo, node->revision);
      if (!snap.ok()) return snap.status();
      return std::shared_ptr<const Node>(node);
    }
    case NodeType::kRepoRoot:
    case NodeType::kDir: {
      auto snap = SnapshotOf(parent);
      if (!snap.ok()) return snap.status();
      const SnapshotEntry* dir = parent.entry ? parent.entry : &(*snap)->root();
      const SnapshotEntry* child = (*snap)->FindChild(*dir, name);
      if (!child) return Status::NotFound("no such entry");
      node->type = child->is_dir ? NodeType::kDir : NodeType::kFile;
      node->repo = parent.repo;
      node->revision = parent.revision;
      node->pinned = parent.pinned;
      node->snapshot = *snap;
      node->entry = child;
      node->key = EntryKey(parent, **snap, child->path);
      return std::shared_ptr<const Node>(node);
    }
    case NodeType::kCtlDir:
      for (std::string_view file : kControlFiles) {
        if (name != file) continue;
        node->type = NodeType::kCtlFile;
        node->ref = std::string(file);
        node->key = "C|" + node->ref;
        return std::shared_ptr<const Node>(node);
      }
      return Status::NotFound("no such entry");
    case NodeType::kFile:
    case NodeType::kHfRefFile:
    case NodeType::kHfLink:
    case NodeType::kCtlFile:
      return Status::InvalidArgument("not a directory");
    default:
      return hf_view_.Lookup(parent, name);
  }
}

Entry HubFilesystem::MakeEntry(const Node& parent, const Node& child, const Attr& attr) const {
  Entry e;
  e.attr = attr;
  switch (child.type) {
    case NodeType::kRoot:
    case NodeType::kKindDir:
    case NodeType::kOrgDir:
      e.entry_timeout = e.attr_timeout = kVirtualTimeout;
      break;
    case NodeType::kRepoRoot:
      // The name is stable; what it points to follows the branch.
      e.entry_timeout = child.pinned ? options_.pinned_timeout : kVirtualTimeout;
      e.attr_timeout = child.pinned ? options_.pinned_timeout : options_.branch_timeout;
      break;
    case NodeType::kDir:
    case NodeType::kFile:
      // A snapshot's entries never change; only the names directly under a
      // branch's repo directory must be looked up again to follow the branch.
      e.attr_timeout = options_.pinned_timeout;
      e.entry_timeout = (parent.type == NodeType::kRepoRoot && !parent.pinned)
                            ? options_.branch_timeout
                            : options_.pinned_timeout;
      break;
    case NodeType::kHfRefFile:
      // refs/main follows the branch; refs/<commit> never changes.
      e.entry_timeout = e.attr_timeout = child.pinned ? options_.pinned_timeout : options_.branch_timeout;
      break;
    case NodeType::kHfSnapshotDir:
    case NodeType::kHfLink:
      e.entry_timeout = e.attr_timeout = options_.pinned_timeout;  // named by commit
      break;
    case NodeType::kCtlFile:
      e.entry_timeout = kVirtualTimeout;
      e.attr_timeout = 0;  // the size changes with every rendering
      break;
    default:
      e.entry_timeout = e.attr_timeout = kVirtualTimeout;
      break;
  }
  return e;
}

Result<Entry> HubFilesystem::Lookup(uint64_t parent_ino, std::string_view name) {
  auto parent = inodes_.Get(parent_ino);
  if (!parent) return Status::NotFound("stale parent inode");
  if (!parent->is_dir()) return Status::InvalidArgument("not a directory");
  auto child = LookupNode(*parent, name);
  if (!child.ok()) {
    if (!child.status().IsNotFound()) return child.status();
    Entry negative;
    if (parent->type == NodeType::kDir || parent->type == NodeType::kHfSnapshotDir ||
        (parent->type == NodeType::kRepoRoot && parent->pinned)) {
      negative.entry_timeout = options_.pinned_timeout;  // a commit never gains a file
    } else if (parent->type == NodeType::kRepoRoot) {
      negative.entry_timeout = options_.branch_timeout;
    } else {
      negative.entry_timeout = std::chrono::duration<double>(options_.snapshots.negative_ttl).count();
    }
    return negative;
  }
  auto attr = AttrOf(**child);
  if (!attr.ok()) return attr.status();
  attr->ino = inodes_.Add(*child);
  return MakeEntry(*parent, **child, *attr);
}

void HubFilesystem::Forget(uint64_t ino, uint64_t count) { inodes_.Forget(ino, count); }

Result<Attr> HubFilesystem::AttrOf(const Node& node) {
  Attr a;
  a.is_dir = node.is_dir();
  a.mtime = mount_time_;
  switch (node.type) {
    case NodeType::kRoot:
    case NodeType::kKindDir:
    case NodeType::kOrgDir: {
      // nlink = 2 + subdirectories, as for any directory.
      auto listing = ListDir(node);
      a.nlink = 2 + static_cast<uint32_t>(listing.ok() ? listing->size() : 0);
      return a;
    }
    case NodeType::kRepoRoot: {
      auto snap = SnapshotOf(node);
      if (!snap.ok()) return snap.status();
      a.mtime = (*snap)->first_seen();
      a.nlink = 2 + (*snap)->root().subdirs;
      return a;
    }
    case NodeType::kDir:
      a.mtime = node.snapshot->first_seen();
      a.nlink = 2 + node.entry->subdirs;
      return a;
    case NodeType::kFile:
      a.mtime = node.snapshot->first_seen();
      a.nlink = 1;
      a.size = node.entry->size;
      return a;
    case NodeType::kHfRefFile:
      a.mtime = node.snapshot->first_seen();
      a.size = HfCacheView::RefContent(node).size();
      return a;
    case NodeType::kHfLink:
      a.mtime = node.snapshot->first_seen();
      a.is_symlink = true;
      a.size = HfCacheView::LinkTarget(*node.entry).size();
      return a;
    case NodeType::kHfSnapshotDir:
      a.mtime = node.snapshot->first_seen();
      a.nlink = 2 + node.entry->subdirs;
      return a;
    case NodeType::kCtlDir:
      return a;
    case NodeType::kCtlFile:
      a.mtime = SystemClock()->WallSeconds();
      a.size = ControlFileContent(node).size();
      return a;
    default: {
      auto listing = ListDir(node);
      a.nlink = 2;
      if (listing.ok()) {
        for (const auto& e : *listing) a.nlink += e.is_dir ? 1 : 0;
      }
      return a;
    }
  }
}

Result<Entry> HubFilesystem::GetAttr(uint64_t ino) {
  auto node = inodes_.Get(ino);
  if (!node) return Status::NotFound("stale inode");
  auto attr = AttrOf(*node);
  if (!attr.ok()) return attr.status();
  attr->ino = ino;
  Entry e = MakeEntry(*node, *node, *attr);
  return e;
}

Result<std::vector<DirEntry>> HubFilesystem::ListDir(const Node& node) {
  std::vector<DirEntry> out;
  auto add_dir = [&](std::string name, const std::string& key) {
    out.push_back(DirEntry{std::move(name), true, InoHint(key)});
  };
  switch (node.type) {
    case NodeType::kRoot:
    case NodeType::kKindDir:
    case NodeType::kOrgDir: {
      const RepoKind kind = node.type == NodeType::kRoot ? RepoKind::kModel : node.kind;
      if (node.type == NodeType::kRoot) {
        add_dir("datasets", "K|datasets");
        add_dir("spaces", "K|spaces");
      }
      std::set<std::string> names;
      for (const auto& r : snapshots_.KnownRepos()) {
        if (r.kind != kind) continue;
        if (node.type == NodeType::kOrgDir) {
          if (r.org == node.org) names.insert(r.name);
        } else {
          names.insert(r.org);
        }
      }
      for (const auto& n : names) {
        add_dir(n, node.type == NodeType::kOrgDir ? RepoRootKey(RepoId{kind, node.org + "/" + n}, "")
                                                  : OrgKey(kind, n));
      }
      return out;
    }
    case NodeType::kRepoRoot:
    case NodeType::kDir: {
      auto snap = SnapshotOf(node);
      if (!snap.ok()) return snap.status();
      const SnapshotEntry* dir = node.entry ? node.entry : &(*snap)->root();
      for (const SnapshotEntry* child : (*snap)->Children(*dir)) {
        out.push_back(DirEntry{child->name, child->is_dir, InoHint(EntryKey(node, **snap, child->path))});
      }
      return out;
    }
    case NodeType::kCtlDir:
      for (std::string_view file : kControlFiles) out.push_back(DirEntry{std::string(file), false, InoHint("C|" + std::string(file))});
      return out;
    case NodeType::kFile:
    case NodeType::kHfRefFile:
    case NodeType::kHfLink:
    case NodeType::kCtlFile:
      return Status::InvalidArgument("not a directory");
    default: {
      auto children = hf_view_.List(node);
      if (!children.ok()) return children.status();
      for (auto& c : *children) {
        const bool is_dir = c.type != NodeType::kFile && c.type != NodeType::kHfRefFile && c.type != NodeType::kHfLink;
        out.push_back(DirEntry{std::move(c.name), is_dir, InoHint(c.key), c.type == NodeType::kHfLink});
      }
      return out;
    }
  }
}

Result<uint64_t> HubFilesystem::OpenDir(uint64_t ino) {
  auto node = inodes_.Get(ino);
  if (!node) return Status::NotFound("stale inode");
  auto listing = ListDir(*node);
  if (!listing.ok()) return listing.status();
  auto captured = std::make_shared<const std::vector<DirEntry>>(std::move(*listing));
  std::lock_guard<std::mutex> lock(handles_mu_);
  const uint64_t handle = next_handle_++;
  dirs_[handle] = std::move(captured);
  return handle;
}

std::shared_ptr<const std::vector<DirEntry>> HubFilesystem::DirEntries(uint64_t dir_handle) {
  std::lock_guard<std::mutex> lock(handles_mu_);
  auto it = dirs_.find(dir_handle);
  return it == dirs_.end() ? nullptr : it->second;
}

void HubFilesystem::ReleaseDir(uint64_t dir_handle) {
  std::lock_guard<std::mutex> lock(handles_mu_);
  dirs_.erase(dir_handle);
}

Result<std::vector<std::pair<std::string, std::string>>> HubFilesystem::Xattrs(uint64_t ino) {
  auto node = inodes_.Get(ino);
  if (!node) return Status::NotFound("stale inode");
  if (node->type != NodeType::kFile) return std::vector<std::pair<std::string, std::string>>();
  FileFacts facts;
  facts.commit = node->snapshot->commit();
  facts.hash = node->entry->hash;
  facts.size = node->entry->size;
  auto complete = blocks_->IsComplete(facts.hash);
  facts.complete = complete.ok() && *complete;
  if (!facts.complete) {
    auto cached = blocks_->CachedBytes(facts.hash);
    if (!cached.ok()) return cached.status();
    facts.cached_bytes = *cached;
  }
  if (auto content = contents_.Find(facts.hash)) facts.endpoints = content->sources();
  if (facts.endpoints.empty()) facts.endpoints.push_back(hub_->endpoint());
  return FileXattrs(facts);
}

MountStats HubFilesystem::Stats() {
  MountStats s;
  s.version = options_.version;
  s.uptime_seconds = SystemClock()->WallSeconds() - mount_time_;
  ReadCounters(counters_, &s);
  s.memory_used = budget_.used();
  s.memory_peak = budget_.peak();
  s.memory_limit = budget_.limit();
  s.cache = blocks_->Stats();
  s.endpoints = hub_->Stats();
  return s;
}

std::string HubFilesystem::ControlFileContent(const Node& node) {
  return node.ref == "metrics" ? PrometheusText(Stats()) : StatsJson(Stats());
}

Result<std::string> HubFilesystem::ReadLink(uint64_t ino) {
  auto node = inodes_.Get(ino);
  if (!node) return Status::NotFound("stale inode");
  if (node->type != NodeType::kHfLink) return Status::InvalidArgument("not a symlink");
  return HfCacheView::LinkTarget(*node->entry);
}

}  // namespace hfm
