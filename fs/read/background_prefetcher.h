// BackgroundPrefetcher: fetches one whole file in the background, in order
// and within the memory budget, while a handle that asked for it is open
// (a weight file a loader will read whole; FilesystemOptions' patterns).
//
// Each Pump() schedules the next blocks that fit in the budget, a window at
// a time; ContentRegistry pumps every active prefetcher again whenever
// budget is released. It stops early when a GET of the file fails: readers
// then fetch on demand and see the error themselves.
//
// Thread safety: all public methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>

#include "fetch/hub_client.h"
#include "fs/read/fetch_scheduler.h"
#include "util/mutex.h"

namespace hfm {

class BackgroundPrefetcher {
 public:
  // `done()` says the file needs nothing more (it is complete).
  BackgroundPrefetcher(FetchScheduler* scheduler, uint32_t window_blocks, std::function<bool()> done);
  BackgroundPrefetcher(const BackgroundPrefetcher&) = delete;
  BackgroundPrefetcher& operator=(const BackgroundPrefetcher&) = delete;

  // One more user wants the file whole; the first one's location is fetched.
  void Start(const FileLocation& location) EXCLUDES(mu_);
  // One user no longer does; with none left, Pump() does nothing.
  void Stop() EXCLUDES(mu_);
  // Whether a Pump() could schedule anything.
  bool active() EXCLUDES(mu_);
  // Schedules the next blocks that fit in the budget.
  void Pump() EXCLUDES(mu_);

 private:
  bool ActiveLocked() REQUIRES(mu_);

  FetchScheduler* const scheduler_;
  const uint32_t window_blocks_;
  const std::function<bool()> done_;

  Mutex mu_;
  int users_ GUARDED_BY(mu_) = 0;
  uint32_t next_ GUARDED_BY(mu_) = 0;  // first block not yet asked for
  FileLocation location_ GUARDED_BY(mu_);
};

}  // namespace hfm
