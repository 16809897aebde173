#include "fs/read/file_content.h"

#include <algorithm>
#include <cstring>
#include <future>

#include "fs/read/block_splitter.h"
#include "fs/read/content_registry.h"
#include "util/log.h"

namespace hfm {

std::string FileContent::Where(const FileLocation& loc, const std::string& endpoint) {
  return "repo=" + RepoDisplayName(loc.repo) + " revision=" + loc.commit + " path=" + loc.path +
         " endpoint=" + endpoint;
}

FileContent::FileContent(ContentHash hash, uint64_t size, ContentRegistry* registry, bool must_verify)
    : hash_(hash),
      size_(size),
      block_size_(registry->store()->block_size()),
      block_count_(static_cast<uint32_t>((size + block_size_ - 1) / block_size_)),
      registry_(registry),
      blocks_(block_count_, BlockState::kUnknown),
      hasher_(std::make_unique<ContentHasher>(hash.kind(), size)),
      stash_(registry->budget()) {
  must_verify_ = must_verify;
  registry_->store()->Pin(hash_);
  auto complete = registry_->store()->IsComplete(hash_);
  if (complete.ok() && *complete) {
    complete_ = true;
    verified_ = true;
  } else if (size_ == 0) {
    // Nothing to fetch: the hash of no bytes decides at once.
    if (hasher_->Finish() == hash_) {
      verified_ = true;
      complete_ = registry_->store()->MarkComplete(hash_, 0).ok();
    } else {
      failure_ = Status::DataLoss("empty file does not match its hash " + hash_.ToString());
      must_verify_ = true;
    }
  } else if (auto failed = registry_->store()->FailedVerification(hash_); failed.ok() && *failed) {
    // These bytes failed verification before, maybe in a process before this
    // one, and the file never verified since: the blocks stored after that
    // verdict may come from the same bad source, and served unverified they
    // would fail this reader at the end. Start from none, and verify before
    // serving. The mark stays until the file verifies.
    LogInfo("cache: " + hash_.ToString() + " failed verification before and has not verified since; " +
            "dropping its stored blocks and verifying it before serving");
    Status dropped = registry_->store()->DropFile(hash_, size_);
    if (dropped.ok()) dropped = registry_->store()->MarkFailedVerification(hash_);
    if (!dropped.ok()) LogError("cannot drop suspect blocks of " + hash_.ToString() + ": " + dropped.ToString());
    must_verify_ = true;
  }
}

FileContent::~FileContent() {
  uint64_t reserved = 0;
  for (auto& [index, pending] : pending_) reserved += pending->reserved;
  if (reserved) registry_->budget()->Release(reserved);
  registry_->store()->Unpin(hash_);
}

size_t FileContent::BlockLength(uint32_t index) const {
  const uint64_t start = static_cast<uint64_t>(index) * block_size_;
  return static_cast<size_t>(std::min<uint64_t>(block_size_, size_ - start));
}

TimePoint FileContent::WaitLimit(const Pending& pending, TimePoint deadline) const {
  // A fetch that has given no bytes for a whole read timeout is stuck: the
  // kernel retries a failed readahead page with a new request, and that
  // request must not wait a second full timeout on the same fetch.
  return std::min(deadline, pending.started + registry_->options().read_timeout);
}

bool FileContent::MustVerifyBeforeServing() const {
  return registry_->options().strict || block_count_ <= 1 || must_verify_.load();
}

Result<size_t> FileContent::Read(const FileLocation& location, uint64_t offset, std::span<char> out,
                                 ReadaheadPlan readahead) {
  if (offset >= size_ || out.empty()) {
    if (size_ == 0 && !failure_.ok()) return failure_;
    return size_t{0};
  }
  const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), size_ - offset));
  const uint32_t first = static_cast<uint32_t>(offset / block_size_);
  const uint32_t last = static_cast<uint32_t>((offset + n - 1) / block_size_);

  if (!complete_ && MustVerifyBeforeServing()) {
    HFM_RETURN_IF_ERROR(EnsureVerified(location));
  }
  if (complete_ && readahead.blocks > 0) HintDiskReadahead(offset, n);
  if (!complete_) {
    // Backpressure: past the budget, fetched blocks are waiting for the
    // cache writer; fetching more for this reader would only add to them.
    registry_->budget()->WaitForRoom(SystemClock()->Now() + registry_->options().read_timeout / 2);
  }
  const uint64_t round = round_.load();
  const TimePoint deadline = SystemClock()->Now() + registry_->options().read_timeout;
  const bool alone_in_block = readahead.alone && first == last && last != block_count_ - 1;
  // A small read standing alone in a block no such read touched before gets
  // just its bytes, and the block is not fetched (file_content_direct.cc).
  // Tried once: if it declined or its GET failed, the block is fetched.
  const bool first_touch = alone_in_block && !complete_ && FirstStandaloneTouch(first);
  if (first_touch &&
      ReadDirect(location, round, first, offset, out.first(n), deadline, /*block_follows=*/false)) {
    return n;
  }
  // The fetches of the read's blocks, held so that a GET failing before
  // this thread looks is still its answer, not a reason to fetch again.
  std::vector<std::shared_ptr<Pending>> fetches;
  if (!complete_) {
    fetches.resize(last - first + 1);
    uint64_t ahead = uint64_t{last} + readahead.blocks;
    if (readahead.blocks > 0 && !readahead.header) {
      // Round up to the end of a fetch-sized group, so a sliding window asks
      // for whole groups (one ranged GET each) instead of one block at a time.
      const uint32_t group = registry_->options().max_blocks_per_fetch;
      ahead = (ahead / group + 1) * group - 1;
    }
    ahead = std::min<uint64_t>(ahead, block_count_ - 1);
    Schedule(location, round, first, static_cast<uint32_t>(ahead), last, fetches);
  }
  if (alone_in_block && !first_touch && !complete_ &&
      ReadDirect(location, round, first, offset, out.first(n), deadline, /*block_follows=*/true)) {
    return n;
  }
  size_t copied = 0;
  for (uint32_t idx = first; idx <= last; ++idx) {
    const uint64_t block_start = static_cast<uint64_t>(idx) * block_size_;
    const size_t in_block = static_cast<size_t>(offset + copied - block_start);
    const size_t len = std::min(n - copied, BlockLength(idx) - in_block);
    const std::span<char> part = out.subspan(copied, len);
    const std::shared_ptr<Pending>* fetch = idx - first < fetches.size() ? &fetches[idx - first] : nullptr;
    HFM_RETURN_IF_ERROR(fetch && *fetch ? CopyFromPending(location, *fetch, idx, in_block, part, deadline)
                                        : CopyBlock(location, round, idx, in_block, part, deadline));
    copied += len;
  }
  if (last == block_count_ - 1 && !complete_) {
    HFM_RETURN_IF_ERROR(CheckAtEnd(location));
  }
  return n;
}

void FileContent::ReadAhead(const FileLocation& location, uint32_t first, uint32_t last) {
  if (complete_ || block_count_ == 0) return;
  last = std::min(last, block_count_ - 1);
  if (first > last) return;
  Schedule(location, round_.load(), first, last, /*demand_last=*/-1);
}

bool FileContent::LearnBlockStates(uint64_t expected_round, uint32_t first, uint32_t last) {
  std::vector<uint32_t> unknown;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint32_t i = first; i <= last; ++i) {
      if (blocks_[i] == BlockState::kUnknown && !pending_.count(i)) unknown.push_back(i);
    }
  }
  if (unknown.empty()) return round_.load() == expected_round;
  std::vector<std::pair<uint32_t, bool>> found;
  for (uint32_t i : unknown) {
    auto has = registry_->store()->HasBlock(hash_, i);
    found.emplace_back(i, has.ok() && *has);
  }
  std::lock_guard<std::mutex> lock(mu_);
  // A mismatch since the caller looked: its bytes belong to a failed round.
  if (round_.load() != expected_round) return false;
  for (auto [i, present] : found) {
    if (blocks_[i] == BlockState::kUnknown) blocks_[i] = present ? BlockState::kPresent : BlockState::kAbsent;
  }
  return true;
}

uint32_t FileContent::Schedule(const FileLocation& location, uint64_t expected_round, uint32_t first,
                               uint32_t last, int64_t demand_last, std::span<std::shared_ptr<Pending>> fetches) {
  struct Run {
    uint32_t first, count;
    bool urgent;
  };
  std::vector<Run> runs;
  const uint64_t round = expected_round;
  uint32_t stopped = last + 1;
  if (!LearnBlockStates(round, first, last)) return stopped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (round_.load() != round) return stopped;  // failed since it learned
    for (uint32_t i = first; i <= last; ++i) {
      if (blocks_[i] != BlockState::kAbsent || pending_.count(i)) continue;
      const bool urgent = static_cast<int64_t>(i) <= demand_last;
      const uint64_t bytes = BlockLength(i);
      if (urgent) {
        registry_->budget()->Reserve(bytes);
      } else if (!registry_->budget()->TryReserve(bytes)) {
        stopped = i;
        break;
      }
      auto pending = std::make_shared<Pending>();
      pending->round = round;
      pending->started = SystemClock()->Now();
      pending->reserved = bytes;
      pending_[i] = std::move(pending);
      // Runs break at group boundaries, so the same groups are asked for
      // however the window slides.
      const uint32_t group = registry_->options().max_blocks_per_fetch;
      if (!runs.empty() && runs.back().first + runs.back().count == i && i % group != 0 &&
          runs.back().urgent == urgent) {
        runs.back().count++;
      } else {
        runs.push_back(Run{i, 1, urgent});
      }
    }
    for (size_t k = 0; k < fetches.size(); ++k) {
      auto it = pending_.find(first + static_cast<uint32_t>(k));
      if (it != pending_.end()) fetches[k] = it->second;
    }
  }
  for (const Run& run : runs) {
    auto self = shared_from_this();
    const uint32_t run_first = run.first, count = run.count;
    // A waiting reader's GET gets a thread of its own: the shared threads may
    // all be busy with readahead and background prefetch.
    WorkQueue* queue = run.urgent ? registry_->urgent_queue() : registry_->queue();
    queue->Submit(
        [self, location, round, run_first, count] { self->FetchRun(location, round, run_first, count); },
        run.urgent ? WorkQueue::Priority::kUrgent : WorkQueue::Priority::kNormal);
  }
  return stopped;
}

uint64_t FileContent::ErasePendingLocked(std::map<uint32_t, std::shared_ptr<Pending>>::iterator it) {
  const uint64_t reserved = it->second->reserved;
  it->second->reserved = 0;
  pending_.erase(it);
  return reserved;
}

void FileContent::StartBackground(const FileLocation& location) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (background_users_++ == 0) background_location_ = location;
  }
  registry_->AddBackground(shared_from_this());
  PumpBackground();
}

void FileContent::StopBackground() {
  std::lock_guard<std::mutex> lock(mu_);
  if (background_users_ > 0) background_users_--;
}

bool FileContent::background_active() {
  std::lock_guard<std::mutex> lock(mu_);
  return background_users_ > 0 && !background_stopped_ && background_next_ < block_count_ && !complete_;
}

void FileContent::PumpBackground() {
  const uint32_t window = std::max<uint32_t>(1, registry_->options().background_window_blocks);
  for (;;) {
    FileLocation location;
    uint32_t from;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (background_users_ == 0 || background_stopped_ || complete_ || background_next_ >= block_count_) {
        return;
      }
      location = background_location_;
      from = background_next_;
    }
    const uint32_t to = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{from} + window, block_count_) - 1);
    const uint32_t stopped = Schedule(location, round_.load(), from, to, /*demand_last=*/-1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      background_next_ = std::max(background_next_, stopped);
    }
    if (stopped <= to) return;  // the budget is spent: a release pumps again
  }
}

void FileContent::FetchRun(const FileLocation& location, uint64_t round, uint32_t first,
                           uint32_t count) {
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
    std::lock_guard<std::mutex> lock(mu_);
    served_by_.insert(endpoint);
    sources_.insert(endpoint);
  };
  BlockSplitter splitter(
      first, end, [this](uint32_t i) { return BlockLength(i); }, std::move(callbacks), registry_->buffers());
  const uint64_t start = static_cast<uint64_t>(first) * block_size_;
  uint64_t length = 0;
  for (uint32_t i = first; i < end; ++i) length += BlockLength(i);
  const TimePoint deadline = SystemClock()->Now() + registry_->options().fetch_timeout;
  registry_->counters()->fetches_in_flight.fetch_add(1, std::memory_order_relaxed);
  Status st = registry_->hub()->FetchRange(location, start, length, &splitter, deadline);
  if (splitter.next() < end) {
    share_filling_ = false;
    if (st.ok()) st = Status::DataLoss("server sent fewer bytes than the listing's size");
    LogError("fetch failed: " +
             Where(location, splitter.source().empty() ? registry_->hub()->endpoint() : splitter.source()) +
             " bytes=" +
             std::to_string(start) + "-" + std::to_string(start + length - 1) + ": " + st.ToString());
    {
      std::lock_guard<std::mutex> lock(mu_);
      background_stopped_ = true;  // readers fetch on demand and see the error
    }
    for (uint32_t i = splitter.next(); i < end; ++i) FailPending(round, i, st);
  }
  // Counted until its readers have its answer: then no reader can still be
  // told of this GET's failure.
  registry_->counters()->fetches_in_flight.fetch_sub(1, std::memory_order_relaxed);
}

void FileContent::StartFilling(uint64_t round, uint32_t index, const std::shared_ptr<FillingBlock>& block) {
  if (!share_filling_.load()) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(index);
  if (it != pending_.end() && it->second->round == round && !it->second->done) it->second->filling = block;
}

void FileContent::StopSharingFilling(uint64_t round, uint32_t index) {
  share_filling_ = false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(index);
  if (it != pending_.end() && it->second->round == round) it->second->filling.reset();
}

void FileContent::FillingProgressed() {
  if (partial_waiters_.load() == 0) return;
  // Taking the lock orders this wakeup after a waiter's check of its
  // predicate: it is either waiting already or sees the new bytes.
  { std::lock_guard<std::mutex> lock(mu_); }
  cv_.notify_all();
}

void FileContent::Publish(const FileLocation& location, uint64_t round, uint32_t index,
                          std::shared_ptr<FillingBlock> block) {
  // Runs on the transport's thread: hand the bytes to waiting readers at once
  // and leave storing and hashing to the cache writer thread. The writer job
  // is queued before any reader can see the block, so a reader's FlushWrites()
  // barrier always lands behind it.
  auto self = shared_from_this();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(index);
    if (it == pending_.end() || it->second->round != round) return;  // from a failed round
    // From here the bytes themselves hold the block's share of the budget,
    // until the last of the writer, the hasher and the readers lets go.
    block->Charge(registry_->budget(), it->second->reserved);
    registry_->counters()->blocks_fetched.fetch_add(1, std::memory_order_relaxed);
    registry_->counters()->bytes_fetched.fetch_add(block->length(), std::memory_order_relaxed);
    it->second->reserved = 0;
    const std::string* bytes = &block->bytes();
    std::shared_ptr<const std::string> shared(std::move(block), bytes);
    registry_->writer()->Submit([self, round, index, shared] { self->Persist(round, index, shared); });
    registry_->hasher()->Submit(
        [self, location, round, index, shared] { self->AdvanceHash(&location, round, index, shared); });
    it->second->done = true;
    it->second->data = shared;
    it->second->filling.reset();
  }
  cv_.notify_all();
}

void FileContent::Persist(uint64_t round, uint32_t index, const std::shared_ptr<const std::string>& data) {
  uint64_t released = 0;
  {
    // The state update stays under persist_mu_ too: a mismatch on the hasher
    // thread drops the file in between otherwise, and this block would be
    // recorded present in the next round while the store no longer has it.
    std::lock_guard<std::mutex> persist_lock(persist_mu_);
    if (round != round_.load()) return;  // its round failed verification meanwhile
    const Status put = registry_->store()->PutBlock(hash_, index, *data);
    std::lock_guard<std::mutex> lock(mu_);
    if (!put.ok() && !warned_uncached_) {
      warned_uncached_ = true;
      LogWarning("cache cannot store " + hash_.ToString() + " (" + put.ToString() +
                 "); serving it from the network");
    }
    blocks_[index] = put.ok() ? BlockState::kPresent : BlockState::kAbsent;
    auto it = pending_.find(index);
    if (it != pending_.end() && it->second->done && it->second->round == round) {
      // Stored (or not storable): the hasher reads it from the store, or
      // already has it from the job Publish queued with the bytes.
      released = ErasePendingLocked(it);
    }
  }
  if (released) registry_->budget()->Release(released);
}

void FileContent::FailPending(uint64_t round, uint32_t index, const Status& status) {
  uint64_t released = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(index);
    if (it == pending_.end() || it->second->round != round) return;
    it->second->done = true;
    it->second->status = status;
    it->second->filling.reset();
    released = ErasePendingLocked(it);
  }
  cv_.notify_all();
  if (released) registry_->budget()->Release(released);
}

Status FileContent::CopyBlock(const FileLocation& location, uint64_t round, uint32_t index,
                              size_t offset, std::span<char> out, TimePoint deadline) {
  BlockStore* store = registry_->store();
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::shared_ptr<Pending> pending;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (uncached_small_ && index == 0) {
        std::memcpy(out.data(), uncached_small_->data() + offset, out.size());
        return Status::Ok();
      }
      auto it = pending_.find(index);
      if (it != pending_.end()) pending = it->second;
    }
    if (pending) return CopyFromPending(location, pending, index, offset, out, deadline);
    auto hit = store->ReadBlock(hash_, index, offset, out);
    if (hit.ok() && *hit) {
      registry_->counters()->blocks_from_cache.fetch_add(1, std::memory_order_relaxed);
      // Eviction drops the least recently *used* file first: a read counts
      // (the store writes the stamp at most once a minute per file).
      registry_->store()->Touch(hash_);
      bool at_frontier = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        // Not if the file was dropped since (a mismatch changes the round).
        if (round_.load() == round) blocks_[index] = BlockState::kPresent;
      }
      at_frontier = !verified_.load() && frontier_.load() == index;
      // A cached but unverified block at the frontier: hash it now so a
      // sequential reader of a partly cached file still verifies as it goes.
      if (at_frontier) AdvanceHash(&location, round_.load(), index, nullptr);
      return Status::Ok();
    }
    if (complete_.load()) {
      // Complete in the store, yet a block is gone: evicted by another
      // process. Its bytes come from the network again, so they are verified
      // before serving. (A file the cache could not hold is never complete.)
      LogInfo("cache: " + hash_.ToString() + " (" + location.path +
              ") lost blocks to another process; fetching and verifying it again");
      ForgetVerified();
      HFM_RETURN_IF_ERROR(EnsureVerified(location));
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (blocks_[index] == BlockState::kPresent) blocks_[index] = BlockState::kAbsent;  // evicted
      if (blocks_[index] == BlockState::kUnknown) blocks_[index] = BlockState::kAbsent;
    }
    // The file failed verification during this read: fetching its blocks
    // again would only serve (and store) bytes of a failed round.
    if (round_.load() != round) return CurrentFailure();
    // Wait on the fetch Schedule hands back, even if it fails and is
    // forgotten before this thread looks again: its status is the answer.
    Schedule(location, round, index, index, index, std::span(&pending, 1));
    if (pending) return CopyFromPending(location, pending, index, offset, out, deadline);
  }
  return Status::Unavailable("block " + std::to_string(index) + " of " + location.path +
                             " vanished from the cache repeatedly");
}

Status FileContent::CopyFromPending(const FileLocation& location, const std::shared_ptr<Pending>& pending,
                                    uint32_t index, size_t offset, std::span<char> out, TimePoint deadline) {
  const size_t needed = offset + out.size();
  auto ready = [&] { return pending->done || (pending->filling && pending->filling->filled() >= needed); };
  std::unique_lock<std::mutex> lock(mu_);
  if (!ready()) {
    ++partial_waiters_;
    const bool in_time = cv_.wait_until(lock, WaitLimit(*pending, deadline), ready);
    --partial_waiters_;
    if (!in_time) {
      return Status::DeadlineExceeded("no bytes of block " + std::to_string(index) + " of " + location.path +
                                      " before the read deadline");
    }
  }
  if (!pending->done) {
    // Our bytes are in but the block is not: copy them from the buffer the
    // GET is still filling further on (held, so it outlives a failed GET).
    std::shared_ptr<FillingBlock> block = pending->filling;
    lock.unlock();
    std::memcpy(out.data(), block->data() + offset, out.size());
    return Status::Ok();
  }
  if (!pending->status.ok()) return pending->status;
  std::memcpy(out.data(), pending->data->data() + offset, out.size());
  return Status::Ok();
}

// The blocks of a file lie in the cache's data file in the order their GETs
// completed, which parallel fetches shuffle, so a sequential reader's preads
// jump back and forth there and the kernel's readahead of that file keeps
// restarting: a warm read after drop_caches waited on the disk in about one
// request in eight, 1-5 ms each. Naming each block a few blocks ahead, once,
// keeps the disk busy ahead of the reader. 8 ahead measured better than 24
// (scripts/bench target 4, alternating binaries).
void FileContent::HintDiskReadahead(uint64_t offset, size_t n) {
  constexpr uint32_t kDiskReadahead = 8;
  const uint64_t end = offset + n;
  for (uint32_t b = static_cast<uint32_t>(offset / block_size_); b < block_count_; ++b) {
    if (uint64_t{b} * block_size_ + BlockLength(b) > end) break;  // the read stops inside block b
    if (b + kDiskReadahead < block_count_) registry_->store()->WillRead(hash_, b + kDiskReadahead);
  }
}

bool FileContent::FirstStandaloneTouch(uint32_t index) {
  std::lock_guard<std::mutex> lock(mu_);
  if (touched_alone_.empty()) touched_alone_.resize(block_count_);
  if (touched_alone_[index]) return false;
  touched_alone_[index] = true;
  return true;
}

std::vector<std::string> FileContent::sources() {
  std::lock_guard<std::mutex> lock(mu_);
  return {sources_.begin(), sources_.end()};
}

}  // namespace hfm
