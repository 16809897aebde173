// ContentRegistry: the one FileContent per content hash that a mount serves,
// the queues and budget they share, and the background prefetches waiting
// for budget.
//
// Thread safety: all public methods are thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "cache/block_store.h"
#include "fetch/hub_client.h"
#include "fs/read/buffer_pool.h"
#include "fs/read/file_content.h"
#include "fs/read/memory_budget.h"
#include "fs/read/mount_stats.h"
#include "fs/read/work_queue.h"
#include "util/content_hash.h"

namespace hfm {

// Hands out one FileContent per ContentHash while any reader holds it, and
// remembers which contents failed verification during this mount.
class ContentRegistry {
 public:
  // Borrowed, and must outlive the registry and every FileContent it handed
  // out: `queue` runs ranged GETs for readahead and background prefetch,
  // `urgent_queue` those a reader waits for; `writer` (one thread) stores
  // blocks; `hasher` (one thread) hashes them; `budget` bounds fetched bytes
  // in memory; `buffers` holds the blocks' buffers between uses.
  ContentRegistry(BlockStore* store, HubClient* hub, WorkQueue* queue, WorkQueue* urgent_queue,
                  WorkQueue* writer, WorkQueue* hasher, MemoryBudget* budget, BufferPool* buffers,
                  MountCounters* counters, ReadPathOptions options);

  std::shared_ptr<FileContent> Get(const ContentHash& hash, uint64_t size);
  // The live FileContent of `hash`, or nullptr: never creates one.
  std::shared_ptr<FileContent> Find(const ContentHash& hash);

  BlockStore* store() const { return store_; }
  HubClient* hub() const { return hub_; }
  WorkQueue* queue() const { return queue_; }
  WorkQueue* urgent_queue() const { return urgent_queue_; }
  WorkQueue* writer() const { return writer_; }
  WorkQueue* hasher() const { return hasher_; }
  MemoryBudget* budget() const { return budget_; }
  BufferPool* buffers() const { return buffers_; }
  MountCounters* counters() const { return counters_; }
  const ReadPathOptions& options() const { return options_; }

  // Background prefetch: `content` wants budget whenever some is released.
  void AddBackground(const std::shared_ptr<FileContent>& content);
  // Lets every background prefetch take what the budget has free. Call with
  // no FileContent lock held.
  void PumpBackground();
  size_t background_count();
  // Stops background prefetch for good: the queues are about to go.
  void Shutdown();

  void MarkCorrupt(const ContentHash& hash);
  void MarkVerified(const ContentHash& hash);

  // Called (on the thread that found it, which may hold FileContent locks:
  // it must only hand the work off) when a content failed verification, so
  // pages the kernel cached from its bytes can be dropped.
  void SetMismatchListener(std::function<void(const ContentHash&)> listener);

 private:
  BlockStore* const store_;
  HubClient* const hub_;
  WorkQueue* const queue_;
  WorkQueue* const urgent_queue_;
  WorkQueue* const writer_;
  WorkQueue* const hasher_;
  MemoryBudget* const budget_;
  BufferPool* const buffers_;
  MountCounters* const counters_;
  const ReadPathOptions options_;
  std::mutex mu_;
  std::map<ContentHash, std::weak_ptr<FileContent>> live_;  // GUARDED_BY(mu_)
  std::set<ContentHash> corrupt_;                           // GUARDED_BY(mu_)
  std::vector<std::weak_ptr<FileContent>> background_;      // GUARDED_BY(mu_)
  std::atomic<bool> pumping_{false};  // one PumpBackground at a time; others skip
  std::atomic<bool> pump_again_{false};  // a release came while pumping
  std::atomic<bool> shutting_down_{false};
  std::function<void(const ContentHash&)> mismatch_listener_;  // set before use
};

}  // namespace hfm
