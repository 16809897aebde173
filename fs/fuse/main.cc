// mount.hfmirror: parses options, mounts, daemonizes, and runs the FUSE loop.
// Threads (curl's, the fetch workers') and the LMDB environment are created
// only after fuse_daemonize() forks, since neither survives a fork.
#include <grp.h>
#include <malloc.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cache/block_store.h"
#include "fetch/hub_client.h"
#include "fs/mount/credentials.h"
#include "fs/fuse/fuse_adapter.h"
#include "fs/fuse/read_dispatcher.h"
#include "fs/tree/hub_filesystem.h"
#include "fs/mount/mount_options.h"
#include "fs/mount/mount_setup.h"
#include "util/log.h"

namespace {

using namespace hfm;

// The kernel caps a FUSE mount's readahead at its backing device's default
// (128 KiB), whatever max_readahead says; raising the bdi's read_ahead_kb lets
// sequential readers send 1 MiB requests. Best effort: needs root and sysfs.
void RaiseKernelReadahead(const std::string& mountpoint, unsigned kib) {
  std::FILE* info = std::fopen("/proc/self/mountinfo", "r");
  if (!info) return;
  char line[4096];
  std::string device;
  while (std::fgets(line, sizeof(line), info)) {
    char dev[64], mnt[2048];
    if (std::sscanf(line, "%*s %*s %63s %*s %2047s", dev, mnt) == 2 && mountpoint == mnt) device = dev;
  }
  std::fclose(info);
  if (device.empty()) return;
  const std::string path = "/sys/class/bdi/" + device + "/read_ahead_kb";
  if (std::FILE* f = std::fopen(path.c_str(), "w")) {
    std::fprintf(f, "%u\n", kib);
    std::fclose(f);
  }
}

// -o cache_group=GROUP: the cache directory is 0750 and owned by GROUP, so
// that group's members can read it (e.g. `hfmirror cache stats`); otherwise
// the cache layer creates it 0700.
Status PrepareSharedCacheDir(const std::string& dir, const std::string& group) {
  struct group* gr = getgrnam(group.c_str());
  if (!gr) return Status::InvalidArgument("cache_group: no such group '" + group + "'");
  if (mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    return Status::InvalidArgument("cannot create cache directory " + dir + ": " + std::strerror(errno));
  }
  if (chown(dir.c_str(), static_cast<uid_t>(-1), gr->gr_gid) != 0 || chmod(dir.c_str(), 0750) != 0) {
    return Status::InvalidArgument("cannot give cache directory " + dir + " to group " + group + ": " +
                                   std::strerror(errno));
  }
  return Status::Ok();
}

int Fail(const Status& status) {
  std::fprintf(stderr, "mount.hfmirror: %s\n", status.message().c_str());
  return 1;
}

// Everything about the cache that can fail is checked before forking, so
// errors reach the user's terminal rather than syslog.
Status PrepareCache(const MountOptions& m, const CacheOptions& cache_options) {
  if (!m.cache_group.empty()) HFM_RETURN_IF_ERROR(PrepareSharedCacheDir(m.cache_dir, m.cache_group));
  auto probe = OpenLmdbCache(cache_options);
  if (!probe.ok()) return Status::Unavailable("cache " + m.cache_dir + ": " + probe.status().message());
  return Status::Ok();
}

// The argv libfuse parses for the session: the kernel options every mount
// has, then the ones passed through from -o.
class FuseArgs {
 public:
  explicit FuseArgs(const MountOptions& m) : options_("ro,fsname=hfmirror,subtype=hfmirror,max_read=1048576") {
    bool allow_other = false;
    for (const auto& o : m.fuse_options) {
      options_ += "," + o;
      allow_other |= o == "allow_other";
    }
    // With allow_other, let the kernel apply our modes to every local user.
    if (allow_other) options_ += ",default_permissions";
    argv_ = {"mount.hfmirror", "-o", options_.c_str()};
    if (m.debug) argv_.push_back("-d");
    args_ = FUSE_ARGS_INIT(static_cast<int>(argv_.size()), const_cast<char**>(argv_.data()));
  }
  // libfuse copies argv into its own allocation when it adds an argument.
  ~FuseArgs() { fuse_opt_free_args(&args_); }
  FuseArgs(const FuseArgs&) = delete;
  FuseArgs& operator=(const FuseArgs&) = delete;

  fuse_args* get() { return &args_; }

 private:
  std::string options_;
  std::vector<const char*> argv_;
  fuse_args args_;
};

// Lets the filesystem drop and fill the kernel's page cache of a file.
void ConnectPageCache(HubFilesystem* fs, fuse_session* se) {
  fs->SetPageCacheInvalidator([se](uint64_t ino) {
    fuse_lowlevel_notify_inval_inode(se, ino, 0, 0);
  });
  fs->SetPageCacheStore([se](uint64_t ino, uint64_t offset, std::span<const char> bytes) {
    fuse_bufvec buf = FUSE_BUFVEC_INIT(bytes.size());
    buf.buf[0].mem = const_cast<char*>(bytes.data());
    // Best effort: the kernel then asks for those pages as usual.
    const int rc = fuse_lowlevel_notify_store(se, ino, static_cast<off_t>(offset), &buf, FUSE_BUF_NO_SPLICE);
    if (rc < 0) LogDebug("page cache store of inode " + std::to_string(ino) + " failed: " + strerror(-rc));
  });
}

void LogMounted(const MountOptions& m) {
  std::string endpoints;
  for (const auto& e : m.endpoints) endpoints += (endpoints.empty() ? "" : ";") + e;
  LogInfo("mounted " + endpoints + " on " + m.mountpoint + " (cache " + m.cache_dir +
          (m.offline ? ", offline" : "") + (m.strict ? ", verify=strict" : "") + ")");
}

// The FUSE loop's workers. Reads never run on them (ReadDispatcher), and at
// most kMaxReadSubmittersWaiting of them wait to hand one over, so the rest
// are always there for lookups, getattrs and listings.
constexpr int kFuseWorkers = 64;
constexpr int kMaxReadSubmittersWaiting = kFuseWorkers / 4;

// Reads run on threads of their own: as many as the FUSE loop had workers
// for them before, with a queue for bursts (a queued read is a few words;
// its buffer is taken only when it runs).
ReadDispatcher::Options MakeReadDispatcherOptions(const MountOptions& m) {
  ReadDispatcher::Options o;
  o.threads = 48;
  o.queue_capacity = 1024;
  o.max_waiting_submitters = kMaxReadSubmittersWaiting;
  o.queue_timeout = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(m.timeout));
  // The read path's own EIO normally comes first (and says why); this one
  // holds when it does not, as under many reads on a stalled mirror.
  o.run_timeout = o.queue_timeout + std::chrono::seconds(1);
  return o;
}

// Serves requests until the mount goes away; 0 on a clean unmount. A read of
// /dev/fuse that races the unmount with a request still in flight (ours are
// answered from the read threads) fails with ECONNABORTED rather than ENODEV:
// the filesystem is gone either way, so that too is a clean end.
int RunSessionLoop(fuse_session* se) {
  fuse_loop_config* loop = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(loop, 1);
  fuse_loop_cfg_set_max_threads(loop, kFuseWorkers);
  // Idle workers are kept (creating one per request costs a clone() and,
  // with clone_fd, an open of /dev/fuse); past 16 idle the extra ones go.
  fuse_loop_cfg_set_idle_threads(loop, 16);
  const int loop_rc = fuse_session_loop_mt(se, loop);
  const int rc = (loop_rc == 0 || loop_rc == -ECONNABORTED || loop_rc == -ENODEV) ? 0 : 1;
  if (loop_rc == -ECONNABORTED) LogInfo("the kernel ended the FUSE connection with requests in flight");
  fuse_loop_cfg_destroy(loop);
  return rc;
}

// After the fork: the Hub client and the filesystem over `cache`, served
// through `se` until unmounted.
int Serve(const MountOptions& m, const std::string& token, Cache* cache, fuse_session* se, FuseContext* context) {
  auto transport = NewCurlTransport(MakeTransportOptions(m));
  // Every listing and snapshot of this mount is charged to one budget.
  ListingMemory listing_memory(m.max_listing_memory);
  auto hub = NewHubClient(MakeHubClientOptions(m, token, transport.get(), &listing_memory));
  auto fs = std::make_unique<HubFilesystem>(hub.get(), cache->blocks.get(), cache->meta.get(),
                                            MakeFilesystemOptions(m, HFM_VERSION, &listing_memory));
  ConnectPageCache(fs.get(), se);
  auto reads = std::make_unique<ReadDispatcher>(MakeReadDispatcherOptions(m));
  context->fs = fs.get();
  context->reads = reads.get();
  LogMounted(m);
  const int rc = RunSessionLoop(se);
  LogInfo("unmounting " + m.mountpoint);
  // Abort fetches still in flight so no thread waits on a hung server.
  transport->CancelAll();
  // Before the filesystem goes: reads still queued are answered, running
  // ones end (their fetches were just cancelled).
  context->reads = nullptr;
  reads.reset();
  context->fs = nullptr;
  fs.reset();
  return rc;
}

int Run(const MountOptions& m) {
  auto token = LoadToken(m.token_file);
  if (!token.ok()) return Fail(token.status());
  const CacheOptions cache_options = MakeCacheOptions(m);
  if (Status st = PrepareCache(m, cache_options); !st.ok()) return Fail(st);

  FuseArgs args(m);
  FuseContext context;
  fuse_session* se = fuse_session_new(args.get(), &FuseOperations(), sizeof(fuse_lowlevel_ops), &context);
  if (!se) {
    std::fprintf(stderr, "mount.hfmirror: cannot create FUSE session\n");
    return 1;
  }
  // Said before the mount appears, on the user's terminal.
  if (m.insecure) LogWarning("TLS certificate verification is OFF (-o insecure): any host can pose as the Hub");
  if (fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, m.mountpoint.c_str()) != 0) {
    std::fprintf(stderr, "mount.hfmirror: cannot mount on %s\n", m.mountpoint.c_str());
    fuse_session_destroy(se);
    return 1;
  }
  char resolved[PATH_MAX];
  if (realpath(m.mountpoint.c_str(), resolved)) RaiseKernelReadahead(resolved, 1024);
  fuse_daemonize(m.foreground ? 1 : 0);
  if (!m.foreground) SetLogToSyslog(true);

  int rc = 1;
  // Opened after the fork (an LMDB environment does not survive one), closed
  // only once the session is gone.
  auto cache = OpenLmdbCache(cache_options);
  if (!cache.ok()) {
    LogError("cannot open cache " + m.cache_dir + ": " + cache.status().ToString());
  } else {
    rc = Serve(m, *token, &*cache, se, &context);
  }
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  // One malloc arena for every thread. With one per thread (glibc's default,
  // up to 8 per core), a block buffer freed on another thread than the one
  // that made it stays in that thread's arena, and 1 MiB LMDB pages and
  // block copies spread over dozens of arenas, growing the resident size
  // (scripts/bench targets 1 and 8 show it). Allocation is rare on the data
  // path (buffers are pooled), so the shared lock is cheap.
  mallopt(M_ARENA_MAX, 1);
  auto options = ParseMountOptions(argc, argv);
  if (!options.ok()) {
    std::fprintf(stderr, "mount.hfmirror: %s\n", options.status().message().c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(MountUsage(), stdout);
    return 0;
  }
  if (options->version) {
    std::printf("mount.hfmirror %s\n", HFM_VERSION);
    return 0;
  }
  const std::string& level = options->log_level;
  SetLogLevel(options->debug || level == "debug" ? LogLevel::kDebug
              : level == "warning"               ? LogLevel::kWarning
              : level == "error"                 ? LogLevel::kError
                                                 : LogLevel::kInfo);
  return Run(*options);
}
