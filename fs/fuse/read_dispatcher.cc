#include "fs/fuse/read_dispatcher.h"

#include <algorithm>
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
  return Load{static_cast<int>(running_.size()), queue_.size(), waiting_submitters_};
}

void ReadDispatcher::RunThread() {
  MutexLock lock(&mu_);
  while (true) {
    work_.Wait(&mu_, [&]() REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to run
    Queued next = std::move(queue_.front());
    queue_.pop_front();
    room_.Signal();
    const TimePoint now = clock_->Now();
    if (now - next.admitted > options_.queue_timeout) {
      lock.Unlock();
      next.job.refuse(Status::DeadlineExceeded("the read waited in the queue past the read timeout"));
      next = Queued{};  // the job's captures go before the lock is taken again
      lock.Lock();
      continue;
    }
    auto answer = std::make_shared<Answer>();
    auto running = running_.insert(running_.end(), Running{now + options_.run_timeout, answer, next.job.refuse});
    expire_.Signal();  // a new oldest job or none, and a new running one
    lock.Unlock();
    next.job.run([&answer] { return answer->Claim(); });
    next = Queued{};
    lock.Lock();
    running_.erase(running);
  }
}

void ReadDispatcher::ExpireThread() {
  MutexLock lock(&mu_);
  while (!stopping_) {
    const TimePoint due = NextDueLocked();
    if (due == TimePoint::max()) {
      expire_.Wait(&mu_);
      continue;
    }
    const TimePoint now = clock_->Now();
    if (now <= due) {
      clock_->WaitUntil(&expire_, &mu_, due);
      continue;
    }
    std::function<void()> answer = TakeDueLocked(now);
    lock.Unlock();
    answer();
    answer = nullptr;  // its captures go before the lock is taken again
    lock.Lock();
  }
}

TimePoint ReadDispatcher::NextDueLocked() {
  TimePoint due = TimePoint::max();
  if (!queue_.empty()) due = queue_.front().admitted + options_.queue_timeout;
  for (const Running& r : running_) due = std::min(due, r.due);  // at most `threads` of them
  return due;
}

std::function<void()> ReadDispatcher::TakeDueLocked(TimePoint now) {
  if (!queue_.empty() && now > queue_.front().admitted + options_.queue_timeout) {
    auto refuse = std::move(queue_.front().job.refuse);
    queue_.pop_front();
    room_.Signal();
    return [refuse = std::move(refuse)] {
      refuse(Status::DeadlineExceeded("the read waited in the queue past the read timeout"));
    };
  }
  for (Running& r : running_) {
    if (now <= r.due) continue;
    r.due = TimePoint::max();
    return [answer = r.answer, refuse = r.refuse] {
      if (answer->Claim()) refuse(Status::DeadlineExceeded("no answer from the read path by the read deadline"));
    };
  }
  return [] {};
}

}  // namespace hfm
