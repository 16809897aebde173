#include "fs/read/fetch_scheduler.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "fs/read/block_splitter.h"
#include "fs/read/log_where.h"
#include "fs/read/timed_sink.h"
#include "util/log.h"

namespace hfm {

FetchScheduler::FetchScheduler(ContentHash hash, uint64_t size, const ReadPathEnv& env, KeepAlive keep_alive,
                               PublishListener on_published)
    : hash_(hash),
      size_(size),
      block_size_(env.store->block_size()),
      block_count_(static_cast<uint32_t>((size + block_size_ - 1) / block_size_)),
      env_(env),
      keep_alive_(std::move(keep_alive)),
      on_published_(std::move(on_published)) {}

FetchScheduler::~FetchScheduler() {
  MutexLock lock(&mu_);
  uint64_t reserved = 0;
  for (const auto& entry : fetches_) reserved += entry.second->reserved;
  if (reserved) env_.budget->Release(reserved);
}

size_t FetchScheduler::BlockLength(uint32_t index) const {
  const uint64_t start = static_cast<uint64_t>(index) * block_size_;
  return static_cast<size_t>(std::min<uint64_t>(block_size_, size_ - start));
}

TimePoint FetchScheduler::WaitLimit(const BlockFetch& fetch, TimePoint deadline) const {
  // A fetch that has given no bytes for a whole read timeout is stuck: the
  // kernel retries a failed readahead page with a new request, and that
  // request must not wait a second full timeout on the same fetch.
  return std::min(deadline, fetch.started + env_.options.read_timeout);
}

bool FetchScheduler::LearnBlockStates(uint64_t round, uint32_t first, uint32_t last) {
  std::vector<uint32_t> unknown;
  {
    MutexLock lock(&mu_);
    for (uint32_t i = first; i <= last; ++i) {
      if (blocks_.Get(i) == BlockState::kUnknown && !fetches_.count(i)) unknown.push_back(i);
    }
  }
  if (unknown.empty()) return round_.load() == round;
  std::vector<std::pair<uint32_t, bool>> found;
  for (uint32_t i : unknown) {
    auto has = env_.store->HasBlock(hash_, i);
    found.emplace_back(i, has.ok() && *has);
  }
  MutexLock lock(&mu_);
  // A new round since the caller looked: its bytes belong to a failed one.
  if (round_.load() != round) return false;
  for (const auto& [i, present] : found) {
    if (blocks_.Get(i) == BlockState::kUnknown) blocks_.Set(i, present ? BlockState::kPresent : BlockState::kAbsent);
  }
  return true;
}

uint32_t FetchScheduler::Schedule(const FileLocation& location, uint64_t round, uint32_t first, uint32_t last,
                                  int64_t demand_last, std::span<std::shared_ptr<BlockFetch>> fetches) {
  struct Run {
    uint32_t first, count;
    bool urgent;
  };
  std::vector<Run> runs;
  uint32_t stopped = last + 1;
  if (!LearnBlockStates(round, first, last)) return stopped;
  const uint32_t group = readahead_group();
  // A reader waiting on its blocks wants their first bytes soonest: with a
  // LinkEstimator, each is a GET of its own, in parallel on the urgent
  // threads, however large readahead GETs have grown.
  const uint32_t urgent_group = env_.link ? 1 : group;
  {
    MutexLock lock(&mu_);
    if (round_.load() != round) return stopped;  // a new round since it learned
    const auto absent = [&](uint32_t i) REQUIRES(mu_) {
      return blocks_.Get(i) == BlockState::kAbsent && !fetches_.count(i);
    };
    for (uint32_t i = first; i <= last;) {
      if (!absent(i)) {
        ++i;
        continue;
      }
      const bool urgent = static_cast<int64_t>(i) <= demand_last;
      // One GET: the absent blocks from i to the end of its group. Runs
      // break at group boundaries, so the same groups are asked for however
      // the window slides.
      const uint32_t g = urgent ? urgent_group : group;
      const uint64_t group_end = (uint64_t{i} / g + 1) * g;
      uint32_t end = i + 1;
      while (end <= last && end < group_end && absent(end) && (static_cast<int64_t>(end) <= demand_last) == urgent) {
        ++end;
      }
      uint64_t bytes = 0;
      for (uint32_t k = i; k < end; ++k) bytes += BlockLength(k);
      // Readahead takes budget for a whole GET or waits for it: taking what
      // one released block frees would turn every GET into a one-block GET
      // that pays a whole round trip (TCP's silly window syndrome).
      if (urgent) {
        env_.budget->Reserve(bytes);
      } else if (!env_.budget->TryReserve(bytes)) {
        stopped = i;
        break;
      }
      for (uint32_t k = i; k < end; ++k) {
        auto fetch = std::make_shared<BlockFetch>();
        fetch->round = round;
        fetch->started = env_.clock->Now();
        fetch->reserved = BlockLength(k);
        fetches_[k] = std::move(fetch);
      }
      runs.push_back(Run{i, end - i, urgent});
      i = end;
    }
    for (size_t k = 0; k < fetches.size(); ++k) {
      auto it = fetches_.find(first + static_cast<uint32_t>(k));
      if (it != fetches_.end()) fetches[k] = it->second;
    }
  }
  if (env_.options.offline && !runs.empty()) {
    FailOffline(location, round, runs.front().first);
    for (const Run& run : runs) {
      for (uint32_t i = run.first; i < run.first + run.count; ++i) FailFetch(round, i, OfflineStatus(location));
    }
    return stopped;
  }
  for (const Run& run : runs) {
    // A waiting reader's GET gets a thread of its own: the shared threads may
    // all be busy with readahead and background prefetch.
    WorkQueue* queue = run.urgent ? env_.urgent_queue : env_.fetch_queue;
    queue->Submit(
        [this, hold = keep_alive_(), location, round, run] { FetchRun(location, round, run.first, run.count); },
        run.urgent ? WorkQueue::Priority::kUrgent : WorkQueue::Priority::kNormal);
  }
  return stopped;
}

uint64_t FetchScheduler::EraseFetchLocked(std::map<uint32_t, std::shared_ptr<BlockFetch>>::iterator it) {
  const uint64_t reserved = it->second->reserved;
  it->second->reserved = 0;
  fetches_.erase(it);
  return reserved;
}

void FetchScheduler::FetchRun(const FileLocation& location, uint64_t round, uint32_t first, uint32_t count) {
  const uint32_t end = first + count;
  BlockSplitter::Callbacks callbacks;
  callbacks.on_start = [this, round](uint32_t i, const std::shared_ptr<FillingBlock>& block) {
    StartFilling(round, i, block);
  };
  callbacks.on_progress = [this] { FillingProgressed(); };
  // Sharing blocks still being filled stops when a GET of this file falters
  // or fails, and comes back with the first block a clean GET completes
  // (set before the block is published, so whoever sees the block sees it).
  bool faltered = false;
  callbacks.on_falter = [this, round, &faltered](uint32_t i) {
    faltered = true;
    StopSharingFilling(round, i);
  };
  callbacks.publish = [this, &location, round, &faltered](uint32_t i, std::shared_ptr<FillingBlock> block) {
    if (!faltered) share_filling_ = true;
    Publish(location, round, i, std::move(block));
  };
  callbacks.on_source = [this](const std::string& endpoint) {
    MutexLock lock(&mu_);
    round_sources_.insert(endpoint);
    sources_.insert(endpoint);
  };
  BlockSplitter splitter(
      first, end, [this](uint32_t i) { return BlockLength(i); }, std::move(callbacks), env_.buffers);
  const uint64_t start = static_cast<uint64_t>(first) * block_size_;
  uint64_t length = 0;
  for (uint32_t i = first; i < end; ++i) length += BlockLength(i);
  const TimePoint deadline = env_.clock->Now() + env_.options.fetch_timeout;
  env_.counters->fetches_in_flight.fetch_add(1, std::memory_order_relaxed);
  // A GET sent before this file has a signed URL waits for /resolve (one
  // Hub request, shared by the file's first GETs): its time to first byte
  // is the Hub's, not the link's.
  const bool measurable = url_known_.load();
  TimedSink timed(&splitter, env_.clock);
  Status st = env_.hub->FetchRange(location, start, length, &timed, deadline);
  if (st.ok() && splitter.next() == end) {
    url_known_ = true;
    if (measurable && timed.clean()) NoteLink(timed, length);
  }
  if (splitter.next() < end) {
    share_filling_ = false;
    fetch_failed_ = true;  // background prefetch stops: readers fetch on demand and see the error
    if (st.ok()) st = Status::DataLoss("server sent fewer bytes than the listing's size");
    const std::string& endpoint = splitter.source().empty() ? env_.hub->endpoint() : splitter.source();
    LogError("fetch failed: " + LogWhere(location, endpoint) + " bytes=" + std::to_string(start) + "-" +
             std::to_string(start + length - 1) + ": " + st.ToString());
    for (uint32_t i = splitter.next(); i < end; ++i) FailFetch(round, i, st);
  }
  // Counted until its readers have its answer: then no reader can still be
  // told of this GET's failure.
  env_.counters->fetches_in_flight.fetch_sub(1, std::memory_order_relaxed);
}

Status FetchScheduler::OfflineStatus(const FileLocation& location) const {
  return Status::Unavailable("offline (HF_HUB_OFFLINE=1) and not in the cache: " + LogWhere(location, "none (offline)"));
}

void FetchScheduler::FailOffline(const FileLocation& location, uint64_t round, uint32_t first) {
  if (logged_offline_.exchange(true)) return;  // once per file: the kernel asks again page by page
  LogError(OfflineStatus(location).message() + " (block " + std::to_string(first) + ", round " +
           std::to_string(round) + ")");
}

void FetchScheduler::NoteLink(const TimedSink& timed, uint64_t length) {
  if (!env_.link) return;
  if (env_.link->OnGet(timed.first_byte(), length, timed.body())) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(env_.link->rtt()).count();
    const double rate = env_.link->bytes_per_second();
    LogInfo("link: round trip " + std::to_string(ms) + " ms, " +
            (std::isfinite(rate) ? std::to_string(static_cast<uint64_t>(rate / (1 << 20))) + " MiB/s"
                                 : std::string("unmeasurably fast")) +
            " per connection: readahead GETs of " + std::to_string(env_.link->fetch_blocks()) + " blocks");
  }
  // Every few GETs at most would do, but this is one atomic store when
  // nothing changed.
  env_.budget->SetInFlightTarget(env_.link->in_flight_bytes());
  env_.fetch_queue->SetActive(static_cast<int>(env_.link->parallel()));
}

void FetchScheduler::StartFilling(uint64_t round, uint32_t index, const std::shared_ptr<FillingBlock>& block) {
  if (!share_filling_.load()) return;
  MutexLock lock(&mu_);
  auto it = fetches_.find(index);
  if (it != fetches_.end() && it->second->round == round && !it->second->done) it->second->filling = block;
}

void FetchScheduler::StopSharingFilling(uint64_t round, uint32_t index) {
  share_filling_ = false;
  MutexLock lock(&mu_);
  auto it = fetches_.find(index);
  if (it != fetches_.end() && it->second->round == round) it->second->filling.reset();
}

void FetchScheduler::FillingProgressed() {
  if (partial_waiters_.load() == 0) return;
  // Taking the lock orders this wakeup after a waiter's check of its
  // predicate: it is either waiting already or sees the new bytes.
  { MutexLock lock(&mu_); }
  cv_.SignalAll();
}

void FetchScheduler::Publish(const FileLocation& location, uint64_t round, uint32_t index,
                             std::shared_ptr<FillingBlock> block) {
  // Runs on the transport's thread: hand the bytes to waiting readers at once
  // and leave storing and hashing to their threads. The writer job is queued
  // before any reader can see the block, so a reader's barrier on the writer
  // always lands behind it.
  {
    MutexLock lock(&mu_);
    auto it = fetches_.find(index);
    if (it == fetches_.end() || it->second->round != round) return;  // from a failed round
    // From here the bytes themselves hold the block's share of the budget,
    // until the last of the writer, the hasher and the readers lets go.
    block->Charge(env_.budget, it->second->reserved);
    env_.counters->blocks_fetched.fetch_add(1, std::memory_order_relaxed);
    env_.counters->bytes_fetched.fetch_add(block->length(), std::memory_order_relaxed);
    it->second->reserved = 0;
    const std::string* bytes = &block->bytes();
    std::shared_ptr<const std::string> shared(std::move(block), bytes);
    env_.writer->Submit([this, hold = keep_alive_(), round, index, shared] { Persist(round, index, shared); });
    on_published_(location, round, index, shared);
    it->second->done = true;
    it->second->data = shared;
    it->second->filling.reset();
  }
  cv_.SignalAll();
}

void FetchScheduler::Persist(uint64_t round, uint32_t index, const std::shared_ptr<const std::string>& data) {
  uint64_t released = 0;
  {
    MutexLock persist_lock(&persist_mu_);
    if (round != round_.load()) return;  // its round failed verification meanwhile
    uint64_t epoch = 0;
    const Status put = env_.store->PutBlock(hash_, index, *data, &epoch);
    MutexLock lock(&mu_);
    VouchLocked(put.ok() ? epoch : 0);
    // DataLoss: another writer stored other bytes for this block first.
    if (put.IsDataLoss()) certificate_.conflict = true;
    if (!put.ok() && !warned_uncached_) {
      warned_uncached_ = true;
      LogWarning("cache cannot store " + hash_.ToString() + " (" + put.ToString() +
                 "); serving it from the network");
    }
    blocks_.Set(index, put.ok() ? BlockState::kPresent : BlockState::kAbsent);
    auto it = fetches_.find(index);
    if (it != fetches_.end() && it->second->done && it->second->round == round) {
      // Stored (or not storable): the hasher reads it from the store, or
      // already has it from the job Publish queued with the bytes.
      released = EraseFetchLocked(it);
    }
  }
  if (released) env_.budget->Release(released);
}

void FetchScheduler::VouchLocked(uint64_t epoch) {
  if (!certificate_started_) {
    certificate_started_ = true;
    certificate_.epoch = epoch;
  } else if (certificate_.epoch != epoch) {
    certificate_.epoch = 0;  // blocks seen under two epochs: some were replaced between
  }
}

void FetchScheduler::NoteHashedFromStore(uint64_t round, uint64_t epoch) {
  MutexLock lock(&mu_);
  if (round == round_.load()) VouchLocked(epoch);
}

void FetchScheduler::RestartCertificate() {
  MutexLock lock(&mu_);
  certificate_ = RoundCertificate{};
  certificate_started_ = false;
}

FetchScheduler::RoundCertificate FetchScheduler::Certificate(uint64_t round) {
  MutexLock lock(&mu_);
  if (round != round_.load()) return RoundCertificate{0, false};
  return certificate_;
}

void FetchScheduler::FailFetch(uint64_t round, uint32_t index, const Status& status) {
  uint64_t released = 0;
  {
    MutexLock lock(&mu_);
    auto it = fetches_.find(index);
    if (it == fetches_.end() || it->second->round != round) return;
    it->second->done = true;
    it->second->status = status;
    it->second->filling.reset();
    released = EraseFetchLocked(it);
  }
  cv_.SignalAll();
  if (released) env_.budget->Release(released);
}

}  // namespace hfm

// What readers and the verifier ask of the table.
namespace hfm {

bool FetchScheduler::WaitForFetchLocked(const BlockFetch& fetch, size_t needed, TimePoint deadline) {
  const TimePoint limit = WaitLimit(fetch, deadline);
  for (;;) {
    if (fetch.done) return true;
    if (needed > 0 && fetch.filling && fetch.filling->filled() >= needed) return true;
    if (!env_.clock->WaitUntil(&cv_, &mu_, limit)) {
      return fetch.done || (needed > 0 && fetch.filling && fetch.filling->filled() >= needed);
    }
  }
}

std::shared_ptr<BlockFetch> FetchScheduler::FetchOf(uint32_t index) {
  MutexLock lock(&mu_);
  auto it = fetches_.find(index);
  return it == fetches_.end() ? nullptr : it->second;
}

Status FetchScheduler::CopyFromFetch(const FileLocation& location, const std::shared_ptr<BlockFetch>& fetch,
                                     uint32_t index, size_t offset, std::span<char> out, TimePoint deadline) {
  MutexLock lock(&mu_);
  ++partial_waiters_;
  const bool in_time = WaitForFetchLocked(*fetch, offset + out.size(), deadline);
  --partial_waiters_;
  if (!in_time) {
    return Status::DeadlineExceeded("no bytes of block " + std::to_string(index) + " of " + location.path +
                                    " before the read deadline");
  }
  if (!fetch->done) {
    // Our bytes are in but the block is not: copy them from the buffer the
    // GET is still filling further on (held, so it outlives a failed GET).
    std::shared_ptr<FillingBlock> block = fetch->filling;
    lock.Unlock();
    std::memcpy(out.data(), block->data() + offset, out.size());
    return Status::Ok();
  }
  if (!fetch->status.ok()) return fetch->status;
  std::memcpy(out.data(), fetch->data->data() + offset, out.size());
  return Status::Ok();
}

Status FetchScheduler::WaitForBlock(const FileLocation& location, uint64_t round, uint32_t index,
                                    TimePoint deadline) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::shared_ptr<BlockFetch> fetch;
    Schedule(location, round, index, index, index, std::span(&fetch, 1));
    MutexLock lock(&mu_);
    if (!fetch) {
      if (blocks_.Get(index) == BlockState::kPresent) return Status::Ok();
      continue;  // published uncached: ask again
    }
    if (!WaitForFetchLocked(*fetch, 0, deadline)) {
      return Status::DeadlineExceeded("no bytes of block " + std::to_string(index) + " of " + location.path +
                                      " before the read deadline");
    }
    return fetch->status;  // published: the writer stores it and the hasher hashes it
  }
  return Status::Unavailable("block " + std::to_string(index) + " of " + location.path + " could not be kept");
}

Status FetchScheduler::AwaitFetchOf(const FileLocation& location, uint64_t round, uint32_t index,
                                    TimePoint deadline, bool* waited) {
  MutexLock lock(&mu_);
  auto it = fetches_.find(index);
  *waited = false;
  if (it == fetches_.end() || it->second->done || it->second->round != round) return Status::Ok();
  *waited = true;
  std::shared_ptr<BlockFetch> fetch = it->second;
  if (!WaitForFetchLocked(*fetch, 0, deadline)) {
    return Status::DeadlineExceeded("block " + std::to_string(index) + " of " + location.path +
                                    " did not arrive before the read deadline");
  }
  return Status::Ok();
}

FetchScheduler::BlockView FetchScheduler::View(uint32_t index, size_t in_block, size_t len) {
  MutexLock lock(&mu_);
  BlockView view;
  view.stored = blocks_.Get(index) == BlockState::kPresent;
  auto it = fetches_.find(index);
  view.fetching = it != fetches_.end();
  view.has_bytes = view.fetching && (it->second->done || (it->second->filling &&
                                                          it->second->filling->filled() >= in_block + len));
  return view;
}

void FetchScheduler::NoteStored(uint64_t round, uint32_t index) {
  MutexLock lock(&mu_);
  if (round_.load() == round) blocks_.Set(index, BlockState::kPresent);  // not if dropped since
}

void FetchScheduler::NoteMissing(uint32_t index) {
  MutexLock lock(&mu_);
  blocks_.Set(index, BlockState::kAbsent);
}

bool FetchScheduler::IsStored(uint32_t index) {
  MutexLock lock(&mu_);
  return blocks_.Get(index) == BlockState::kPresent;
}

void FetchScheduler::ForgetStored() {
  MutexLock lock(&mu_);
  blocks_.ReplaceAll(BlockState::kPresent, BlockState::kUnknown);
  uncached_small_.reset();
}

void FetchScheduler::KeepUncachedSmall(std::shared_ptr<const std::string> bytes) {
  MutexLock lock(&mu_);
  if (blocks_.Get(0) != BlockState::kPresent) uncached_small_ = std::move(bytes);
}

bool FetchScheduler::CopyUncachedSmall(uint32_t index, size_t offset, std::span<char> out) {
  MutexLock lock(&mu_);
  if (!uncached_small_ || index != 0) return false;
  std::memcpy(out.data(), uncached_small_->data() + offset, out.size());
  return true;
}

std::shared_ptr<const std::string> FetchScheduler::PublishedBytes(uint64_t round, uint32_t index) {
  MutexLock lock(&mu_);
  auto it = fetches_.find(index);
  if (it == fetches_.end()) return nullptr;
  const BlockFetch& fetch = *it->second;
  return fetch.done && fetch.status.ok() && fetch.round == round ? fetch.data : nullptr;
}

bool FetchScheduler::InFlight(uint32_t index) {
  MutexLock lock(&mu_);
  return fetches_.count(index) > 0;
}

std::string FetchScheduler::TakeRoundSources() {
  MutexLock lock(&mu_);
  std::string joined;
  for (const auto& e : round_sources_) joined += (joined.empty() ? "" : ";") + e;
  round_sources_.clear();
  return joined;
}

std::vector<std::string> FetchScheduler::sources() {
  MutexLock lock(&mu_);
  return {sources_.begin(), sources_.end()};
}

uint64_t FetchScheduler::StartNewRound(const Status& failure, const std::function<void()>& drop_from_store) {
  uint64_t released = 0;
  {
    // Persist waits on persist_mu_: no block of the next round is stored
    // before the drop, and none of the old round after it.
    MutexLock persist_lock(&persist_mu_);
    drop_from_store();
    MutexLock lock(&mu_);
    round_++;
    certificate_ = RoundCertificate{};
    certificate_started_ = false;
    uncached_small_.reset();
    blocks_.Reset(BlockState::kAbsent);
    for (auto& entry : fetches_) {
      BlockFetch& fetch = *entry.second;
      fetch.done = true;
      fetch.status = failure;
      released += fetch.reserved;
      fetch.reserved = 0;
    }
    fetches_.clear();
  }
  cv_.SignalAll();
  return released;
}

}  // namespace hfm
