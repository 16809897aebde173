#include "fs/read/content_reader.h"

#include <algorithm>
#include <cstring>

#include "util/log.h"

namespace hfm {

ContentReader::ContentReader(ContentHash hash, uint64_t size, FetchScheduler* scheduler,
                             ContentVerifier* verifier, const ReadPathEnv& env)
    : hash_(hash), size_(size), scheduler_(scheduler), verifier_(verifier), env_(env) {}

Result<size_t> ContentReader::Read(const FileLocation& location, uint64_t offset, std::span<char> out,
                                   ReadaheadPlan readahead) {
  if (offset >= size_ || out.empty()) {
    if (size_ == 0) HFM_RETURN_IF_ERROR(verifier_->EmptyFileFailure());
    return size_t{0};
  }
  const uint32_t block_size = scheduler_->block_size();
  const uint32_t block_count = scheduler_->block_count();
  const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), size_ - offset));
  const uint32_t first = static_cast<uint32_t>(offset / block_size);
  const uint32_t last = static_cast<uint32_t>((offset + n - 1) / block_size);
  // One deadline for the whole read, verification (verify=strict) included.
  const TimePoint deadline = env_.clock->Now() + env_.options.read_timeout;

  if (!verifier_->complete() && verifier_->MustVerifyBeforeServing()) {
    HFM_RETURN_IF_ERROR(verifier_->EnsureVerified(location, deadline));
  }
  const bool complete = verifier_->complete();
  if (complete && readahead.blocks > 0) HintDiskReadahead(offset, n);
  if (!complete) {
    // Backpressure: past the budget, fetched blocks are waiting for the
    // cache writer; fetching more for this reader would only add to them.
    env_.budget->WaitForRoom(std::min(deadline, env_.clock->Now() + env_.options.read_timeout / 2));
  }
  const uint64_t round = scheduler_->round();
  const bool alone_in_block = readahead.alone && first == last && last != block_count - 1 && !complete;
  // Tried once: if it declined or its GET failed, the block is fetched.
  const bool first_touch = alone_in_block && FirstStandaloneTouch(first);
  if (first_touch && ReadDirect(location, round, first, offset, out.first(n), deadline, /*block_follows=*/false)) {
    return n;
  }
  // The fetches of the read's blocks, held so that a GET failing before
  // this thread looks is still its answer, not a reason to fetch again.
  std::vector<std::shared_ptr<BlockFetch>> fetches;
  if (!complete) ScheduleRead(location, round, first, last, readahead, &fetches);
  if (alone_in_block && !first_touch &&
      ReadDirect(location, round, first, offset, out.first(n), deadline, /*block_follows=*/true)) {
    return n;
  }
  size_t copied = 0;
  for (uint32_t idx = first; idx <= last; ++idx) {
    const uint64_t block_start = static_cast<uint64_t>(idx) * block_size;
    const size_t in_block = static_cast<size_t>(offset + copied - block_start);
    const size_t len = std::min(n - copied, scheduler_->BlockLength(idx) - in_block);
    const std::span<char> part = out.subspan(copied, len);
    const std::shared_ptr<BlockFetch>* fetch = idx - first < fetches.size() ? &fetches[idx - first] : nullptr;
    HFM_RETURN_IF_ERROR(fetch && *fetch
                            ? scheduler_->CopyFromFetch(location, *fetch, idx, in_block, part, deadline)
                            : CopyBlock(location, round, idx, in_block, part, deadline));
    copied += len;
  }
  if (last == block_count - 1 && !verifier_->complete()) {
    HFM_RETURN_IF_ERROR(verifier_->CheckAtEnd(location, deadline));
  }
  return n;
}

void ContentReader::ScheduleRead(const FileLocation& location, uint64_t round, uint32_t first, uint32_t last,
                                 ReadaheadPlan readahead, std::vector<std::shared_ptr<BlockFetch>>* fetches) {
  fetches->resize(last - first + 1);
  uint64_t ahead = uint64_t{last} + readahead.blocks;
  if (readahead.blocks > 0 && !readahead.header) {
    // Round up to the end of a fetch-sized group, so a sliding window asks
    // for whole groups (one ranged GET each) instead of one block at a time.
    const uint32_t group = scheduler_->readahead_group();
    ahead = (ahead / group + 1) * group - 1;
  }
  ahead = std::min<uint64_t>(ahead, scheduler_->block_count() - 1);
  scheduler_->Schedule(location, round, first, static_cast<uint32_t>(ahead), last, *fetches);
}

void ContentReader::ReadAhead(const FileLocation& location, uint32_t first, uint32_t last) {
  const uint32_t block_count = scheduler_->block_count();
  if (verifier_->complete() || block_count == 0) return;
  last = std::min(last, block_count - 1);
  if (first > last) return;
  scheduler_->Schedule(location, scheduler_->round(), first, last, /*demand_last=*/-1);
}

bool ContentReader::CopyStoredBlock(const FileLocation& location, uint64_t round, uint32_t index, size_t offset,
                                    std::span<char> out) {
  auto hit = env_.store->ReadBlock(hash_, index, offset, out);
  if (!hit.ok() || !*hit) return false;
  env_.counters->blocks_from_cache.fetch_add(1, std::memory_order_relaxed);
  // Eviction drops the least recently *used* file first: a read counts
  // (the store writes the stamp at most once a minute per file).
  env_.store->Touch(hash_);
  scheduler_->NoteStored(round, index);
  // A cached but unverified block at the frontier: hash it now so a
  // sequential reader of a partly cached file still verifies as it goes.
  if (!verifier_->verified() && verifier_->frontier() == index) {
    verifier_->AdvanceHash(&location, scheduler_->round(), index, nullptr);
  }
  return true;
}

Status ContentReader::CopyBlock(const FileLocation& location, uint64_t round, uint32_t index, size_t offset,
                                std::span<char> out, TimePoint deadline) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (scheduler_->CopyUncachedSmall(index, offset, out)) return Status::Ok();
    std::shared_ptr<BlockFetch> fetch = scheduler_->FetchOf(index);
    if (fetch) return scheduler_->CopyFromFetch(location, fetch, index, offset, out, deadline);
    if (CopyStoredBlock(location, round, index, offset, out)) return Status::Ok();
    if (verifier_->complete()) {
      // Complete in the store, yet a block is gone: evicted by another
      // process. Its bytes come from the network again, so they are verified
      // before serving. (A file the cache could not hold is never complete.)
      LogInfo("cache: " + hash_.ToString() + " (" + location.path +
              ") lost blocks to another process; fetching and verifying it again");
      verifier_->ForgetVerified();
      HFM_RETURN_IF_ERROR(verifier_->EnsureVerified(location, deadline));
      continue;
    }
    scheduler_->NoteMissing(index);
    // The file failed verification during this read: fetching its blocks
    // again would only serve (and store) bytes of a failed round.
    if (scheduler_->round() != round) return verifier_->CurrentFailure();
    // Wait on the fetch Schedule hands back, even if it fails and is
    // forgotten before this thread looks again: its status is the answer.
    scheduler_->Schedule(location, round, index, index, index, std::span(&fetch, 1));
    if (fetch) return scheduler_->CopyFromFetch(location, fetch, index, offset, out, deadline);
  }
  return Status::Unavailable("block " + std::to_string(index) + " of " + location.path +
                             " vanished from the cache repeatedly");
}

// The blocks of a file lie in the cache's data file in the order their GETs
// completed, which parallel fetches shuffle, so a sequential reader's preads
// jump back and forth there and the kernel's readahead of that file keeps
// restarting. Naming each block a few blocks ahead, once, keeps the disk busy
// ahead of the reader (README, "Design notes: the read path").
void ContentReader::HintDiskReadahead(uint64_t offset, size_t n) {
  constexpr uint32_t kDiskReadahead = 8;
  const uint32_t block_size = scheduler_->block_size();
  const uint32_t block_count = scheduler_->block_count();
  const uint64_t end = offset + n;
  for (uint32_t b = static_cast<uint32_t>(offset / block_size); b < block_count; ++b) {
    if (uint64_t{b} * block_size + scheduler_->BlockLength(b) > end) break;  // the read stops inside block b
    if (b + kDiskReadahead < block_count) env_.store->WillRead(hash_, b + kDiskReadahead);
  }
}

bool ContentReader::FirstStandaloneTouch(uint32_t index) {
  MutexLock lock(&mu_);
  if (touched_alone_.Get(index)) return false;
  touched_alone_.Set(index, true);
  return true;
}

}  // namespace hfm
