#include "fs/tree/hub_filesystem.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <future>

#include "fs/tree/file_handle.h"
#include "fs/tree/file_xattrs.h"
#include "util/log.h"

namespace hfm {
namespace {

TreeTimeouts TimeoutsOf(const FilesystemOptions& options) {
  TreeTimeouts t;
  t.pinned = options.pinned_timeout;
  t.branch = options.branch_timeout;
  t.negative = std::chrono::duration<double>(options.snapshots.negative_ttl).count();
  return t;
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
      mount_time_(options.clock->WallSeconds()),
      snapshots_(hub, meta, options.clock, options.snapshots),
      repo_tree_(&snapshots_, TimeoutsOf(options), mount_time_),
      hf_view_(&snapshots_, TimeoutsOf(options), mount_time_),
      control_(options.clock, TimeoutsOf(options), mount_time_, [this] { return Stats(); }),
      inodes_(repo_tree_.Root()),
      link_(LinkEstimator::Options{.block_size = blocks->block_size(),
                                   .fetch_threads = static_cast<uint32_t>(std::max(1, options.fetch_threads)),
                                   .far_fetch_threads = static_cast<uint32_t>(2 * std::max(1, options.fetch_threads)),
                                   .max_fetch_blocks = options.read_path.max_blocks_per_fetch,
                                   .max_memory = options.max_memory}),
      budget_(options.max_memory, options.clock),
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
                            .link = &link_,
                            .clock = options.clock,
                            .options = options.read_path}),
      kernel_notifier_(1),
      cache_writer_(1),
      hasher_(1),
      fetch_queue_(2 * std::max(1, options.fetch_threads)),
      urgent_fetch_queue_(options.urgent_fetch_threads) {
  // The first reads after a mount (a model's headers) would fault in every
  // page of their block buffers on their critical path.
  buffers_.Prewarm(kPrewarmedBuffers);
  // Threads for a far link's GETs; a near one uses fetch_threads of them
  // (LinkEstimator::parallel).
  fetch_queue_.SetActive(std::max(1, options.fetch_threads));
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

Result<std::shared_ptr<const Node>> HubFilesystem::LookupNode(uint64_t parent_ino, const Node& parent,
                                                              std::string_view name) {
  if (parent_ino == kRootInode) {
    if (name == HfCacheView::kRootName) return hf_view_.Root();
    if (name == ControlFolder::kRootName) return control_.Root();
  }
  return parent.subtree->Lookup(parent, name);
}

Entry HubFilesystem::MakeEntry(const Node& parent, const Node& child, const Attr& attr) const {
  Entry e;
  e.attr = attr;
  const EntryTimeouts timeouts = child.subtree->Timeouts(parent, child);
  e.entry_timeout = timeouts.entry;
  e.attr_timeout = timeouts.attr;
  return e;
}

Result<Entry> HubFilesystem::Lookup(uint64_t parent_ino, std::string_view name, std::optional<Caller> caller) {
  CallerScope scope(caller);
  auto parent = inodes_.Get(parent_ino);
  if (!parent) return Status::NotFound("stale parent inode");
  if (!parent->is_dir()) return Status::NotADirectory("not a directory");
  HFM_RETURN_IF_ERROR(CheckAccess(*parent));
  auto child = LookupNode(parent_ino, *parent, name);
  if (!child.ok()) {
    if (!child.status().IsNotFound()) return child.status();
    Entry negative;  // ino 0
    negative.entry_timeout = parent->subtree->NegativeTimeout(*parent);
    return negative;
  }
  auto attr = (*child)->subtree->AttrOf(**child);
  if (!attr.ok()) return attr.status();
  attr->ino = inodes_.Add(*child);
  Entry entry = MakeEntry(*parent, **child, *attr);
  AccessGate& gate = snapshots_.gate();
  if (gate.per_user() && !(*child)->repo.name.empty() && gate.Visibility((*child)->repo) != RepoVisibility::kPublic) {
    // The kernel shares names between users: each must come back for its check.
    entry.entry_timeout = 0;
    entry.attr_timeout = 0;
  }
  return entry;
}

Status HubFilesystem::CheckAccess(const Node& node) {
  // Nodes made from a snapshot outlive the check that made them (the kernel
  // keeps inodes): each use checks again, which is a map lookup until
  // revision_ttl has passed.
  return node.snapshot ? snapshots_.CheckAccess(*node.snapshot) : Status();
}

void HubFilesystem::Forget(uint64_t ino, uint64_t count) { inodes_.Forget(ino, count); }

Result<Entry> HubFilesystem::GetAttr(uint64_t ino) {
  auto node = inodes_.Get(ino);
  if (!node) return Status::NotFound("stale inode");
  auto attr = node->subtree->AttrOf(*node);
  if (!attr.ok()) return attr.status();
  attr->ino = ino;
  Entry e = MakeEntry(*node, *node, *attr);
  return e;
}

Result<std::vector<DirEntry>> HubFilesystem::ListDir(const Node& node) {
  if (!node.is_dir()) return Status::NotADirectory("not a directory");
  return node.subtree->List(node);
}

Result<uint64_t> HubFilesystem::OpenDir(uint64_t ino, std::optional<Caller> caller) {
  CallerScope scope(caller);
  auto node = inodes_.Get(ino);
  if (!node) return Status::NotFound("stale inode");
  HFM_RETURN_IF_ERROR(CheckAccess(*node));
  auto listing = ListDir(*node);
  if (!listing.ok()) return listing.status();
  auto captured = std::make_shared<const std::vector<DirEntry>>(std::move(*listing));
  MutexLock lock(&handles_mu_);
  const uint64_t handle = next_handle_++;
  dirs_[handle] = std::move(captured);
  return handle;
}

std::shared_ptr<const std::vector<DirEntry>> HubFilesystem::DirEntries(uint64_t dir_handle) {
  MutexLock lock(&handles_mu_);
  auto it = dirs_.find(dir_handle);
  return it == dirs_.end() ? nullptr : it->second;
}

void HubFilesystem::ReleaseDir(uint64_t dir_handle) {
  MutexLock lock(&handles_mu_);
  dirs_.erase(dir_handle);
}

Result<std::vector<std::pair<std::string, std::string>>> HubFilesystem::Xattrs(uint64_t ino) {
  auto node = inodes_.Get(ino);
  if (!node) return Status::NotFound("stale inode");
  if (node->shape != NodeShape::kRepoFile) return std::vector<std::pair<std::string, std::string>>();
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
  s.uptime_seconds = options_.clock->WallSeconds() - mount_time_;
  ReadCounters(counters_, &s);
  s.memory_used = budget_.used();
  s.memory_peak = budget_.peak();
  s.memory_limit = budget_.limit();
  s.memory_ceiling = budget_.ceiling();
  s.link_round_trip_ms = std::chrono::duration<double, std::milli>(link_.rtt()).count();
  s.readahead_get_bytes = uint64_t{link_.fetch_blocks()} * blocks_->block_size();
  s.cache = blocks_->Stats();
  s.endpoints = hub_->Stats();
  return s;
}

Result<std::string> HubFilesystem::ReadLink(uint64_t ino) {
  auto node = inodes_.Get(ino);
  if (!node) return Status::NotFound("stale inode");
  if (node->shape != NodeShape::kSymlink) return Status::NotASymlink("not a symlink");
  return node->subtree->ReadLink(*node);
}

}  // namespace hfm
