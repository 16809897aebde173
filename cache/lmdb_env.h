// LmdbEnv: the one LMDB environment behind a cache directory, shared (through
// shared_ptr) by that directory's BlockStore and MetaStore. Internal to cache/.
//
// It owns the environment and its named databases, a pool of read
// transactions, the write-transaction helper, and a syncer thread. Settings:
//   MDB_NOTLS        FUSE worker threads come and go; read transactions are not
//                    bound to a thread, so any thread may renew a pooled one and
//                    a thread's exit strands no reader slot.
//   MDB_NOSYNC|MDB_NOMETASYNC
//                    a commit is a write() and costs no fsync. A kill -9 loses
//                    nothing (the kernel holds the pages); a power loss can tear
//                    the tree, which UnsyncedMarker detects at the next open.
//                    The syncer fdatasync()s every sync_interval when there were
//                    commits, and once more on close.
//   maxreaders 512   several processes, each with a pool of readers.
//   no MDB_NOLOCK, no exclusive lock held while open: several processes on one
//                    host may share a directory; LMDB's lock file coordinates
//                    them. LMDB must not live on NFS.
// Databases: "blocks" and "files" (see lmdb_format.h), "meta" (MetaStore),
// "internal" (format version and block size of the directory).
//
// Another process may open the directory with a larger map size and grow the
// data file past this process's map: LMDB then refuses new transactions with
// MDB_MAP_RESIZED until the map is redone, which needs every transaction of
// this process ended; map_mu_ (shared by each transaction) provides that.
//
// Thread safety: thread-safe. A ReadTxn is used by one thread at a time. Write
// transactions are serialized by WriteLock (bounded wait) and then LMDB's
// writer lock, across processes too.
#pragma once

#include <lmdb.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cache/unsynced_marker.h"
#include "cache/write_lock.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/status.h"

namespace hfm {

// Status for an LMDB return code. MDB_MAP_FULL is ResourceExhausted, which no
// other LMDB failure maps to, so callers may take it to mean "make room".
Status LmdbStatus(int rc, std::string_view what);

inline MDB_val ToVal(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view FromVal(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

struct LmdbEnvOptions {
  std::string directory;
  uint64_t map_size = 0;
  std::chrono::milliseconds sync_interval{5000};
  // The write lock's wait (see cache/write_lock.h), on `clock` (not owned).
  Clock* clock = SystemClock();
  Duration write_lock_timeout = std::chrono::seconds(2);
};

class LmdbEnv {
 public:
  // Creates the directory (mode 0700) if missing, refuses a path that is not a
  // directory (InvalidArgument), wipes a data file torn by a power loss, clears
  // stale reader slots, and opens the databases. A directory already open in
  // this process is refused (InvalidArgument): LMDB forbids a second copy.
  static Result<std::shared_ptr<LmdbEnv>> Open(const LmdbEnvOptions& options);
  // Syncs and closes. REQUIRES: no ReadTxn outstanding.
  ~LmdbEnv();
  LmdbEnv(const LmdbEnv&) = delete;
  LmdbEnv& operator=(const LmdbEnv&) = delete;

  MDB_dbi blocks() const { return blocks_; }
  MDB_dbi files() const { return files_; }
  MDB_dbi meta() const { return meta_; }
  MDB_dbi internal() const { return internal_; }
  const std::string& directory() const { return directory_; }

  // A read snapshot, returned to the pool when destroyed. Keep it short: a
  // live snapshot keeps the pages it sees from being reused.
  class ReadTxn {
   public:
    ReadTxn(ReadTxn&& other) noexcept : env_(other.env_), txn_(other.txn_) { other.txn_ = nullptr; }
    ReadTxn& operator=(ReadTxn&&) = delete;
    ~ReadTxn();
    MDB_txn* get() const { return txn_; }

   private:
    friend class LmdbEnv;
    ReadTxn(LmdbEnv* env, MDB_txn* txn) : env_(env), txn_(txn) {}
    LmdbEnv* env_;
    MDB_txn* txn_;
  };
  Result<ReadTxn> BeginRead();

  // Runs `body` in one write transaction and commits if it returns OK, else
  // aborts so nothing changes. MDB_MAP_FULL, in the body or at commit, comes
  // back as ResourceExhausted. Unavailable, with nothing run, if another
  // process holds the write lock past its timeout (WriteLock). If `used_bytes` is set it receives UsedBytes()
  // as of the commit. Must not be called from inside another Write's body.
  // (Holds map_mu_ shared across the body: the analysis cannot follow it.)
  Status Write(const std::function<Status(MDB_txn*)>& body, uint64_t* used_bytes = nullptr)
      NO_THREAD_SAFETY_ANALYSIS;

  // Bytes in pages that hold data: every tree (the free list's own too) and the
  // two meta pages, but not free pages. Unlike the data file's high-water mark
  // (last page), it falls when data is deleted, so eviction can aim at it.
  uint64_t UsedBytes(MDB_txn* txn) const;
  Result<uint64_t> UsedBytes();
  // Copies bytes of a value LMDB returned in a live read transaction (`at`
  // points into the map) by pread on the data file instead of through the
  // map: the same page-cache bytes, but serving a block does not map its
  // pages into the daemon, whose resident set would otherwise grow by every
  // block it has served. Falls back to the map if the read fails.
  void CopyOut(const char* at, std::span<char> out) const;
  std::string CopyOut(const MDB_val& value) const;
  // Starts reading the pages of a value (as CopyOut's `at`) into the page
  // cache (POSIX_FADV_WILLNEED) and returns without waiting for them.
  void AdviseWillNeed(const MDB_val& value) const;
  uint64_t MapSize() const;
  uint64_t DataFileBytes() const;
  uint32_t page_size() const { return page_size_; }
  size_t max_key_size() const { return static_cast<size_t>(mdb_env_get_maxkeysize(env_)); }

  // fdatasync now, whatever the syncer's schedule.
  Status Sync();

 private:
  LmdbEnv(const LmdbEnvOptions& options, std::string canonical, MDB_env* env);
  Status OpenDatabases();
  void ReleaseRead(MDB_txn* txn) NO_THREAD_SAFETY_ANALYSIS;
  // Begins (or renews) a transaction under a shared hold of map_mu_, kept
  // on success; adopts a map another process grew (MDB_MAP_RESIZED) first.
  int BeginTxn(unsigned flags, MDB_txn** txn) NO_THREAD_SAFETY_ANALYSIS;
  // mdb_env_set_mapsize(env, 0): takes the size another process recorded.
  // LMDB allows it only while no transaction of this process is active.
  void AdoptGrownMap();
  void SyncLoop();
  void FindDataMapping();
  void SyncIfDirty();

  const std::string directory_;
  const std::string canonical_;  // its entry in the process's open set
  const std::chrono::milliseconds sync_interval_;
  MDB_env* env_;
  uint32_t page_size_ = 4096;
  // Where the data file is mapped (found in /proc/self/maps: LMDB does not
  // say unless MDB_FIXEDMAP), for CopyOut. Null: copy through the map.
  const char* map_base_ = nullptr;
  uint64_t map_length_ = 0;
  int data_fd_ = -1;
  MDB_dbi blocks_ = 0, files_ = 0, meta_ = 0, internal_ = 0;
  UnsyncedMarker marker_;

  WriteLock write_lock_;
  // Shared by every live transaction (read or write), exclusive to remap
  // (AdoptGrownMap); also guards map_base_ and map_length_, which a remap
  // moves and which CopyOut reads inside a live transaction.
  SharedMutex map_mu_;

  Mutex pool_mu_;
  std::vector<MDB_txn*> pool_ GUARDED_BY(pool_mu_);  // reset read txns

  Mutex sync_mu_;
  CondVar sync_cv_{&sync_mu_};
  bool stop_ GUARDED_BY(sync_mu_) = false;
  std::thread syncer_;
};

}  // namespace hfm
