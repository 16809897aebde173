#include "cache/write_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "cache/cache_directory.h"
#include "util/log.h"

namespace hfm {
namespace {

// While contended, a try waits this fraction of the full timeout.
constexpr int kContendedDivisor = 20;
// Between tries: short first (the usual holder commits within a millisecond),
// longer while it stays taken.
constexpr Duration kFirstPoll = std::chrono::milliseconds(1);
constexpr Duration kMaxPoll = std::chrono::milliseconds(50);

bool SetFileLock(int fd, short type) {
  struct flock fl = {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;  // the whole file
  return ::fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

}  // namespace

WriteLock::WriteLock(const std::string& directory, Clock* clock, Duration timeout)
    : path_(directory + "/write.lock"), clock_(clock), timeout_(timeout) {
  fd_ = OpenInCacheDirectory(path_, O_RDWR | O_CREAT);
  if (fd_ < 0) LogWarning("cache: cannot open " + path_ + "; writes wait on LMDB's own lock, unbounded");
}

WriteLock::~WriteLock() {
  if (fd_ >= 0) ::close(fd_);
}

bool WriteLock::Acquire() {
  holder_mu_.Lock();
  if (fd_ < 0) return true;
  const Duration wait = contended_ ? timeout_ / kContendedDivisor : timeout_;
  if (LockFileUntil(clock_->Now() + wait)) {
    if (contended_) LogInfo("cache: " + path_ + " is free again; writing to the cache");
    contended_ = false;
    return true;
  }
  if (!contended_) {
    LogWarning("cache: another process has held " + path_ + " for over " +
               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count()) +
               " ms (stopped?); skipping cache writes until it lets go, reads are served from memory");
  }
  contended_ = true;
  holder_mu_.Unlock();
  return false;
}

void WriteLock::Release() {
  if (fd_ >= 0) SetFileLock(fd_, F_UNLCK);
  holder_mu_.Unlock();
}

bool WriteLock::LockFileUntil(TimePoint deadline) {
  Duration pause = kFirstPoll;
  for (;;) {
    if (SetFileLock(fd_, F_WRLCK)) return true;
    if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
      LogWarning("cache: cannot lock " + path_ + ": " + std::strerror(errno) + "; writing without it");
      return true;  // LMDB's own lock still serializes the write
    }
    // F_OFD_SETLKW cannot be given a deadline: try again after a pause.
    const TimePoint now = clock_->Now();
    if (now >= deadline) return false;
    MutexLock lock(&poll_mu_);
    clock_->WaitUntil(&poll_cv_, &poll_mu_, std::min(deadline, now + pause));
    pause = std::min(pause * 2, kMaxPoll);
  }
}

}  // namespace hfm
