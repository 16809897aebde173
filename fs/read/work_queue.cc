#include "fs/read/work_queue.h"

namespace hfm {

WorkQueue::WorkQueue(int threads) {
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

void WorkQueue::Run() {
  for (;;) {
    std::function<void()> job;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && urgent_.empty() && jobs_.empty()) cv_.Wait(&mu_);
      auto& from = !urgent_.empty() ? urgent_ : jobs_;
      if (from.empty()) return;  // stopping and drained
      job = std::move(from.front());
      from.pop_front();
    }
    job();
  }
}

}  // namespace hfm
