#include "fs/read/work_queue.h"

namespace hfm {

WorkQueue::WorkQueue(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkQueue::~WorkQueue() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkQueue::Submit(std::function<void()> job, Priority priority) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    (priority == Priority::kUrgent ? urgent_ : jobs_).push_back(std::move(job));
  }
  cv_.notify_one();
}

void WorkQueue::Run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !urgent_.empty() || !jobs_.empty(); });
      auto& from = !urgent_.empty() ? urgent_ : jobs_;
      if (from.empty()) return;  // stopping and drained
      job = std::move(from.front());
      from.pop_front();
    }
    job();
  }
}

}  // namespace hfm
