// LmdbEvictor: makes room in an LMDB cache by dropping whole files, least
// recently used first (by the last_access of their "files" record), never a
// file pinned by this process nor the one being written. Internal to cache/.
//
// Usage is LmdbEnv::UsedBytes(): pages holding data. The data file itself
// never shrinks; freed pages are reused, exactly so for full blocks since
// every full block needs the same run of overflow pages.
//
// Two triggers:
//  - high water: a commit that leaves usage above high_water of the quota
//    evicts down to low_water, on the committing thread; other writers above
//    the high water wait for it instead of racing into the headroom. Keeping
//    headroom matters: deleting needs free pages too, so a map that is full
//    to the last page could not even evict.
//  - MDB_MAP_FULL below the high water (free space too fragmented for a run
//    of overflow pages, pages freed by the latest commit not yet reusable, or
//    readers holding freed pages): a small commit first, then rounds that each
//    evict to the low water and by at least a tenth of the quota, retrying the
//    write after each, until it fits or nothing evictable is left.
// And one refusal: while usage stays above halfway between the high water and
// the quota (everything left is pinned), adding data fails with
// ResourceExhausted, so LMDB always keeps the free pages a delete needs.
//
// A file is deleted in steps of one transaction each (DeleteFileStep, which
// explains their size). Its complete mark goes in the first, its record in
// the last, so a crash midway leaves an incomplete file that is still a
// candidate.
//
// Thread safety: thread-safe; one eviction at a time per process. Processes
// sharing a directory may evict at once: LMDB serializes their transactions,
// and a file already gone is simply skipped.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "cache/lmdb_env.h"
#include "cache/pin_set.h"
#include "util/content_hash.h"
#include "util/mutex.h"
#include "util/status.h"

namespace hfm {

class LmdbEvictor {
 public:
  // `high_water` and `low_water` are fractions of `quota`.
  LmdbEvictor(std::shared_ptr<LmdbEnv> env, std::shared_ptr<PinSet> pins, uint64_t quota,
              double high_water, double low_water);

  enum class Growth {
    kAddsData,  // a block or a meta value
    kSmall,     // a record update or a delete: a few pages at most
  };

  // LmdbEnv::Write, making room as needed: on MDB_MAP_FULL it evicts and
  // retries (ResourceExhausted once nothing more can go), and after a commit
  // above the high water it evicts down to the low water on this thread.
  // Adding data is refused (ResourceExhausted) while usage stays above halfway
  // between the high water and the quota, i.e. when what is left is pinned.
  // `writing` (may be null) is the file this write is for; it is spared.
  Status Write(const std::function<Status(MDB_txn*)>& body, const ContentHash* writing,
               Growth growth);

  // Deletes every block of `file` and its record, in steps (DeleteFileStep);
  // the first step clears its complete mark.
  Status Drop(const ContentHash& file);

 private:
  // Nothing happens below the high water; above it, waits for an eviction in
  // progress and evicts further if that was not enough.
  void AfterCommit(uint64_t used_bytes, const ContentHash* writing);
  enum class Room {
    kFreed,    // files were evicted
    kBlocked,  // eviction itself found the map full: a reader holds the free pages
    kNone,     // nothing left to evict (or eviction failed)
  };
  // Evicts to the low water and by at least a tenth of the quota.
  Room MakeRoom(const ContentHash* writing);
  // A small commit, so that pages freed by the commit before it can be reused
  // by the next one.
  Status Bump();
  // Sets *freed_any if it deleted anything.
  Status EvictTo(uint64_t target, const ContentHash* writing, bool* freed_any) REQUIRES(mu_);
  Status EvictFile(std::string_view file_key, uint64_t* used);
  // Commits one step's body; `small` tells which step size is running.
  using Writer = std::function<Status(const std::function<Status(MDB_txn*)>& body, bool small)>;
  Status DeleteInSteps(std::string_view file_key, const Writer& write);

  const std::shared_ptr<LmdbEnv> env_;
  const std::shared_ptr<PinSet> pins_;
  const uint64_t high_bytes_;
  const uint64_t hard_bytes_;
  const uint64_t low_bytes_;
  const uint64_t quota_;
  Mutex mu_;  // held for a whole eviction, so one runs at a time
  std::atomic<uint64_t> bumps_{0};
  std::atomic<uint64_t> used_{0};  // UsedBytes() as last seen by this process
};

}  // namespace hfm
