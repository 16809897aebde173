// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable with
// the capability annotations of util/thread_annotations.h, which the
// standard library's types lack. Modelled on LevelDB's port::Mutex and
// port::CondVar: a CondVar waits on a Mutex the caller already holds.
// SharedMutex, with WriterMutexLock and ReaderMutexLock, does the same for
// std::shared_mutex.
//
// Thread safety: these are the synchronisation primitives.
#pragma once

#include <cassert>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#include "util/clock.h"
#include "util/thread_annotations.h"

namespace hfm {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // Tells the analysis the caller holds this mutex, where it cannot see so.
  void AssertHeld() ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds a Mutex for its scope; Unlock() and Lock() let a caller step out of
// it for a while (to call out, or to wait on something else).
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_->Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() RELEASE() {
    mu_->Unlock();
    held_ = false;
  }
  void Lock() ACQUIRE() {
    mu_->Lock();
    held_ = true;
  }

 private:
  Mutex* const mu_;
  bool held_ = true;
};

// The mutex is named at each wait, not only at construction, so the
// analysis can check the caller holds it (it cannot see through a member).
class CondVar {
 public:
  explicit CondVar(Mutex* mu) : mu_(mu) {}
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Waits until woken (or spuriously); `mu`, the constructor's, is held
  // again on return.
  void Wait(Mutex* mu) REQUIRES(mu) {
    assert(mu == mu_);
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // Waits until woken (or spuriously) or until `deadline`; false once the
  // deadline has passed. Callers loop on their own condition, which the
  // analysis then checks under the mutex (a predicate lambda hides it).
  bool WaitUntil(Mutex* mu, TimePoint deadline) REQUIRES(mu) {
    assert(mu == mu_);
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool woken = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  // Waits until `done()` holds or `deadline` passes; returns done(). done()
  // runs with `mu` held; one that reads guarded members says so itself,
  // with `[&]() REQUIRES(mu_) { ... }`.
  template <typename Predicate>
  bool WaitUntil(Mutex* mu, TimePoint deadline, Predicate done) REQUIRES(mu) {
    assert(mu == mu_);
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool result = cv_.wait_until(lock, deadline, done);
    lock.release();
    return result;
  }
  template <typename Predicate>
  void Wait(Mutex* mu, Predicate done) REQUIRES(mu) {
    assert(mu == mu_);
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock, done);
    lock.release();
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  [[maybe_unused]] Mutex* const mu_;  // checked by assert only
  std::condition_variable cv_;
};

// Writers hold it exclusively, readers share it.
class CAPABILITY("shared mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  void ReaderLock() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void ReaderUnlock() RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

class SCOPED_CAPABILITY WriterMutexLock {
 public:
  explicit WriterMutexLock(SharedMutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~WriterMutexLock() RELEASE() { mu_->Unlock(); }
  WriterMutexLock(const WriterMutexLock&) = delete;
  WriterMutexLock& operator=(const WriterMutexLock&) = delete;

 private:
  SharedMutex* const mu_;
};

class SCOPED_CAPABILITY ReaderMutexLock {
 public:
  explicit ReaderMutexLock(SharedMutex* mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_->ReaderLock(); }
  ~ReaderMutexLock() RELEASE() { mu_->ReaderUnlock(); }
  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  SharedMutex* const mu_;
};

}  // namespace hfm
