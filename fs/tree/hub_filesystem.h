// HubFilesystem: the mount's logic, free of FUSE types so tests drive it
// without a mount (the adapter in fuse_adapter.cc only translates). A facade
// over three subtrees (subtree.h), each serving the nodes it made:
//
//   /                       datasets, spaces, and the orgs of known model repos
//   /ORG/NAME[@REV]/...     a model repo at its default branch or at REV
//   /datasets/ORG/NAME/...  /spaces/ORG/NAME/...    (all three: repo_tree.h)
//   /.hf-cache/hub/...      the same repos as the official HF cache (hf_cache_view.h)
//   /.hfmirror/             stats.json and metrics of this mount (control_folder.h)
//
// It owns what they share: the inode numbers, open handles, and the read
// path of repo files (file_reads.cc, header_read.cc).
//
// Every method returns a Status whose code the adapter maps to an errno
// (errno_map.h). Lookup reports a missing name as an Entry with ino 0 (a
// negative entry the kernel may cache), not as an error.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cache/block_store.h"
#include "fetch/hub_client.h"
#include "fs/read/content_registry.h"
#include "fs/read/file_content.h"
#include "fs/read/mount_stats.h"
#include "fs/read/work_queue.h"
#include "fs/tree/caller.h"
#include "fs/tree/control_folder.h"
#include "fs/tree/hf_cache_view.h"
#include "fs/tree/inode_table.h"
#include "fs/tree/repo_tree.h"
#include "fs/tree/snapshot_source.h"
#include "fs/tree/subtree.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/status.h"

namespace hfm {

struct Entry {
  Attr attr;                 // attr.ino == 0: the name does not exist
  double entry_timeout = 0;  // seconds the kernel may trust the name
  double attr_timeout = 0;   // seconds the kernel may trust the attributes
};

struct OpenedFile {
  uint64_t handle = 0;
  bool keep_cache = false;  // the bytes behind this inode never change
  bool direct_io = false;   // made anew at each open (the control files): no page cache
};

struct FilesystemOptions {
  SnapshotSourceOptions snapshots;
  ReadPathOptions read_path;
  double pinned_timeout = 86400;  // entry/attr timeout where nothing can change
  double branch_timeout = 1;      // entry timeout of names under a branch
  uint32_t max_readahead_blocks = 32;
  // Ranged GETs at once. A CDN caps each connection (tens of MB/s), so a
  // fast read needs many; the memory budget bounds what they hold.
  int fetch_threads = 16;
  // More, only for GETs a reader is waiting for, so they never queue behind
  // readahead and background prefetch.
  int urgent_fetch_threads = 4;
  // The most bytes of fetched data in memory at once, over every file
  // (-o max_memory=): the memory budget's ceiling. The working limit starts
  // at 32 MiB and grows towards it only on a far link (MemoryBudget).
  uint64_t max_memory = 192ull << 20;
  // Files fetched whole in the background when opened (-o prefetch=):
  // fnmatch patterns on the file's name. Weights are read whole anyway;
  // anything else (a parquet footer, a README) is fetched as read.
  std::vector<std::string> background_patterns = DefaultBackgroundPatterns();
  // The background fetch starts once a read ends past this many bytes (or
  // the first block, if larger). A loader reads a weight file's header
  // first, and the kernel's readahead carries that read a few MiB on: the
  // header read stays fast when no whole-file fetch shares the CPU with it.
  uint64_t background_after_bytes = 4ull << 20;
  // Shown in /.hfmirror/stats.json.
  std::string version;
  // The time of the tree: the mount's time, uptime, revision TTLs. Borrowed;
  // tests pass a FakeClock.
  Clock* clock = SystemClock();
  static std::vector<std::string> DefaultBackgroundPatterns();
};

// Whether `path`'s last component matches one of `patterns` (fnmatch).
bool MatchesBackgroundPattern(const std::vector<std::string>& patterns, std::string_view path);

class HubFilesystem {
 public:
  // `hub` and `cache` are borrowed and must outlive this object.
  HubFilesystem(HubClient* hub, BlockStore* blocks, MetaStore* meta, FilesystemOptions options);
  ~HubFilesystem();

  // `caller` (caller.h): the local user asking, for the access gate;
  // nullopt: the mount itself.
  Result<Entry> Lookup(uint64_t parent, std::string_view name, std::optional<Caller> caller = std::nullopt);
  void Forget(uint64_t ino, uint64_t count);
  Result<Entry> GetAttr(uint64_t ino);

  // A directory's entries (without "." and ".."), captured once per opendir
  // so one listing never mixes two commits.
  Result<uint64_t> OpenDir(uint64_t ino, std::optional<Caller> caller = std::nullopt);
  std::shared_ptr<const std::vector<DirEntry>> DirEntries(uint64_t dir_handle);
  void ReleaseDir(uint64_t dir_handle);

  // A file's extended attributes (fs/file_xattrs.h), as name/value pairs;
  // none but for a repo file.
  Result<std::vector<std::pair<std::string, std::string>>> Xattrs(uint64_t ino);

  // A symlink's target (the HF cache view's snapshot files).
  Result<std::string> ReadLink(uint64_t ino);

  Result<OpenedFile> Open(uint64_t ino, std::optional<Caller> caller = std::nullopt);
  Result<size_t> Read(uint64_t handle, uint64_t offset, std::span<char> out);
  void Release(uint64_t handle);

  size_t inode_count() const { return inodes_.size(); }
  // What this mount has done so far (/.hfmirror/stats.json).
  MountStats Stats();
  const MemoryBudget& memory_budget() const { return budget_; }
  // Block-sized buffers for replies to large reads (the FUSE adapter's).
  BufferPool& buffers() { return buffers_; }
  // Who may read which repo (tests look at its bounds).
  AccessGate& access_gate() { return snapshots_.gate(); }

  // How to tell the kernel to drop an inode's cached pages (the FUSE adapter
  // passes fuse_lowlevel_notify_inval_inode). Called on a thread of our own,
  // never on a FUSE worker: a worker may be what the kernel waits for.
  void SetPageCacheInvalidator(std::function<void(uint64_t ino)> invalidate);

  // How to hand the kernel bytes of an inode for its page cache before it
  // asks for them (the FUSE adapter passes fuse_lowlevel_notify_store).
  // Called on the FUSE worker serving a read, for whole pages past that
  // read's own: the kernel holds those locked until the reply.
  using PageCacheStore = std::function<void(uint64_t ino, uint64_t offset, std::span<const char> bytes)>;
  void SetPageCacheStore(PageCacheStore store);

 private:
  struct FileHandle;

  // `name` in `parent`: the hidden subtrees' roots in the mount root, else
  // what `parent`'s subtree finds.
  Result<std::shared_ptr<const Node>> LookupNode(uint64_t parent_ino, const Node& parent, std::string_view name);
  Entry MakeEntry(const Node& parent, const Node& child, const Attr& attr) const;
  // OK unless `node` belongs to a snapshot this mount may no longer serve
  // (access_gate.h).
  Status CheckAccess(const Node& node);
  Result<std::vector<DirEntry>> ListDir(const Node& node);
  Result<OpenedFile> OpenMadeFile(std::shared_ptr<const Node> node);
  Result<OpenedFile> OpenRepoFile(uint64_t ino, std::shared_ptr<const Node> node);
  uint64_t AddFileHandle(std::shared_ptr<FileHandle> handle) EXCLUDES(handles_mu_);
  // A header read (fs/header_read.cc).
  Result<size_t> ReadHeader(uint64_t ino, FileContent& content, const FileLocation& location, uint64_t offset,
                            std::span<char> out, ReadaheadPlan plan);

  HubClient* const hub_;
  BlockStore* const blocks_;
  const FilesystemOptions options_;
  const int64_t mount_time_;
  SnapshotSource snapshots_;
  RepoTree repo_tree_;
  HfCacheView hf_view_;
  ControlFolder control_;
  InodeTable inodes_;  // after repo_tree_, which makes its root
  // Destroyed in reverse order: fetches finish (and may hand blocks to the
  // writer), then the writer drains, then the contents they referenced go.
  std::function<void(uint64_t)> invalidate_pages_;  // set before the session runs
  PageCacheStore store_pages_;                      // set before the session runs
  MountCounters counters_;
  LinkEstimator link_;  // sizes readahead GETs and the budget's working limit
  MemoryBudget budget_;
  BufferPool buffers_;  // outlives every block buffer handed out
  // Background prefetch is pumped here after budget releases, which happen
  // on any thread and under any lock (a block's bytes carry their share).
  std::atomic<bool> stopping_{false};
  std::atomic<bool> pump_queued_{false};
  WorkQueue pump_queue_;
  ContentRegistry contents_;
  WorkQueue kernel_notifier_;  // one thread: page-cache invalidations
  WorkQueue cache_writer_;  // one thread: LMDB has one writer at a time anyway
  WorkQueue hasher_;        // one thread: a file's hash runs in order
  WorkQueue fetch_queue_;
  WorkQueue urgent_fetch_queue_;

  Mutex handles_mu_;
  uint64_t next_handle_ GUARDED_BY(handles_mu_) = 1;
  std::unordered_map<uint64_t, std::shared_ptr<FileHandle>> files_ GUARDED_BY(handles_mu_);
  std::unordered_map<uint64_t, std::shared_ptr<const std::vector<DirEntry>>> dirs_ GUARDED_BY(handles_mu_);
};

}  // namespace hfm
