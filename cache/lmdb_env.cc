#include "cache/lmdb_env.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <cstring>
#include <filesystem>
#include <set>

#include "cache/cache_directory.h"
#include "util/log.h"
#include "util/mutex.h"

namespace hfm {
namespace {

constexpr unsigned kMaxReaders = 512;
constexpr unsigned kMaxDbs = 8;
// Reset read txns kept for renewal. Each holds a reader slot (without pinning
// pages), so the pool is bounded well below kMaxReaders.
constexpr size_t kMaxPooledReaders = 32;
constexpr const char* kOpenLockName = "/open.lock";

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

// Serializes opens (marker inspection, wipe, mdb_env_open) between processes.
// Held only while opening, so it never keeps a second process out.
class OpenLock {
 public:
  explicit OpenLock(const std::string& dir) {
    fd_ = OpenInCacheDirectory(dir + kOpenLockName, O_RDWR | O_CREAT);
    if (fd_ >= 0) {
      while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~OpenLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
  }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Directories this process has open. LMDB forbids opening one environment
// twice in a process: closing either copy drops the other's fcntl locks.
Mutex g_open_mu;
std::set<std::string>& OpenDirectories() REQUIRES(g_open_mu) {
  static auto* dirs = new std::set<std::string>();  // never destroyed: usable during exit
  return *dirs;
}

std::string Canonical(const std::string& dir) {
  std::error_code ec;
  auto path = std::filesystem::canonical(dir, ec);
  return ec ? dir : path.string();
}

void WipeDataFiles(const std::string& dir, const std::vector<std::string>& markers) {
  LogWarning("cache: " + dir +
             " had unsynced commits when the system went down; its data file may be torn, "
             "discarding the cache");
  ::unlink((dir + "/data.mdb").c_str());
  ::unlink((dir + "/lock.mdb").c_str());
  for (const auto& m : markers) ::unlink(m.c_str());
}

// Creates the LMDB environment of `dir` and opens it with the cache's
// settings (the map size rounded down to whole OS pages).
Result<MDB_env*> OpenMdbEnv(const std::string& dir, uint64_t map_size_wanted) {
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) return LmdbStatus(rc, "mdb_env_create");
  const long os_page = ::sysconf(_SC_PAGESIZE);
  const uint64_t page = os_page > 0 ? static_cast<uint64_t>(os_page) : 4096;
  const uint64_t map_size = map_size_wanted / page * page;
  if ((rc = mdb_env_set_maxreaders(env, kMaxReaders)) != 0 ||
      (rc = mdb_env_set_maxdbs(env, kMaxDbs)) != 0 ||
      (rc = mdb_env_set_mapsize(env, map_size)) != 0 ||
      (rc = mdb_env_open(env, dir.c_str(), MDB_NOTLS | MDB_NOSYNC | MDB_NOMETASYNC, 0600)) != 0) {
    mdb_env_close(env);
    return LmdbStatus(rc, "cannot open LMDB cache in " + dir);
  }
  return env;
}

}  // namespace

Status LmdbStatus(int rc, std::string_view what) {
  if (rc == MDB_SUCCESS) return Status::Ok();
  std::string m = std::string(what) + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_NOTFOUND: return Status::NotFound(m);
    case MDB_MAP_FULL: return Status::ResourceExhausted(m);
    case MDB_MAP_RESIZED:
      return Status::Unavailable(m + " (another process uses a larger max_bytes)");
    case MDB_READERS_FULL: return Status::Unavailable(m);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH: return Status::DataLoss(m);
    case MDB_BAD_VALSIZE: return Status::InvalidArgument(m);
    case EACCES:
    case EROFS: return Status::PermissionDenied(m);
    default: return Status::Internal(m);
  }
}

Result<std::shared_ptr<LmdbEnv>> LmdbEnv::Open(const LmdbEnvOptions& options) {
  const std::string& dir = options.directory;
  if (dir.empty()) return Status::InvalidArgument("cache directory is empty");
  uid_t owner = 0;
  HFM_RETURN_IF_ERROR(PrepareCacheDirectory(dir, &owner));

  const std::string canonical = Canonical(dir);
  {
    MutexLock registry(&g_open_mu);
    if (!OpenDirectories().insert(canonical).second) {
      return Status::InvalidArgument("cache directory " + dir + " is already open in this process");
    }
  }
  // Until the environment object exists, failures must release the name.
  struct Unregister {
    const std::string* name;
    ~Unregister() {
      if (name == nullptr) return;
      MutexLock registry(&g_open_mu);
      OpenDirectories().erase(*name);
    }
  } unregister{&canonical};

  OpenLock lock(dir);
  if (!lock.ok()) return Status::PermissionDenied(Errno("cannot open lock file in", dir));
  MarkerScan scan = ScanUnsyncedMarkers(dir);
  if (!scan.earlier_boot.empty()) {
    scan.earlier_boot.insert(scan.earlier_boot.end(), scan.dead_this_boot.begin(),
                             scan.dead_this_boot.end());
    WipeDataFiles(dir, scan.earlier_boot);
    scan.dead_this_boot.clear();
  }

  // LMDB opens data.mdb and lock.mdb by name, following symlinks. The
  // directory is ours (or root's) and not writable by others, so no other
  // user can put a symlink there between this check and LMDB's open.
  HFM_RETURN_IF_ERROR(CheckLmdbFiles(dir, owner));
  auto opened = OpenMdbEnv(dir, options.map_size);
  if (!opened.ok()) return opened.status();
  MDB_env* env = *opened;
  // Reader slots of crashed processes pin old pages and make the file grow.
  int dead = 0;
  mdb_reader_check(env, &dead);
  if (dead > 0) LogInfo("cache: cleared " + std::to_string(dead) + " stale reader slots in " + dir);
  if (!scan.dead_this_boot.empty()) {
    // Their commits are in the page cache; make them durable, then forget.
    if (mdb_env_sync(env, 1) == 0) {
      for (const auto& m : scan.dead_this_boot) ::unlink(m.c_str());
    }
  }

  std::shared_ptr<LmdbEnv> result(new LmdbEnv(options, canonical, env));
  unregister.name = nullptr;  // the environment object releases it now
  HFM_RETURN_IF_ERROR(result->OpenDatabases());
  result->syncer_ = std::thread([raw = result.get()] { raw->SyncLoop(); });
  return result;
}

LmdbEnv::LmdbEnv(const LmdbEnvOptions& options, std::string canonical, MDB_env* env)
    : directory_(options.directory),
      canonical_(std::move(canonical)),
      sync_interval_(options.sync_interval),
      env_(env),
      marker_(options.directory),
      write_lock_(options.directory, options.clock, options.write_lock_timeout) {
  MDB_stat st;
  if (mdb_env_stat(env_, &st) == 0) page_size_ = st.ms_psize;
  FindDataMapping();
}

void LmdbEnv::FindDataMapping() {
  if (mdb_env_get_fd(env_, &data_fd_) != 0) return;
  struct stat data;
  if (::fstat(data_fd_, &data) != 0) return;
  // Lines: "start-end perms offset dev inode path"; the map is the mapping of
  // the data file's inode at offset 0.
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long long start = 0, end = 0, offset = 0, inode = 0;
    char perms[8] = {0}, dev[32] = {0};
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %31s %llu", &start, &end, perms, &offset, dev, &inode) != 6) {
      continue;
    }
    unsigned int dev_major = 0, dev_minor = 0;
    if (std::sscanf(dev, "%x:%x", &dev_major, &dev_minor) != 2) continue;
    if (inode == static_cast<unsigned long long>(data.st_ino) && dev_major == major(data.st_dev) &&
        dev_minor == minor(data.st_dev) && offset == 0 && end > start) {
      map_base_ = reinterpret_cast<const char*>(static_cast<uintptr_t>(start));
      map_length_ = end - start;
      return;
    }
  }
}

LmdbEnv::~LmdbEnv() {
  {
    MutexLock lock(&sync_mu_);
    stop_ = true;
  }
  sync_cv_.SignalAll();
  if (syncer_.joinable()) syncer_.join();
  for (MDB_txn* txn : pool_) mdb_txn_abort(txn);
  pool_.clear();
  SyncIfDirty();
  mdb_env_close(env_);
  MutexLock registry(&g_open_mu);
  OpenDirectories().erase(canonical_);
}

Status LmdbEnv::OpenDatabases() {
  return Write([this](MDB_txn* txn) {
    const std::pair<const char*, MDB_dbi*> dbs[] = {
        {"blocks", &blocks_}, {"files", &files_}, {"meta", &meta_}, {"internal", &internal_}};
    for (const auto& [name, dbi] : dbs) {
      int rc = mdb_dbi_open(txn, name, MDB_CREATE, dbi);
      if (rc != 0) return LmdbStatus(rc, std::string("cannot open database ") + name);
    }
    return Status::Ok();
  });
}

LmdbEnv::ReadTxn::~ReadTxn() {
  if (txn_ != nullptr) env_->ReleaseRead(txn_);
}

int LmdbEnv::BeginTxn(unsigned flags, MDB_txn** txn) {
  // Read transactions come from the pool when it has one: renewing skips the
  // allocation and the reader-table mutex of a new txn.
  for (int attempt = 0;; ++attempt) {
    map_mu_.ReaderLock();
    int rc;
    if (*txn != nullptr) {
      rc = mdb_txn_renew(*txn);
    } else {
      rc = mdb_txn_begin(env_, nullptr, flags, txn);
    }
    if (rc == 0) return 0;  // map_mu_ stays shared until the txn ends
    map_mu_.ReaderUnlock();
    if (rc != MDB_MAP_RESIZED || attempt > 0) return rc;
    AdoptGrownMap();
  }
}

void LmdbEnv::AdoptGrownMap() {
  WriterMutexLock lock(&map_mu_);
  const uint64_t before = MapSize();
  int rc = mdb_env_set_mapsize(env_, 0);
  if (rc != 0) {
    LogWarning("cache: cannot adopt the map size another process set for " + directory_ + ": " +
               mdb_strerror(rc));
    return;
  }
  map_base_ = nullptr;  // the map moved: find it again
  map_length_ = 0;
  FindDataMapping();
  LogInfo("cache: another process grew " + directory_ + "; map " + std::to_string(before) + " -> " +
          std::to_string(MapSize()) + " bytes");
}

Result<LmdbEnv::ReadTxn> LmdbEnv::BeginRead() {
  MDB_txn* txn = nullptr;
  {
    MutexLock lock(&pool_mu_);
    if (!pool_.empty()) {
      txn = pool_.back();
      pool_.pop_back();
    }
  }
  const bool renewing = txn != nullptr;
  int rc = BeginTxn(MDB_RDONLY, &txn);
  if (rc != 0) {
    if (renewing) mdb_txn_abort(txn);
    return LmdbStatus(rc, renewing ? "renew read transaction" : "begin read transaction");
  }
  return ReadTxn(this, txn);
}

void LmdbEnv::ReleaseRead(MDB_txn* txn) {
  mdb_txn_reset(txn);  // releases the snapshot now, keeps the reader slot
  map_mu_.ReaderUnlock();
  {
    MutexLock lock(&pool_mu_);
    if (pool_.size() < kMaxPooledReaders) {
      pool_.push_back(txn);
      return;
    }
  }
  mdb_txn_abort(txn);
}

Status LmdbEnv::Write(const std::function<Status(MDB_txn*)>& body, uint64_t* used_bytes) {
  if (!write_lock_.Acquire()) {
    return Status::Unavailable("cache " + directory_ + " is busy: another process holds its write lock");
  }
  const bool marked = marker_.BeginWrite();
  MDB_txn* txn = nullptr;
  Status s;
  int rc = BeginTxn(0, &txn);
  if (rc != 0) {
    s = LmdbStatus(rc, "begin write transaction");
  } else {
    s = body(txn);
    if (s.ok() && used_bytes != nullptr) *used_bytes = UsedBytes(txn);
    if (s.ok()) {
      rc = mdb_txn_commit(txn);  // frees txn either way
      if (rc != 0) s = LmdbStatus(rc, "commit");
    } else {
      mdb_txn_abort(txn);
    }
    map_mu_.ReaderUnlock();
  }
  marker_.EndWrite();
  write_lock_.Release();
  if (!marked && s.ok()) mdb_env_sync(env_, 1);  // no marker: durable now instead
  return s;
}

uint64_t LmdbEnv::UsedBytes(MDB_txn* txn) const {
  uint64_t pages = 2;  // the two meta pages
  // 0 is the free list's tree and 1 the main tree that names the others.
  const MDB_dbi dbis[] = {0, 1, blocks_, files_, meta_, internal_};
  for (MDB_dbi dbi : dbis) {
    MDB_stat st;
    if (mdb_stat(txn, dbi, &st) == 0) {
      pages += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    }
  }
  return pages * page_size_;
}

Result<uint64_t> LmdbEnv::UsedBytes() {
  auto txn = BeginRead();
  if (!txn.ok()) return txn.status();
  return UsedBytes(txn->get());
}

uint64_t LmdbEnv::MapSize() const {
  MDB_envinfo info;
  return mdb_env_info(env_, &info) == 0 ? info.me_mapsize : 0;
}

void LmdbEnv::CopyOut(const char* at, std::span<char> out) const {
  if (!out.empty() && map_base_ && data_fd_ >= 0) {
    const char* base = map_base_;
    const int fd = data_fd_;
    if (at >= base && at + out.size() <= base + map_length_) {
      size_t done = 0;
      const off_t start = at - base;
      while (done < out.size()) {
        const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, start + static_cast<off_t>(done));
        if (n <= 0) {
          if (n < 0 && errno == EINTR) continue;
          break;
        }
        done += static_cast<size_t>(n);
      }
      if (done == out.size()) return;
    }
  }
  if (!out.empty()) std::memcpy(out.data(), at, out.size());
}

void LmdbEnv::AdviseWillNeed(const MDB_val& value) const {
  const char* at = static_cast<const char*>(value.mv_data);
  if (!map_base_ || data_fd_ < 0 || at < map_base_ || at + value.mv_size > map_base_ + map_length_) return;
  ::posix_fadvise(data_fd_, at - map_base_, static_cast<off_t>(value.mv_size), POSIX_FADV_WILLNEED);
}

std::string LmdbEnv::CopyOut(const MDB_val& value) const {
  std::string out(value.mv_size, '\0');
  CopyOut(static_cast<const char*>(value.mv_data), std::span<char>(out.data(), out.size()));
  return out;
}

uint64_t LmdbEnv::DataFileBytes() const {
  struct stat st;
  return ::stat((directory_ + "/data.mdb").c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

Status LmdbEnv::Sync() { return LmdbStatus(mdb_env_sync(env_, 1), "sync " + directory_); }

void LmdbEnv::SyncIfDirty() {
  if (!marker_.TakeDirty()) return;
  int rc = mdb_env_sync(env_, 1);
  if (rc == 0) {
    marker_.ClearIfIdle();
  } else {
    LogWarning("cache: sync of " + directory_ + " failed: " + mdb_strerror(rc));
  }
}

void LmdbEnv::SyncLoop() {
  MutexLock lock(&sync_mu_);
  while (!stop_) {
    // A timer, not a synchronization: tests never wait for it.
    const TimePoint next = std::chrono::steady_clock::now() + sync_interval_;
    if (sync_cv_.WaitUntil(&sync_mu_, next, [this]() REQUIRES(sync_mu_) { return stop_; })) break;
    lock.Unlock();
    SyncIfDirty();
    int dead = 0;
    mdb_reader_check(env_, &dead);  // slots of processes that died since
    lock.Lock();
  }
}

}  // namespace hfm
