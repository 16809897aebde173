// FileContent's verification: the whole-file hash fed in order as blocks
// arrive (blocks ahead of the frontier wait in the stash), the verdict when
// a reader reaches the end, and verify-before-serving for small files and
// verify=strict. The fetching and serving half is in file_content.cc.
#include <future>

#include "fs/read/content_registry.h"
#include "fs/read/file_content.h"
#include "util/log.h"

namespace hfm {

void FileContent::MarkCompleteInCache(uint64_t round, const std::string& where) {
  if (round != round_.load()) return;
  Status st = registry_->store()->MarkComplete(hash_, size_);
  if (st.ok()) {
    complete_ = true;
  } else {
    LogWarning("verified but not cached: " + where + ": " + st.ToString());
  }
}

Status FileContent::FlushWrites(TimePoint deadline) {
  // Both threads run jobs in order, and a block's store job is queued before
  // its hash job: once the hasher reaches this barrier every block published
  // before it is hashed, and a completion it queued on the writer lands
  // before the writer's barrier.
  for (WorkQueue* queue : {registry_->hasher(), registry_->writer()}) {
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    queue->Submit([done] { done->set_value(); });
    if (future.wait_until(deadline) != std::future_status::ready) {
      return Status::DeadlineExceeded("cache writer did not catch up before the read deadline");
    }
  }
  return Status::Ok();
}

Status FileContent::WaitForBlock(const FileLocation& location, uint64_t round, uint32_t index,
                                 TimePoint deadline) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::shared_ptr<Pending> pending;
    Schedule(location, round, index, index, index, std::span(&pending, 1));
    std::unique_lock<std::mutex> lock(mu_);
    if (!pending) {
      if (blocks_[index] == BlockState::kPresent) return Status::Ok();
      continue;  // published uncached: ask again
    }
    if (!cv_.wait_until(lock, WaitLimit(*pending, deadline), [&] { return pending->done; })) {
      return Status::DeadlineExceeded("no bytes of block " + std::to_string(index) + " of " +
                                      location.path + " before the read deadline");
    }
    return pending->status;  // published: the writer stores and hashes it
  }
  return Status::Unavailable("block " + std::to_string(index) + " of " + location.path +
                             " could not be kept");
}

void FileContent::AdvanceHash(const FileLocation* location, uint64_t hint_round, uint32_t hint_index,
                              const std::shared_ptr<const std::string>& hint) {
  uint64_t released;
  {
    std::lock_guard<std::mutex> hash_lock(hash_mu_);
    // A hint from a round that failed meanwhile holds bytes that failed (the
    // round only changes under hash_mu_, so this check cannot go stale).
    const bool current = hint_round == round_.load();
    released = AdvanceHashLocked(location, hint_index, current ? hint : nullptr);
  }
  if (released) registry_->budget()->Release(released);
}

uint64_t FileContent::AdvanceHashLocked(const FileLocation* location, uint32_t hint_index,
                                        const std::shared_ptr<const std::string>& hint) {
  if (location) last_location_ = *location;
  if (verified_ || block_count_ == 0) return 0;
  const uint64_t round = round_.load();
  if (hint && hint_index > frontier_ && hint_index < block_count_) {
    // Arrived ahead of the frontier (GETs run in parallel): keep it for when
    // the frontier gets here if the budget allows, or the hash reads it back
    // from the cache then.
    stash_.Add(hint_index, hint);
  }
  while (frontier_ < block_count_) {
    std::shared_ptr<const std::string> data;
    std::string read_back;  // or the block as the cache has it
    // The stash first: a hint that was ahead of the frontier when this call
    // began is stashed above, and the frontier may reach it in this loop.
    if (auto stashed = stash_.Take(frontier_)) {
      data = std::move(stashed);
    } else if (hint && frontier_ == hint_index) {
      data = hint;
    } else {
      bool present;
      {
        std::lock_guard<std::mutex> lock(mu_);
        // Published but not stored yet: hash it from memory.
        auto it = pending_.find(frontier_);
        if (it != pending_.end() && it->second->done && it->second->status.ok() && it->second->data &&
            it->second->round == round) {
          data = it->second->data;
        }
        present = blocks_[frontier_] == BlockState::kPresent;
      }
      if (data) {
        // hashed below
      } else if (!present) {
        break;
      } else {
        // Into a pooled buffer: a fresh one would cost page faults and
        // resident memory for every block the stash turned away.
        read_back = registry_->buffers()->TakeSized(BlockLength(frontier_));
        auto got = registry_->store()->ReadBlock(hash_, frontier_, 0,
                                                 std::span<char>(read_back.data(), read_back.size()));
        if (!got.ok() || !*got) {
          registry_->buffers()->Give(std::move(read_back));
          break;
        }
      }
    }
    const std::string_view bytes = data ? std::string_view(*data) : std::string_view(read_back);
    if (bytes.size() != BlockLength(frontier_)) break;
    if (frontier_ == 0) failure_ = Status::Ok();  // a fresh verification round begins
    hasher_->Update(bytes.data(), bytes.size());
    if (data && block_count_ == 1) {
      std::lock_guard<std::mutex> lock(mu_);
      if (blocks_[0] != BlockState::kPresent) uncached_small_ = data;
    }
    if (!data) registry_->buffers()->Give(std::move(read_back));
    ++frontier_;
  }
  if (frontier_ < block_count_) {
    if (!stash_.empty()) {
      // Stashed blocks wait for the frontier's block; if nothing is fetching
      // it (a reader skipped ahead), they would hold memory for nothing.
      std::lock_guard<std::mutex> lock(mu_);
      if (!pending_.count(frontier_)) stash_.Clear();
    }
    return 0;
  }

  const ContentHash actual = hasher_->Finish();
  hasher_ = std::make_unique<ContentHasher>(hash_.kind(), size_);
  frontier_ = 0;
  stash_.Clear();
  std::string endpoint;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& e : served_by_) endpoint += (endpoint.empty() ? "" : ";") + e;
    served_by_.clear();
  }
  if (endpoint.empty()) endpoint = registry_->hub()->endpoint();
  if (actual == hash_) {
    verified_round_ = round_.load();
    verified_ = true;
    must_verify_ = false;
    registry_->MarkVerified(hash_);
    // On the writer, behind every block of this file it was given: they are
    // all stored (or gone) by the time it runs.
    auto self = shared_from_this();
    registry_->writer()->Submit([self, round, where = Where(last_location_, endpoint)] {
      self->MarkCompleteInCache(round, where);
    });
    return 0;
  }
  LogError("hash mismatch: " + Where(last_location_, endpoint) + " expected=" + hash_.ToString() +
           " actual=" + actual.ToString() + "; dropping its cached blocks");
  failure_ = Status::DataLoss("bytes of " + last_location_.path + " do not match " + hash_.ToString());
  must_verify_ = true;
  registry_->MarkCorrupt(hash_);
  // The next attempt prefers endpoints that did not serve these bytes.
  registry_->hub()->ReportCorrupt(last_location_);
  uint64_t released = 0;
  {
    std::lock_guard<std::mutex> persist_lock(persist_mu_);
    Status dropped = registry_->store()->DropFile(hash_, size_);
    // Before any block of the next round is stored (Persist waits on
    // persist_mu_): those may come from the same bad source, and a process
    // after this one must know not to trust them unverified.
    if (dropped.ok()) dropped = registry_->store()->MarkFailedVerification(hash_);
    if (!dropped.ok()) LogError("cannot drop corrupt blocks of " + hash_.ToString() + ": " + dropped.ToString());
    std::lock_guard<std::mutex> lock(mu_);
    round_++;
    uncached_small_.reset();
    for (auto& b : blocks_) b = BlockState::kAbsent;
    for (auto& [index, pending] : pending_) {
      pending->done = true;
      pending->status = failure_;
      released += pending->reserved;
      pending->reserved = 0;
    }
    pending_.clear();
  }
  cv_.notify_all();
  return released;
}

Status FileContent::EnsureVerified(const FileLocation& location) {
  // A few rounds at most: a block evicted or discarded between the fetch and
  // the hash leaves a gap that one more pass fills.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (verified_.load()) return Status::Ok();
    // Ask for everything up front so the whole file streams in parallel, then
    // walk it in order so the hash advances as blocks land.
    const uint64_t round = round_.load();
    Schedule(location, round, 0, block_count_ - 1, /*demand_last=*/0);
    for (uint32_t i = 0; i < block_count_; ++i) {
      const TimePoint deadline = SystemClock()->Now() + registry_->options().read_timeout;
      Status waited = WaitForBlock(location, round, i, deadline);
      if (round_.load() != round) return CurrentFailure();
      HFM_RETURN_IF_ERROR(waited);
    }
    HFM_RETURN_IF_ERROR(FlushWrites(SystemClock()->Now() + registry_->options().read_timeout));
    AdvanceHash(&location, round_.load(), block_count_, nullptr);
    if (verified_.load()) return Status::Ok();
    if (round_.load() != round) return CurrentFailure();
  }
  return Status::Unavailable("could not verify " + location.path + ": its blocks did not stay cached");
}

void FileContent::ForgetVerified() {
  std::lock_guard<std::mutex> hash_lock(hash_mu_);
  if (!verified_) return;
  // The verdict left the hasher fresh and the frontier at 0.
  verified_ = false;
  must_verify_ = true;
  complete_ = false;
  std::lock_guard<std::mutex> lock(mu_);
  // Whatever this process knew of the store may be stale too: ask it again.
  for (auto& b : blocks_) {
    if (b == BlockState::kPresent) b = BlockState::kUnknown;
  }
  uncached_small_.reset();
}

Status FileContent::CurrentFailure() {
  std::lock_guard<std::mutex> lock(hash_mu_);
  if (!failure_.ok()) return failure_;
  return Status::DataLoss("bytes of " + last_location_.path + " failed verification");
}

Status FileContent::CheckAtEnd(const FileLocation& location) {
  const TimePoint deadline = SystemClock()->Now() + registry_->options().read_timeout;
  const uint64_t round = round_.load();
  for (;;) {
    HFM_RETURN_IF_ERROR(FlushWrites(deadline));
    AdvanceHash(&location, round_.load(), block_count_, nullptr);
    bool verified;
    {
      std::lock_guard<std::mutex> lock(hash_mu_);
      verified = verified_;
      if (!verified && !failure_.ok()) return failure_;
    }
    if (verified) {
      // The verdict may have come from the AdvanceHash call just above, on
      // this thread: its completion went to the writer behind the barrier.
      // Wait for that too, so the file is complete in the cache by the time
      // this reader sees its end (hfmirror prefetch checks right after).
      if (!complete_) HFM_RETURN_IF_ERROR(FlushWrites(deadline));
      return Status::Ok();
    }
    if (round_.load() != round) return CurrentFailure();
    // The hash stopped at a block whose GET is still running: this reader
    // may have copied bytes of it (or of blocks before it) from the buffer
    // being filled, so no hash job for it is queued yet. Wait for it, so the
    // verdict comes before this reader is answered, not after it has seen
    // every byte and taken the end of the file for success.
    std::unique_lock<std::mutex> lock(mu_);
    auto it = pending_.find(frontier_.load());
    if (it == pending_.end() || it->second->done || it->second->round != round) break;
    std::shared_ptr<Pending> pending = it->second;
    if (!cv_.wait_until(lock, WaitLimit(*pending, deadline), [&] { return pending->done; })) {
      return Status::DeadlineExceeded("block " + std::to_string(frontier_.load()) + " of " + location.path +
                                      " did not arrive before the read deadline");
    }
  }
  {
    std::lock_guard<std::mutex> lock(hash_mu_);
    // The hash has a gap (the reader skipped ahead): serve the bytes now and
    // verify once every block has arrived, unless this file must be verified.
    if (!must_verify_) return Status::Ok();
  }
  return EnsureVerified(location);
}

}  // namespace hfm
