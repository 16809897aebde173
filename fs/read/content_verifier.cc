#include "fs/read/content_verifier.h"

#include "fs/read/log_where.h"
#include "util/log.h"

namespace hfm {
namespace {

// Whether a job queued on `queue` now runs before `deadline`: on a queue of
// one thread, every job queued before it has run by then.
bool RunsThrough(WorkQueue* queue, const Clock& clock, TimePoint deadline) {
  struct Reached {
    Mutex mu;
    CondVar cv{&mu};
    bool done GUARDED_BY(mu) = false;
  };
  auto reached = std::make_shared<Reached>();
  queue->Submit([reached] {
    MutexLock lock(&reached->mu);
    reached->done = true;
    reached->cv.SignalAll();
  });
  MutexLock lock(&reached->mu);
  while (!reached->done) {
    if (!clock.WaitUntil(&reached->cv, &reached->mu, deadline)) return reached->done;
  }
  return true;
}

}  // namespace

ContentVerifier::ContentVerifier(ContentHash hash, uint64_t size, FetchScheduler* scheduler,
                                 const ReadPathEnv& env, VerdictListener* verdicts, KeepAlive keep_alive,
                                 bool must_verify)
    : hash_(hash),
      size_(size),
      scheduler_(scheduler),
      env_(env),
      verdicts_(verdicts),
      keep_alive_(std::move(keep_alive)),
      hasher_(std::make_unique<ContentHasher>(hash.kind(), size)),
      stash_(env.budget) {
  // No lock: nothing else sees this object yet (and the registry's lock is
  // held around this constructor, which must not order it before mu_).
  must_verify_ = must_verify;
  if (CompleteInStore()) {
    complete_ = true;
    verified_ = true;
  } else if (size_ == 0) {
    // Nothing to fetch: the hash of no bytes decides at once.
    if (hasher_->Finish() == hash_) {
      verified_ = true;
      complete_ = env_.store->MarkComplete(hash_, 0, /*epoch=*/0).ok();
    } else {
      failure_ = Status::DataLoss("empty file does not match its hash " + hash_.ToString());
      must_verify_ = true;
    }
  } else if (auto failed = env_.store->FailedVerification(hash_); failed.ok() && *failed) {
    // These bytes failed verification before, maybe in a process before this
    // one, and the file never verified since: the blocks stored after that
    // verdict may come from the same bad source, and served unverified they
    // would fail this reader at the end. Start from none, and verify before
    // serving. The mark stays until the file verifies.
    LogInfo("cache: " + hash_.ToString() + " failed verification before and has not verified since; " +
            "dropping its stored blocks and verifying it before serving");
    Status dropped = env_.store->DropFile(hash_, size_);
    if (dropped.ok()) dropped = env_.store->MarkFailedVerification(hash_);
    if (!dropped.ok()) LogError("cannot drop suspect blocks of " + hash_.ToString() + ": " + dropped.ToString());
    must_verify_ = true;
  }
}

bool ContentVerifier::CompleteInStore() {
  auto complete = env_.store->IsComplete(hash_);
  if (!complete.ok() || !*complete) return false;
  // Complete for the size it was verified at. A listing that gives this hash
  // another size is wrong, and its reads must fail, not end early.
  auto stored = env_.store->CachedBytes(hash_);
  if (stored.ok() && *stored == size_) return true;
  LogWarning("cache: " + hash_.ToString() + " is complete with " +
             (stored.ok() ? std::to_string(*stored) : stored.status().ToString()) +
             " bytes but listed with " + std::to_string(size_) + "; not serving it from the cache unverified");
  must_verify_ = true;
  return false;
}

bool ContentVerifier::MustVerifyBeforeServing() const {
  return env_.options.strict || scheduler_->block_count() <= 1 || must_verify_.load();
}

void ContentVerifier::MarkCompleteInCache(uint64_t round, const std::string& where) {
  if (round != scheduler_->round()) return;
  const FetchScheduler::RoundCertificate certificate = scheduler_->Certificate(round);
  if (certificate.conflict) {
    // These bytes verified, so the other bytes another writer stored for
    // some block are wrong: drop them rather than leave them to be served.
    LogWarning("verified but not cached: " + where + ": the cache holds other bytes for " + hash_.ToString() +
               " stored by another writer; dropping them");
    Status dropped = env_.store->DropFile(hash_, size_);
    if (!dropped.ok()) LogError("cannot drop foreign blocks of " + hash_.ToString() + ": " + dropped.ToString());
    return;
  }
  if (certificate.epoch == 0) {
    LogInfo("verified but not marked complete: " + where +
            ": not every hashed block is stored as hashed (cache full, or replaced meanwhile)");
    return;
  }
  Status st = env_.store->MarkComplete(hash_, size_, certificate.epoch);
  if (st.ok()) {
    complete_ = true;
  } else {
    LogWarning("verified but not cached: " + where + ": " + st.ToString());
  }
}

Status ContentVerifier::FlushWrites(TimePoint deadline) {
  // Both threads run jobs in order, and a block's store job is queued before
  // its hash job: once the hasher reaches this barrier every block published
  // before it is hashed, and a completion it queued on the writer lands
  // before the writer's barrier.
  for (WorkQueue* queue : {env_.hasher, env_.writer}) {
    if (!RunsThrough(queue, *env_.clock, deadline)) {
      return Status::DeadlineExceeded("cache writer did not catch up before the read deadline");
    }
  }
  return Status::Ok();
}

void ContentVerifier::AdvanceHash(const FileLocation* location, uint64_t hint_round, uint32_t hint_index,
                                  const std::shared_ptr<const std::string>& hint) {
  uint64_t released;
  {
    MutexLock lock(&mu_);
    // A hint from a round that failed meanwhile holds bytes that failed (the
    // round only changes under mu_, so this check cannot go stale).
    const bool current = hint_round == scheduler_->round();
    released = AdvanceHashLocked(location, hint_index, current ? hint : nullptr);
  }
  if (released) env_.budget->Release(released);
}

uint64_t ContentVerifier::AdvanceHashLocked(const FileLocation* location, uint32_t hint_index,
                                            const std::shared_ptr<const std::string>& hint) {
  if (location) last_location_ = *location;
  const uint32_t block_count = scheduler_->block_count();
  if (verified_ || block_count == 0) return 0;
  const uint64_t round = scheduler_->round();
  if (hint && hint_index > frontier_ && hint_index < block_count) {
    // Arrived ahead of the frontier (GETs run in parallel): keep it for when
    // the frontier gets here if the budget allows, or the hash reads it back
    // from the cache then.
    stash_.Add(hint_index, hint);
  }
  while (frontier_ < block_count && HashFrontierBlock(round, hint_index, hint)) ++frontier_;
  if (frontier_ == block_count) return Conclude();
  // Stashed blocks wait for the frontier's block; if nothing is fetching it
  // (a reader skipped ahead), they would hold memory for nothing.
  if (!stash_.empty() && !scheduler_->InFlight(frontier_)) stash_.Clear();
  return 0;
}

bool ContentVerifier::HashFrontierBlock(uint64_t round, uint32_t hint_index,
                                        const std::shared_ptr<const std::string>& hint) {
  const uint32_t index = frontier_;
  // The stash first: a hint that was ahead of the frontier when this pass
  // began is stashed, and the frontier may reach it in this pass.
  std::shared_ptr<const std::string> data = stash_.Take(index);
  if (!data && hint && index == hint_index) data = hint;
  // Published but not stored yet: hash it from memory.
  if (!data) data = scheduler_->PublishedBytes(round, index);
  std::string read_back;  // or the block as the cache has it
  if (!data) {
    if (!scheduler_->IsStored(index)) return false;
    // The epoch first: if it is still current when the file is marked
    // complete, no block was deleted (so none replaced) since this read.
    auto epoch = env_.store->FileEpoch(hash_);
    // Into a pooled buffer: a fresh one would cost page faults and resident
    // memory for every block the stash turned away.
    read_back = env_.buffers->TakeSized(scheduler_->BlockLength(index));
    auto got = env_.store->ReadBlock(hash_, index, 0, std::span<char>(read_back.data(), read_back.size()));
    if (!got.ok() || !*got) {
      env_.buffers->Give(std::move(read_back));
      return false;
    }
    scheduler_->NoteHashedFromStore(round, epoch.ok() ? *epoch : 0);
  }
  const std::string_view bytes = data ? std::string_view(*data) : std::string_view(read_back);
  if (bytes.size() != scheduler_->BlockLength(index)) return false;
  if (index == 0) failure_ = Status::Ok();  // a fresh verification round begins
  hasher_->Update(bytes.data(), bytes.size());
  if (data && scheduler_->block_count() == 1) scheduler_->KeepUncachedSmall(data);
  if (!data) env_.buffers->Give(std::move(read_back));
  return true;
}

uint64_t ContentVerifier::Conclude() {
  const ContentHash actual = hasher_->Finish();
  hasher_ = std::make_unique<ContentHasher>(hash_.kind(), size_);
  frontier_ = 0;
  stash_.Clear();
  std::string endpoint = scheduler_->TakeRoundSources();
  if (endpoint.empty()) endpoint = env_.hub->endpoint();
  if (actual != hash_) return OnMismatch(actual, endpoint);
  const uint64_t round = scheduler_->round();
  verified_round_ = round;
  verified_ = true;
  must_verify_ = false;
  verdicts_->OnVerified(hash_);
  // On the writer, behind every block of this file it was given: they are
  // all stored (or gone) by the time it runs.
  env_.writer->Submit([this, hold = keep_alive_(), round, where = LogWhere(last_location_, endpoint)] {
    MarkCompleteInCache(round, where);
  });
  return 0;
}

uint64_t ContentVerifier::OnMismatch(const ContentHash& actual, const std::string& endpoint) {
  LogError("hash mismatch: " + LogWhere(last_location_, endpoint) + " expected=" + hash_.ToString() +
           " actual=" + actual.ToString() + "; dropping its cached blocks");
  failure_ = Status::DataLoss("bytes of " + last_location_.path + " do not match " + hash_.ToString());
  must_verify_ = true;
  verdicts_->OnMismatch(hash_);
  // The next attempt prefers endpoints that did not serve these bytes.
  env_.hub->ReportCorrupt(last_location_);
  return scheduler_->StartNewRound(failure_, [this] {
    Status dropped = env_.store->DropFile(hash_, size_);
    // Before any block of the next round is stored: those may come from the
    // same bad source, and a process after this one must know not to trust
    // them unverified.
    if (dropped.ok()) dropped = env_.store->MarkFailedVerification(hash_);
    if (!dropped.ok()) LogError("cannot drop corrupt blocks of " + hash_.ToString() + ": " + dropped.ToString());
  });
}

Status ContentVerifier::EnsureVerified(const FileLocation& location, TimePoint deadline) {
  // A few rounds at most: a block evicted or discarded between the fetch and
  // the hash leaves a gap that one more pass fills.
  const uint32_t block_count = scheduler_->block_count();
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (verified_.load()) return Status::Ok();
    // Ask for everything up front so the whole file streams in parallel, then
    // walk it in order so the hash advances as blocks land.
    const uint64_t round = scheduler_->round();
    scheduler_->Schedule(location, round, 0, block_count - 1, /*demand_last=*/0);
    for (uint32_t i = 0; i < block_count; ++i) {
      Status waited = scheduler_->WaitForBlock(location, round, i, deadline);
      if (scheduler_->round() != round) return CurrentFailure();
      HFM_RETURN_IF_ERROR(waited);
    }
    HFM_RETURN_IF_ERROR(FlushWrites(deadline));
    AdvanceHash(&location, scheduler_->round(), block_count, nullptr);
    if (verified_.load()) return Status::Ok();
    if (scheduler_->round() != round) return CurrentFailure();
  }
  return Status::Unavailable("could not verify " + location.path + ": its blocks did not stay cached");
}

void ContentVerifier::ForgetVerified() {
  MutexLock lock(&mu_);
  if (!verified_) return;
  // The verdict left the hasher fresh and the frontier at 0.
  verified_ = false;
  must_verify_ = true;
  complete_ = false;
  // Whatever this process knew of the store may be stale too: ask it again.
  scheduler_->ForgetStored();
  scheduler_->RestartCertificate();
}

Status ContentVerifier::CurrentFailure() {
  MutexLock lock(&mu_);
  if (!failure_.ok()) return failure_;
  return Status::DataLoss("bytes of " + last_location_.path + " failed verification");
}

Status ContentVerifier::EmptyFileFailure() {
  MutexLock lock(&mu_);
  return size_ == 0 ? failure_ : Status::Ok();
}

Status ContentVerifier::CheckAtEnd(const FileLocation& location, TimePoint deadline) {
  const uint64_t round = scheduler_->round();
  for (;;) {
    HFM_RETURN_IF_ERROR(FlushWrites(deadline));
    AdvanceHash(&location, scheduler_->round(), scheduler_->block_count(), nullptr);
    bool verified;
    {
      MutexLock lock(&mu_);
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
    if (scheduler_->round() != round) return CurrentFailure();
    // The hash stopped at a block whose GET is still running: this reader
    // may have copied bytes of it (or of blocks before it) from the buffer
    // being filled, so no hash job for it is queued yet. Wait for it, so the
    // verdict comes before this reader is answered, not after it has seen
    // every byte and taken the end of the file for success.
    bool waited = false;
    HFM_RETURN_IF_ERROR(scheduler_->AwaitFetchOf(location, round, frontier_.load(), deadline, &waited));
    if (!waited) break;
  }
  // The hash has a gap (the reader skipped ahead): serve the bytes now and
  // verify once every block has arrived, unless this file must be verified.
  if (!must_verify_.load()) return Status::Ok();
  return EnsureVerified(location, deadline);
}

}  // namespace hfm
