// WorkQueue: a fixed set of threads running jobs in FIFO order. The read path
// puts block fetches here so a FUSE worker only ever waits (with a deadline)
// and never blocks on the network itself, and so that readahead runs while
// the reader consumes what already arrived.
//
// Jobs submitted as urgent (a reader is waiting for them) run before every
// normal job (readahead, background prefetch) still queued.
//
// SetActive() caps how many jobs run at once below the thread count, and may
// be raised and lowered as the read path learns its link (more GETs in
// flight on a far one).
//
// Thread safety: Submit() may be called from any thread. The destructor
// finishes queued jobs' threads after draining: jobs must be bounded in time.
#pragma once

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "util/mutex.h"

namespace hfm {

class WorkQueue {
 public:
  explicit WorkQueue(int threads);
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  enum class Priority { kNormal, kUrgent };
  void Submit(std::function<void()> job, Priority priority = Priority::kNormal);
  // At most `jobs` (clamped to [1, threads]) run at once from now on; jobs
  // already running finish.
  void SetActive(int jobs) EXCLUDES(mu_);
  int active() EXCLUDES(mu_);

 private:
  void Run();

  Mutex mu_;
  CondVar cv_{&mu_};
  std::deque<std::function<void()>> urgent_ GUARDED_BY(mu_);
  std::deque<std::function<void()>> jobs_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  const int thread_count_;
  int active_limit_ GUARDED_BY(mu_);
  int running_ GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_;
};

}  // namespace hfm
