#include "fs/read/background_prefetcher.h"

#include <algorithm>

namespace hfm {

BackgroundPrefetcher::BackgroundPrefetcher(FetchScheduler* scheduler, uint32_t window_blocks,
                                           std::function<bool()> done)
    : scheduler_(scheduler), window_blocks_(std::max<uint32_t>(1, window_blocks)), done_(std::move(done)) {}

void BackgroundPrefetcher::Start(const FileLocation& location) {
  MutexLock lock(&mu_);
  if (users_++ == 0) location_ = location;
}

void BackgroundPrefetcher::Stop() {
  MutexLock lock(&mu_);
  if (users_ > 0) users_--;
}

bool BackgroundPrefetcher::ActiveLocked() {
  return users_ > 0 && !scheduler_->any_fetch_failed() && next_ < scheduler_->block_count() && !done_();
}

bool BackgroundPrefetcher::active() {
  MutexLock lock(&mu_);
  return ActiveLocked();
}

void BackgroundPrefetcher::Pump() {
  const uint32_t block_count = scheduler_->block_count();
  for (;;) {
    FileLocation location;
    uint32_t from;
    {
      MutexLock lock(&mu_);
      if (!ActiveLocked()) return;
      location = location_;
      from = next_;
    }
    const uint32_t to = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{from} + window_blocks_, block_count) - 1);
    const uint32_t stopped = scheduler_->Schedule(location, scheduler_->round(), from, to, /*demand_last=*/-1);
    {
      MutexLock lock(&mu_);
      next_ = std::max(next_, stopped);
    }
    if (stopped <= to) return;  // the budget is spent: a release pumps again
  }
}

}  // namespace hfm
