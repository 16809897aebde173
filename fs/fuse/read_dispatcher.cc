#include "fs/fuse/read_dispatcher.h"

#include <string>
#include <utility>

#include "util/log.h"

namespace hfm {

ReadDispatcher::ReadDispatcher(const Options& options)
    : options_(options), clock_(options.clock ? options.clock : SystemClock()) {
  threads_.reserve(static_cast<size_t>(options_.threads));
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { RunThread(); });
  expirer_ = std::thread([this] { ExpireThread(); });
}

ReadDispatcher::~ReadDispatcher() {
  std::deque<Queued> left;
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    left.swap(queue_);
  }
  work_.SignalAll();
  room_.SignalAll();
  expire_.SignalAll();
  for (auto& queued : left) queued.job.refuse(Status::Unavailable("the mount is going away"));
  for (auto& thread : threads_) thread.join();
  expirer_.join();
  // A submitter that was waiting for room gave up once stopping_ was set;
  // none can be left, since the FUSE loop ended before this runs.
}

void ReadDispatcher::Submit(Job job) {
  Status refusal;
  {
    MutexLock lock(&mu_);
    if (!stopping_ && queue_.size() >= options_.queue_capacity) {
      if (waiting_submitters_ >= options_.max_waiting_submitters) {
        refusal = Status::ResourceExhausted(
            "too many reads at once: " + std::to_string(options_.queue_capacity) + " queued and " +
            std::to_string(waiting_submitters_) + " more waiting for room");
      } else {
        ++waiting_submitters_;
        room_.Wait(&mu_, [&]() REQUIRES(mu_) { return stopping_ || queue_.size() < options_.queue_capacity; });
        --waiting_submitters_;
      }
    }
    if (refusal.ok() && stopping_) refusal = Status::Unavailable("the mount is going away");
    if (refusal.ok()) {
      queue_.push_back(Queued{std::move(job), clock_->Now()});
      work_.Signal();
      if (queue_.size() == 1) expire_.Signal();  // a new oldest job
      return;
    }
  }
  LogDebug("read refused: " + refusal.message());
  job.refuse(refusal);
}

ReadDispatcher::Load ReadDispatcher::load() {
  MutexLock lock(&mu_);
  return Load{running_, queue_.size(), waiting_submitters_};
}

void ReadDispatcher::RunThread() {
  MutexLock lock(&mu_);
  while (true) {
    work_.Wait(&mu_, [&]() REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to run
    Queued next = std::move(queue_.front());
    queue_.pop_front();
    room_.Signal();
    expire_.Signal();  // a new oldest job, or none
    const bool stale = clock_->Now() - next.admitted > options_.queue_timeout;
    ++running_;
    lock.Unlock();
    if (stale) {
      next.job.refuse(Status::DeadlineExceeded("the read waited in the queue past the read timeout"));
    } else {
      next.job.run();
    }
    next = Queued{};  // the job's captures go before the lock is taken again
    lock.Lock();
    --running_;
  }
}

void ReadDispatcher::ExpireThread() {
  MutexLock lock(&mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      expire_.Wait(&mu_);
      continue;
    }
    const TimePoint due = queue_.front().admitted + options_.queue_timeout;
    if (clock_->Now() <= due) {
      clock_->WaitUntil(&expire_, &mu_, due);
      continue;
    }
    Queued stale = std::move(queue_.front());
    queue_.pop_front();
    room_.Signal();
    lock.Unlock();
    stale.job.refuse(Status::DeadlineExceeded("the read waited in the queue past the read timeout"));
    stale = Queued{};
    lock.Lock();
  }
}

}  // namespace hfm
