// ReadDispatcher: runs data reads on threads of its own, so that reads
// stalled on the network never hold the FUSE loop's workers and lookups,
// getattrs and listings always find one.
//
// A FUSE worker hands a read over with Submit() and returns at once; a read
// thread later does the read and replies (the low-level API lets any thread
// reply). Everything is bounded:
//  - `threads` read threads run reads;
//  - at most `queue_capacity` reads wait for one;
//  - when the queue is full, at most `max_waiting_submitters` FUSE workers
//    wait for room (so the kernel's count of requests in flight stays
//    bounded too); past that, a read is refused at once (ResourceExhausted),
//    so the remaining FUSE workers are always free for metadata;
//  - a read that waits in the queue past `queue_timeout` is refused then
//    (DeadlineExceeded), even while every read thread is still busy: a
//    reader waits at most one read timeout in the queue however long it is;
//  - a read running past `run_timeout` is answered DeadlineExceeded then;
//    its thread stays with it until the read path gives up, and its own
//    answer is dropped. So every read is answered within queue_timeout +
//    run_timeout, whatever the read path does on a stalled mirror.
// This file knows nothing of libfuse: a job is two callbacks.
//
// Thread safety: Submit() may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <thread>
#include <vector>

#include "util/clock.h"
#include "util/mutex.h"
#include "util/status.h"

namespace hfm {

class ReadDispatcher {
 public:
  struct Options {
    int threads = 48;
    size_t queue_capacity = 256;
    int max_waiting_submitters = 16;
    Duration queue_timeout = std::chrono::seconds(60);
    Duration run_timeout = std::chrono::seconds(60);
    const Clock* clock = nullptr;  // SystemClock() if null
  };
  // `run` does the read, then replies only if `may_answer()` says so (once
  // false, the read was answered already); `refuse` replies an error. At
  // most one of `run` and `refuse` is called, once, except that `refuse`
  // may be called while `run` runs, when it is past run_timeout.
  using MayAnswer = std::function<bool()>;
  struct Job {
    std::function<void(const MayAnswer& may_answer)> run;
    std::function<void(const Status&)> refuse;
  };

  explicit ReadDispatcher(const Options& options);
  // Refuses every read still queued (Unavailable) and waits for the running
  // ones, which the caller bounds (a read ends by its timeout; cancel the
  // transport first to end them sooner).
  ~ReadDispatcher();
  ReadDispatcher(const ReadDispatcher&) = delete;
  ReadDispatcher& operator=(const ReadDispatcher&) = delete;

  // Queues `job`; waits for room only while fewer than
  // max_waiting_submitters callers already do, refuses it otherwise.
  void Submit(Job job) EXCLUDES(mu_);

  // For tests and stats.
  struct Load {
    int running = 0;
    size_t queued = 0;
    int waiting_submitters = 0;
  };
  Load load() EXCLUDES(mu_);

 private:
  struct Queued {
    Job job;
    TimePoint admitted;
  };
  // Whether a read was answered: by its run or by the expirer, never both.
  struct Answer {
    std::atomic<bool> given{false};
    bool Claim() { return !given.exchange(true); }
  };
  struct Running {
    TimePoint due;  // TimePoint::max() once answered by the expirer
    std::shared_ptr<Answer> answer;
    std::function<void(const Status&)> refuse;
  };
  void RunThread() EXCLUDES(mu_);
  // Answers each read due: queued past queue_timeout, running past
  // run_timeout.
  void ExpireThread() EXCLUDES(mu_);
  // The earliest time a queued or running read falls due; max() if none.
  TimePoint NextDueLocked() REQUIRES(mu_);
  // Takes one read due at `now` off the books; returns its answer, to give
  // once mu_ is dropped.
  std::function<void()> TakeDueLocked(TimePoint now) REQUIRES(mu_);

  const Options options_;
  const Clock* const clock_;
  Mutex mu_;
  CondVar work_{&mu_};   // a job was queued, or stopping
  CondVar room_{&mu_};   // a job left the queue, or stopping
  CondVar expire_{&mu_}; // the queue's oldest job changed, or stopping
  std::deque<Queued> queue_ GUARDED_BY(mu_);
  std::list<Running> running_ GUARDED_BY(mu_);
  int waiting_submitters_ GUARDED_BY(mu_) = 0;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
  std::thread expirer_;
};

}  // namespace hfm
