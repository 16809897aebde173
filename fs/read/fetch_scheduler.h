// FetchScheduler: which blocks of one file to GET, what is in flight, and
// who waits for it.
//
// It knows each block's state in this mount (stored in the cache, absent,
// or not looked up yet) and the fetch of each block in flight (BlockFetch).
// Schedule() starts ranged GETs for absent blocks on the shared fetch
// threads, within the memory budget; one fetch per block is shared by every
// reader that wants it. A fetched block is published at once to waiting
// readers and handed to two threads: the cache writer stores it (Persist),
// and `on_published` (the verifier's hash) gets it. Readers whose bytes are
// in already copy them from a block still filling (FillingBlock).
//
// Verification rounds: when the whole-file hash fails, StartNewRound drops
// the file from the cache and from this table and bumps round(); fetches
// still in flight from the old round are discarded, so bytes that failed
// once never mix into the next attempt. Callers pass the round they saw, and
// a call for an old round does nothing.
//
// Thread safety: all public methods are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "fetch/hub_client.h"
#include "fs/read/block_fetch.h"
#include "fs/read/block_table.h"
#include "fs/read/filling_block.h"
#include "fs/read/read_path_env.h"
#include "util/content_hash.h"
#include "util/mutex.h"
#include "util/status.h"

namespace hfm {

// What a queued job holds so that the units of one FileContent outlive it.
using KeepAlive = std::function<std::shared_ptr<const void>()>;

class TimedSink;

class FetchScheduler {
 public:
  // Called on the fetching thread, in block order per GET, once a block is
  // whole: hand it off (to the hasher's queue), do not work here.
  using PublishListener = std::function<void(const FileLocation& location, uint64_t round, uint32_t index,
                                             std::shared_ptr<const std::string> bytes)>;

  FetchScheduler(ContentHash hash, uint64_t size, const ReadPathEnv& env, KeepAlive keep_alive,
                 PublishListener on_published);
  ~FetchScheduler();
  FetchScheduler(const FetchScheduler&) = delete;
  FetchScheduler& operator=(const FetchScheduler&) = delete;

  uint32_t block_size() const { return block_size_; }
  uint32_t block_count() const { return block_count_; }
  size_t BlockLength(uint32_t index) const;
  // The current verification round.
  uint64_t round() const { return round_.load(); }

  // Asks the store about the blocks in [first, last] not looked up yet (once
  // per block per mount); false (recording nothing) if the round is no
  // longer `round`.
  bool LearnBlockStates(uint64_t round, uint32_t first, uint32_t last) EXCLUDES(mu_);

  // Starts fetches for the absent blocks in [first, last], unless the round
  // is no longer `round`. Blocks up to `demand_last` are for a waiting
  // reader: always fetched, urgently; later ones only while the budget
  // allows. Returns the first block left unscheduled for want of budget
  // (last + 1 if none). `fetches[k]` gets the fetch of block first + k (new
  // or in flight; null if none): a reader holds on to it, so a GET that
  // fails before the reader looks is still its answer.
  uint32_t Schedule(const FileLocation& location, uint64_t round, uint32_t first, uint32_t last,
                    int64_t demand_last, std::span<std::shared_ptr<BlockFetch>> fetches = {}) EXCLUDES(mu_);

  // Blocks per readahead GET: the LinkEstimator's size, else the fixed one.
  // Readahead that rounds its end up to a multiple of it asks for whole GETs.
  uint32_t readahead_group() const {
    return env_.link ? env_.link->fetch_blocks() : env_.options.max_blocks_per_fetch;
  }

  // The fetch of block `index` in flight, or null.
  std::shared_ptr<BlockFetch> FetchOf(uint32_t index) EXCLUDES(mu_);
  // Waits for `fetch` (of block `index`) to have the bytes at [offset,
  // offset + out.size()) of its block, and copies them into `out`.
  Status CopyFromFetch(const FileLocation& location, const std::shared_ptr<BlockFetch>& fetch, uint32_t index,
                       size_t offset, std::span<char> out, TimePoint deadline) EXCLUDES(mu_);
  // Waits until block `index` is stored or published by its fetch.
  Status WaitForBlock(const FileLocation& location, uint64_t round, uint32_t index, TimePoint deadline)
      EXCLUDES(mu_);
  // Waits for the fetch of block `index` in `round` to be done; OK at once
  // if there is none. `*waited` says whether there was one.
  Status AwaitFetchOf(const FileLocation& location, uint64_t round, uint32_t index, TimePoint deadline,
                      bool* waited) EXCLUDES(mu_);

  // What a direct read of `len` bytes at `in_block` of block `index` would
  // race: whether the block is stored, whether a fetch of it runs, and
  // whether that fetch has (or is past) these bytes already.
  struct BlockView {
    bool stored = false;
    bool fetching = false;
    bool has_bytes = false;
  };
  BlockView View(uint32_t index, size_t in_block, size_t len) EXCLUDES(mu_);

  // A read found block `index` in the cache (recorded unless the round
  // changed), or found it missing there (evicted, or never looked up).
  void NoteStored(uint64_t round, uint32_t index) EXCLUDES(mu_);
  void NoteMissing(uint32_t index) EXCLUDES(mu_);
  bool IsStored(uint32_t index) EXCLUDES(mu_);
  // Forgets what it knew of stored blocks: the store may have lost them.
  void ForgetStored() EXCLUDES(mu_);

  // A verified file of one block that the cache could not hold stays in
  // memory; Copy...() serves from it.
  void KeepUncachedSmall(std::shared_ptr<const std::string> bytes) EXCLUDES(mu_);
  bool CopyUncachedSmall(uint32_t index, size_t offset, std::span<char> out) EXCLUDES(mu_);

  // For the hash: block `index`'s published bytes of round `round` not yet
  // stored, or null; whether a fetch of it is in flight.
  std::shared_ptr<const std::string> PublishedBytes(uint64_t round, uint32_t index) EXCLUDES(mu_);
  bool InFlight(uint32_t index) EXCLUDES(mu_);
  // The endpoints that served this round's bytes, ';'-joined, and forgets them.
  std::string TakeRoundSources() EXCLUDES(mu_);
  // Endpoints that served bytes of this file in this mount, in name order.
  std::vector<std::string> sources() EXCLUDES(mu_);
  // Whether any GET of this file failed in this mount.
  bool any_fetch_failed() const { return fetch_failed_.load(); }

  // Which stored bytes the verifier may certify. Every block this round
  // stored (or found stored with equal bytes) and every block the hash read
  // back from the store must be vouched for under one store epoch (see
  // BlockStore::FileEpoch); a block that could not be stored, or was stored
  // with other bytes by another writer (a conflict), leaves the round
  // uncertifiable.
  struct RoundCertificate {
    uint64_t epoch = 0;     // 0: nothing this round can be certified
    bool conflict = false;  // the store holds other bytes for a block of ours
  };
  RoundCertificate Certificate(uint64_t round) EXCLUDES(mu_);
  // The verifier hashes the file again (a block of it was evicted): only
  // what is stored or read from now on counts.
  void RestartCertificate() EXCLUDES(mu_);
  // The hash read block bytes back from the store after seeing `epoch`
  // (0 if the store could not say).
  void NoteHashedFromStore(uint64_t round, uint64_t epoch) EXCLUDES(mu_);

  // Ends the round: runs `drop_from_store` before any block of the next
  // round can be stored, fails every fetch in flight with `failure`, and
  // forgets every block. Returns the budget bytes to release.
  uint64_t StartNewRound(const Status& failure, const std::function<void()>& drop_from_store)
      EXCLUDES(persist_mu_, mu_);

 private:
  void FetchRun(const FileLocation& location, uint64_t round, uint32_t first, uint32_t count);
  // Offline: what blocks not in the cache fail with, and its one log line.
  Status OfflineStatus(const FileLocation& location) const;
  void FailOffline(const FileLocation& location, uint64_t round, uint32_t first);
  // A clean GET of `length` bytes ended: tells the LinkEstimator its
  // timings and the budget what the link now wants in flight.
  void NoteLink(const TimedSink& timed, uint64_t length);
  // A fetch of `round` began filling block `index`.
  void StartFilling(uint64_t round, uint32_t index, const std::shared_ptr<FillingBlock>& block) EXCLUDES(mu_);
  // The GET filling block `index` faltered: its readers wait for the whole block.
  void StopSharingFilling(uint64_t round, uint32_t index) EXCLUDES(mu_);
  // A filling block got more bytes: wakes readers waiting on part of one.
  void FillingProgressed() EXCLUDES(mu_);
  void Publish(const FileLocation& location, uint64_t round, uint32_t index, std::shared_ptr<FillingBlock> block)
      EXCLUDES(mu_);
  // On the writer thread: stores a published block.
  void Persist(uint64_t round, uint32_t index, const std::shared_ptr<const std::string>& data)
      EXCLUDES(persist_mu_, mu_);
  void FailFetch(uint64_t round, uint32_t index, const Status& status) EXCLUDES(mu_);
  // Removes a fetch from the table; returns the budget bytes to release
  // once mu_ is dropped.
  uint64_t EraseFetchLocked(std::map<uint32_t, std::shared_ptr<BlockFetch>>::iterator it) REQUIRES(mu_);
  // Adds one block's epoch to this round's certificate.
  void VouchLocked(uint64_t epoch) REQUIRES(mu_);
  // How long a reader may wait on `fetch`: its own deadline, but never past
  // one read timeout after the fetch was scheduled.
  TimePoint WaitLimit(const BlockFetch& fetch, TimePoint deadline) const;
  // Waits on cv_ until `fetch` is done (or, with `needed`, has that many
  // bytes of its block in); false at the wait limit.
  bool WaitForFetchLocked(const BlockFetch& fetch, size_t needed, TimePoint deadline) REQUIRES(mu_);

  enum class BlockState : uint8_t { kUnknown, kPresent, kAbsent };

  const ContentHash hash_;
  const uint64_t size_;
  const uint32_t block_size_;
  const uint32_t block_count_;
  const ReadPathEnv env_;
  const KeepAlive keep_alive_;
  const PublishListener on_published_;

  // Held across a block's store and its state update: a new round drops the
  // file in between otherwise, and the block would be recorded stored in the
  // next round while the store no longer has it.
  Mutex persist_mu_ ACQUIRED_BEFORE(mu_);
  Mutex mu_;
  CondVar cv_{&mu_};
  // Sparse: a listed size is untrusted, and an open must not cost memory
  // in proportion to it (see BlockTable).
  BlockTable<BlockState> blocks_ GUARDED_BY(mu_){BlockState::kUnknown};
  std::map<uint32_t, std::shared_ptr<BlockFetch>> fetches_ GUARDED_BY(mu_);
  std::shared_ptr<const std::string> uncached_small_ GUARDED_BY(mu_);
  bool warned_uncached_ GUARDED_BY(mu_) = false;
  std::set<std::string> round_sources_ GUARDED_BY(mu_);  // endpoints of this round's bytes
  std::set<std::string> sources_ GUARDED_BY(mu_);        // endpoints of any bytes, every round
  RoundCertificate certificate_ GUARDED_BY(mu_);  // of the current round
  bool certificate_started_ GUARDED_BY(mu_) = false;
  // Written under persist_mu_ and mu_; read without either.
  std::atomic<uint64_t> round_{0};
  std::atomic<bool> fetch_failed_{false};
  std::atomic<bool> logged_offline_{false};
  // Readers waiting in cv_ for part of a block still filling: while there
  // are none, the network thread's progress reports skip the lock.
  std::atomic<int> partial_waiters_{0};
  // Whether readers may take bytes of blocks still being filled. Off from
  // the first GET of this file that faltered or failed until a clean GET
  // completes a block: a server that cuts every connection after a few KiB
  // must fail reads in bounded time, as it does with whole blocks, not feed
  // each of the kernel's page-by-page retries from a fresh GET's first KiB.
  std::atomic<bool> share_filling_{true};
  // Whether a GET of this file completed in this mount: later GETs find
  // its signed URL ready and time the link alone (see FetchRun).
  std::atomic<bool> url_known_{false};
};

}  // namespace hfm
