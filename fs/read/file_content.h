// FileContent: the bytes of one file (one ContentHash) as this mount serves
// them, joining the block cache and the network.
//
// Blocks come from the BlockStore when present; missing ones are fetched as
// ranged GETs on a WorkQueue, one in-flight fetch per block shared by every
// reader that wants it. Each fetched block goes to two threads at once: the
// cache writer stores it, and the hasher feeds it to the whole-file hash when
// it is next in order ("the hash frontier"), so a sequential read is verified
// as it goes with no second pass, and hashing never waits for LMDB. When the frontier reaches the
// end the hash is checked: a match marks the file complete in the cache; a
// mismatch drops every block, logs once, and fails the read that reached the
// end with DataLoss (EIO) — a reader never sees EOF on bytes that failed.
//
// Every block held in memory between its GET and the cache counts against one
// MemoryBudget: readahead and background prefetch fetch only what fits.
// A weight file (see FilesystemOptions) is fetched whole in the background
// while a handle that asked for it is open (StartBackground/StopBackground).
//
// Files of one block or less, files that failed verification before, and
// every file under verify=strict are fetched whole and verified before their
// first byte is served. "Before" survives a remount: the store keeps the mark
// (BlockStore::MarkFailedVerification) until the file verifies, and the
// blocks stored under it are dropped, not trusted, when the next mount
// first uses the file.
//
// The fetching and serving half is in file_content.cc, the verification
// half (the hash, the end-of-file verdict) in file_content_verify.cc.
//
// Thread safety: all public methods are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "cache/block_store.h"
#include "fetch/hub_client.h"
#include "fs/read/buffer_pool.h"
#include "fs/read/filling_block.h"
#include "fs/read/hash_stash.h"
#include "fs/read/memory_budget.h"
#include "fs/read/readahead_window.h"
#include "fs/read/work_queue.h"
#include "util/clock.h"
#include "util/content_hash.h"
#include "util/status.h"

namespace hfm {

struct ReadPathOptions {
  bool strict = false;                                   // verify=strict
  Duration read_timeout = std::chrono::seconds(30);      // a read's wait for its bytes
  Duration fetch_timeout = std::chrono::seconds(60);     // one ranged GET, start to end
  // Blocks per ranged GET. One: the memory budget then holds the most GETs
  // in flight (a CDN caps each connection's rate, not the client's), and on
  // a fast server 1 MiB GETs read as fast as 2 MiB ones (README's design notes).
  uint32_t max_blocks_per_fetch = 1;
  // Blocks one background prefetch pass looks at; the budget decides how many
  // it actually fetches.
  uint32_t background_window_blocks = 64;
};

class ContentRegistry;

class FileContent : public std::enable_shared_from_this<FileContent> {
 public:
  // Use ContentRegistry::Get(). `registry` outlives every FileContent.
  FileContent(ContentHash hash, uint64_t size, ContentRegistry* registry, bool must_verify);
  ~FileContent();
  FileContent(const FileContent&) = delete;
  FileContent& operator=(const FileContent&) = delete;

  // Starts fetching the blocks in [first, last] that are neither cached nor
  // in flight, as readahead: on the shared fetch threads, within the memory
  // budget.
  void ReadAhead(const FileLocation& location, uint32_t first, uint32_t last);

  // Copies up to out.size() bytes at `offset` into `out`; returns the count
  // (0 at or past EOF). Missing blocks are fetched from `location`, and the
  // blocks `readahead` asks for past the end of this read. Fails with DeadlineExceeded/Unavailable/NotFound/
  // PermissionDenied from the network, DataLoss when the file failed
  // verification.
  Result<size_t> Read(const FileLocation& location, uint64_t offset, std::span<char> out,
                      ReadaheadPlan readahead);

  // Fetches the whole file in the background, in order and within the memory
  // budget, until it is complete or every StartBackground has been matched
  // by a StopBackground. Stops early when a fetch fails: readers then fetch
  // on demand and see the error themselves.
  void StartBackground(const FileLocation& location);
  void StopBackground();
  // Schedules the next background blocks that fit in the budget.
  void PumpBackground();
  bool background_active();

  // Endpoints that served bytes of this file in this mount, in name order.
  std::vector<std::string> sources();

  const ContentHash& hash() const { return hash_; }
  uint64_t size() const { return size_; }
  uint32_t block_count() const { return block_count_; }
  bool complete() const { return complete_.load(); }
  bool verified() const { return verified_.load(); }
  // Bumped each time the file fails verification: bytes served in an earlier
  // round may be wrong.
  uint64_t round() const { return round_.load(); }
  // Whether verification round `round` ended with the hash matching: bytes
  // served in it were right, whatever later rounds (after an eviction) do.
  bool RoundVerified(uint64_t round) const { return verified_round_.load() == round; }

 private:
  enum class BlockState : uint8_t { kUnknown, kPresent, kAbsent };
  struct Pending {
    uint64_t round = 0;  // the verification round that asked for it
    TimePoint started;   // when it was scheduled
    bool done = false;
    uint64_t reserved = 0;  // bytes held against the memory budget
    Status status;
    std::shared_ptr<const std::string> data;
    // The block while its GET fills it: readers whose bytes are in already
    // copy them from here before the block is done.
    std::shared_ptr<FillingBlock> filling;
  };

  // "repo=... revision=... path=... endpoint=...", for log lines.
  static std::string Where(const FileLocation& loc, const std::string& endpoint);
  size_t BlockLength(uint32_t index) const;
  bool MustVerifyBeforeServing() const;
  // How long a reader may wait on `pending`: its own deadline, but never
  // past one read timeout after the fetch was scheduled.
  TimePoint WaitLimit(const Pending& pending, TimePoint deadline) const;
  // Asks the store about the blocks in [first, last] this mount has not
  // looked up yet (once per block per mount) and records the answers; false
  // (recording nothing) if the round is no longer `expected_round`.
  bool LearnBlockStates(uint64_t expected_round, uint32_t first, uint32_t last);
  // Starts fetches for the missing blocks in [first, last], unless the
  // verification round is no longer `expected_round`. Blocks up to
  // `demand_last` are for a waiting reader: always fetched, urgently. Later
  // ones only while the budget allows. Returns the first block it left
  // unscheduled for want of budget (last + 1 if none). `fetches[k]`, for
  // each k it has, gets the fetch of block first + k (new or already in
  // flight; left null if there is none): a reader holds on to it, so a GET
  // that fails before the reader looks is still its answer.
  uint32_t Schedule(const FileLocation& location, uint64_t expected_round, uint32_t first, uint32_t last,
                    int64_t demand_last, std::span<std::shared_ptr<Pending>> fetches = {});
  // Removes a pending entry (mu_ held); returns the budget bytes to release
  // once mu_ is dropped.
  uint64_t ErasePendingLocked(std::map<uint32_t, std::shared_ptr<Pending>>::iterator it);
  void FetchRun(const FileLocation& location, uint64_t round, uint32_t first, uint32_t count);
  void Publish(const FileLocation& location, uint64_t round, uint32_t index, std::shared_ptr<FillingBlock> block);
  // A fetch of `round` began filling block `index`.
  void StartFilling(uint64_t round, uint32_t index, const std::shared_ptr<FillingBlock>& block);
  // The GET filling block `index` faltered: its readers wait for the whole block.
  void StopSharingFilling(uint64_t round, uint32_t index);
  // A filling block got more bytes: wakes readers waiting on part of one.
  void FillingProgressed();
  // On the writer thread: stores a published block.
  void Persist(uint64_t round, uint32_t index, const std::shared_ptr<const std::string>& data);
  // On the writer thread, after the hash matched: records the file complete.
  void MarkCompleteInCache(uint64_t round, const std::string& where);
  // Waits until every block published so far is stored and hashed.
  Status FlushWrites(TimePoint deadline);
  void FailPending(uint64_t round, uint32_t index, const Status& status);
  // A read standing alone within one missing block: its own bytes fetched
  // by themselves (file_content_direct.cc), beside the block's fetch if
  // `block_follows`. Returns false (nothing served) when the block is cached
  // or its fetch would bring them as soon, or when the direct GET failed:
  // the caller then waits for the block.
  bool ReadDirect(const FileLocation& location, uint64_t round, uint32_t index, uint64_t offset,
                  std::span<char> out, TimePoint deadline, bool block_follows);
  // True the first time a read standing alone lands in block `index`.
  bool FirstStandaloneTouch(uint32_t index);
  // A sequential read of a complete file: for each block whose end the read
  // reaches, asks the store to start reading a block a few further on.
  void HintDiskReadahead(uint64_t offset, size_t n);
  // Copies part of block `index` into `out`, fetching it if needed.
  Status CopyBlock(const FileLocation& location, uint64_t round, uint32_t index, size_t offset,
                   std::span<char> out, TimePoint deadline);
  // Waits for `pending` and copies part of its block into `out`.
  Status CopyFromPending(const FileLocation& location, const std::shared_ptr<Pending>& pending, uint32_t index,
                         size_t offset, std::span<char> out, TimePoint deadline);
  // The mismatch that ended the last verification round, as a DataLoss.
  Status CurrentFailure();
  // Waits until block `index` is in the store or published by its fetch.
  Status WaitForBlock(const FileLocation& location, uint64_t round, uint32_t index, TimePoint deadline);
  // Feeds the hash every block available in order from the frontier on
  // (published blocks still in memory, else the store). `hint` is a block
  // just fetched in verification round `hint_round`.
  void AdvanceHash(const FileLocation* location, uint64_t hint_round, uint32_t hint_index,
                   const std::shared_ptr<const std::string>& hint);
  // AdvanceHash's body (hash_mu_ held); returns budget bytes to release.
  uint64_t AdvanceHashLocked(const FileLocation* location, uint32_t hint_index,
                             const std::shared_ptr<const std::string>& hint);
  // Fetches and hashes every block; OK once the file is verified.
  Status EnsureVerified(const FileLocation& location);
  // A block of a verified file is gone from the store (another process
  // evicted it: `hfmirror cache gc`, a second mount). What is fetched again
  // has to be verified again before it is served, as on first use.
  void ForgetVerified();
  // After a read touched the last block: the verdict, if the hash can reach
  // it with the blocks fetched or in flight (those it waits for).
  Status CheckAtEnd(const FileLocation& location);

  const ContentHash hash_;
  const uint64_t size_;
  const uint32_t block_size_;
  const uint32_t block_count_;
  ContentRegistry* const registry_;
  std::atomic<bool> complete_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  // Readers waiting in cv_ for part of a block still filling: while there
  // are none, the network thread's progress reports skip the lock.
  std::atomic<int> partial_waiters_{0};
  // Whether readers may take bytes of blocks still being filled. Off from
  // the first GET of this file that faltered or failed until a clean GET
  // completes a block: a server that cuts every connection after a few KiB
  // must fail reads in bounded time, as it does with whole blocks, not feed
  // each of the kernel's page-by-page retries from a fresh GET's first KiB.
  std::atomic<bool> share_filling_{true};
  std::vector<BlockState> blocks_;                        // GUARDED_BY(mu_)
  // Blocks a read standing alone has landed in (sized on first use).
  std::vector<bool> touched_alone_;                       // GUARDED_BY(mu_)
  std::map<uint32_t, std::shared_ptr<Pending>> pending_;  // GUARDED_BY(mu_)
  // A verified file of one block kept in memory when the cache cannot hold it.
  std::shared_ptr<const std::string> uncached_small_;     // GUARDED_BY(mu_)
  bool warned_uncached_ = false;                          // GUARDED_BY(mu_)
  std::set<std::string> served_by_;  // GUARDED_BY(mu_): endpoints of this round's bytes
  std::set<std::string> sources_;    // GUARDED_BY(mu_): endpoints of any bytes, every round
  int background_users_ = 0;            // GUARDED_BY(mu_)
  uint32_t background_next_ = 0;        // GUARDED_BY(mu_): first block not yet asked for
  bool background_stopped_ = false;     // GUARDED_BY(mu_): a background fetch failed
  FileLocation background_location_;    // GUARDED_BY(mu_)

  // A verification round ends with a hash mismatch: every block is dropped
  // and fetches still in flight from the old round are discarded, so bytes
  // that failed once can never mix into the next attempt. Lock order:
  // hash_mu_, then persist_mu_, then mu_.
  std::mutex persist_mu_;
  std::atomic<uint64_t> round_{0};  // written under persist_mu_ and mu_

  std::mutex hash_mu_;
  std::unique_ptr<ContentHasher> hasher_;  // GUARDED_BY(hash_mu_)
  // Written under hash_mu_; atomic so readers can peek without waiting for
  // a hash in progress.
  std::atomic<uint32_t> frontier_{0};
  std::atomic<bool> verified_{false};
  std::atomic<uint64_t> verified_round_{UINT64_MAX};  // the round whose hash matched
  Status failure_;                         // GUARDED_BY(hash_mu_): the last mismatch
  HashStash stash_;                        // GUARDED_BY(hash_mu_)
  std::atomic<bool> must_verify_{false};
  FileLocation last_location_;             // GUARDED_BY(hash_mu_): for log lines
};

}  // namespace hfm
