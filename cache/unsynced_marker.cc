#include "cache/unsynced_marker.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

#include "cache/cache_directory.h"
#include "util/log.h"

namespace hfm {
namespace {

constexpr std::string_view kMarkerPrefix = "unsynced.";

std::string ReadTrimmed(const std::string& path) {
  // Markers live in the cache directory: never follow a symlink there.
  std::string s;
  int fd = OpenInCacheDirectory(path, O_RDONLY);
  if (fd < 0) return s;
  char buf[128];
  const ssize_t n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  if (n > 0) s.assign(buf, static_cast<size_t>(n));
  s = s.substr(0, s.find('\n'));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

bool ProcessAlive(pid_t pid) {
  // EPERM: it exists but belongs to someone else.
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

bool FsyncPath(const std::string& path, int flags) {
  int fd = OpenInCacheDirectory(path, flags);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::string CurrentBootId() {
  std::string id = ReadTrimmed("/proc/sys/kernel/random/boot_id");
  return id.empty() ? "unknown" : id;
}

MarkerScan ScanUnsyncedMarkers(const std::string& directory) {
  MarkerScan scan;
  DIR* dir = ::opendir(directory.c_str());
  if (dir == nullptr) return scan;
  const std::string boot = CurrentBootId();
  const pid_t self = ::getpid();
  while (struct dirent* e = ::readdir(dir)) {
    std::string_view name = e->d_name;
    if (name.substr(0, kMarkerPrefix.size()) != kMarkerPrefix) continue;
    std::string_view digits = name.substr(kMarkerPrefix.size());
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (ec != std::errc() || end != digits.data() + digits.size() || pid <= 0) continue;
    const std::string path = directory + "/" + std::string(name);
    // An empty or torn marker was being written when the power went: suspect.
    if (ReadTrimmed(path) != boot) {
      scan.earlier_boot.push_back(path);
    } else if (pid != self && !ProcessAlive(pid)) {
      scan.dead_this_boot.push_back(path);
    }
  }
  ::closedir(dir);
  return scan;
}

UnsyncedMarker::UnsyncedMarker(const std::string& directory)
    : directory_(directory),
      path_(directory + "/" + std::string(kMarkerPrefix) + std::to_string(::getpid())),
      boot_id_(CurrentBootId()) {}

bool UnsyncedMarker::CreateDurably() {
  int fd = OpenInCacheDirectory(path_, O_WRONLY | O_CREAT | O_TRUNC);
  if (fd < 0) return false;
  const std::string line = boot_id_ + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  // The directory entry must be durable too, or a power loss could lose the
  // marker while keeping torn data.
  return ok && FsyncPath(directory_, O_RDONLY | O_DIRECTORY);
}

bool UnsyncedMarker::BeginWrite() {
  MutexLock lock(&mu_);
  ++in_flight_;
  dirty_ = true;
  if (present_) return true;
  // One fsync pair per sync period of activity, not per commit.
  present_ = CreateDurably();
  if (!present_ && !warned_) {
    warned_ = true;
    LogWarning("cache: cannot create " + path_ + ": " + std::strerror(errno) +
               "; syncing every commit instead");
  }
  return present_;
}

void UnsyncedMarker::EndWrite() {
  MutexLock lock(&mu_);
  --in_flight_;
  dirty_ = true;
}

bool UnsyncedMarker::TakeDirty() {
  MutexLock lock(&mu_);
  const bool was = dirty_ || in_flight_ > 0;
  dirty_ = false;
  return was;
}

void UnsyncedMarker::ClearIfIdle() {
  MutexLock lock(&mu_);
  if (dirty_ || in_flight_ > 0 || !present_) return;
  // Losing this unlink to a power loss only costs a needless wipe later.
  ::unlink(path_.c_str());
  present_ = false;
}

}  // namespace hfm
