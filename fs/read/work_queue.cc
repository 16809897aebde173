#include "fs/read/work_queue.h"

#include <algorithm>

namespace hfm {

WorkQueue::WorkQueue(int threads) : thread_count_(std::max(1, threads)), active_limit_(thread_count_) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkQueue::~WorkQueue() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  for (auto& t : threads_) t.join();
}

void WorkQueue::Submit(std::function<void()> job, Priority priority) {
  {
    MutexLock lock(&mu_);
    (priority == Priority::kUrgent ? urgent_ : jobs_).push_back(std::move(job));
  }
  cv_.Signal();
}

void WorkQueue::SetActive(int jobs) {
  {
    MutexLock lock(&mu_);
    const int limit = std::clamp(jobs, 1, thread_count_);
    if (limit == active_limit_) return;
    active_limit_ = limit;
  }
  cv_.SignalAll();
}

int WorkQueue::active() {
  MutexLock lock(&mu_);
  return active_limit_;
}

void WorkQueue::Run() {
  for (;;) {
    std::function<void()> job;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && (running_ >= active_limit_ || (urgent_.empty() && jobs_.empty()))) cv_.Wait(&mu_);
      auto& from = !urgent_.empty() ? urgent_ : jobs_;
      if (from.empty()) return;  // stopping and drained
      job = std::move(from.front());
      from.pop_front();
      ++running_;
    }
    job();
    {
      MutexLock lock(&mu_);
      --running_;
    }
    cv_.Signal();  // a thread held back by the limit may take the next job
  }
}

}  // namespace hfm
