// WriteLock: a bound on the wait for the right to write to a cache shared by
// several processes.
//
// LMDB serializes writers across processes with a mutex in lock.mdb that has
// no timeout: one stopped writer (a CLI under SIGSTOP, a debugger) holding
// a write transaction would stall every mount on the cache. So every
// hfmirror process first takes an open-file-description lock on `write.lock`
// in the cache directory, trying with a deadline, and only then begins its
// LMDB write transaction; whoever holds LMDB's mutex holds this lock too.
// On timeout the caller skips its cache write (its reader is served from
// memory). After one timeout the lock is "contended" and later tries wait
// only a short while, so a stuck holder costs one full wait, not one per
// block, until a write gets through again.
//
// A process of an older hfmirror takes no such lock; a stopped one of those
// still stalls LMDB itself.
//
// Thread safety: thread-safe; one holder in this process at a time.
#pragma once

#include <string>

#include "util/clock.h"
#include "util/mutex.h"

namespace hfm {

class WriteLock {
 public:
  // `clock` is not owned and must outlive the lock.
  WriteLock(const std::string& directory, Clock* clock, Duration timeout);
  ~WriteLock();
  WriteLock(const WriteLock&) = delete;
  WriteLock& operator=(const WriteLock&) = delete;

  // Takes the lock (this process's writers one at a time, then the file
  // lock against other processes); true once held. False if another
  // process held it past the wait (logged once until a write gets through);
  // then nothing is held.
  bool Acquire() TRY_ACQUIRE(true, holder_mu_);
  void Release() RELEASE(holder_mu_);

 private:
  // Tries the file lock until `deadline`; false if it stayed taken.
  bool LockFileUntil(TimePoint deadline) REQUIRES(holder_mu_);

  const std::string path_;
  Clock* const clock_;
  const Duration timeout_;
  int fd_ = -1;

  Mutex holder_mu_;  // held from Acquire to Release
  bool contended_ GUARDED_BY(holder_mu_) = false;
  Mutex poll_mu_;     // only to wait on the clock between tries
  CondVar poll_cv_{&poll_mu_};
};

}  // namespace hfm
