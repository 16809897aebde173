// ContentVerifier: the whole-file hash of one file, fed in order as its
// blocks arrive, and the verdict.
//
// The hash advances from its frontier (the first block not yet hashed)
// with each block published by the FetchScheduler or read back from the
// cache; blocks that arrive ahead of the frontier wait in a HashStash. When
// the frontier reaches the end: a match marks the file complete in the
// cache (on the writer thread, behind its blocks); a mismatch logs once,
// drops the file's blocks (FetchScheduler::StartNewRound), marks it as
// failed verification in the store, and fails the reader that reached the
// end with DataLoss. The mark outlives the process: a later mount drops the
// blocks stored under it and verifies before serving (as here, on
// construction), until the file verifies.
//
// Files of one block or less, files that failed verification before, and
// every file under verify=strict are verified before their first byte is
// served (EnsureVerified).
//
// Thread safety: all public methods are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "fetch/hub_client.h"
#include "fs/read/fetch_scheduler.h"
#include "fs/read/hash_stash.h"
#include "fs/read/read_path_env.h"
#include "util/content_hash.h"
#include "util/mutex.h"
#include "util/status.h"

namespace hfm {

// Told of verdicts, on the thread that reached one (which may hold the
// verifier's lock: hand work off, do not call back).
class VerdictListener {
 public:
  virtual ~VerdictListener() = default;
  virtual void OnVerified(const ContentHash& hash) = 0;
  virtual void OnMismatch(const ContentHash& hash) = 0;
};

class ContentVerifier {
 public:
  // `must_verify`: this content failed verification earlier in this mount.
  ContentVerifier(ContentHash hash, uint64_t size, FetchScheduler* scheduler, const ReadPathEnv& env,
                  VerdictListener* verdicts, KeepAlive keep_alive, bool must_verify);
  ContentVerifier(const ContentVerifier&) = delete;
  ContentVerifier& operator=(const ContentVerifier&) = delete;

  // Every block is stored and the hash matched (in this process or before).
  bool complete() const { return complete_.load(); }
  bool verified() const { return verified_.load(); }
  // Whether the file is to be verified before a byte is served.
  bool MustVerifyBeforeServing() const;
  // Whether round `round` ended with the hash matching: bytes served in it
  // were right, whatever later rounds (after an eviction) do.
  bool RoundVerified(uint64_t round) const { return verified_round_.load() == round; }
  // The first block the hash has not taken yet.
  uint32_t frontier() const { return frontier_.load(); }

  // Feeds the hash every block available in order from the frontier on.
  // `hint` is block `hint_index` just fetched in round `hint_round` (null:
  // look for blocks only). `location` names the file in log lines.
  void AdvanceHash(const FileLocation* location, uint64_t hint_round, uint32_t hint_index,
                   const std::shared_ptr<const std::string>& hint) EXCLUDES(mu_);
  // Fetches and hashes every block; OK once the file is verified, else
  // DeadlineExceeded at `deadline` (the reader's: one for the whole read,
  // however many blocks the file has).
  Status EnsureVerified(const FileLocation& location, TimePoint deadline) EXCLUDES(mu_);
  // After a read touched the last block: the verdict, if the hash can reach
  // it with the blocks fetched or in flight (it waits for those) by `deadline`.
  Status CheckAtEnd(const FileLocation& location, TimePoint deadline) EXCLUDES(mu_);
  // A block of a verified file is gone from the store (another process
  // evicted it): what is fetched again is verified again before serving.
  void ForgetVerified() EXCLUDES(mu_);
  // The mismatch that ended the last round, as a DataLoss.
  Status CurrentFailure() EXCLUDES(mu_);
  // An empty file whose hash is not that of no bytes: its failure; else OK.
  // (Files with bytes fail in CheckAtEnd, EnsureVerified.)
  Status EmptyFileFailure() EXCLUDES(mu_);

 private:
  // AdvanceHash's body; returns budget bytes to release.
  uint64_t AdvanceHashLocked(const FileLocation* location, uint32_t hint_index,
                             const std::shared_ptr<const std::string>& hint) REQUIRES(mu_);
  // Hashes the frontier's block if it is available; false if not.
  bool HashFrontierBlock(uint64_t round, uint32_t hint_index, const std::shared_ptr<const std::string>& hint)
      REQUIRES(mu_);
  // The frontier reached the end: the verdict. Returns budget bytes to release.
  uint64_t Conclude() REQUIRES(mu_);
  uint64_t OnMismatch(const ContentHash& actual, const std::string& endpoint) REQUIRES(mu_);
  // Whether the store holds the file complete, at the listed size.
  // Constructor only: sets must_verify_ without the lock.
  bool CompleteInStore();
  // On the writer thread, after the hash matched: records the file complete
  // if this round's certificate vouches for the stored bytes.
  void MarkCompleteInCache(uint64_t round, const std::string& where);
  // Waits until every block published so far is stored and hashed.
  Status FlushWrites(TimePoint deadline);

  const ContentHash hash_;
  const uint64_t size_;
  FetchScheduler* const scheduler_;
  const ReadPathEnv env_;
  VerdictListener* const verdicts_;
  const KeepAlive keep_alive_;

  Mutex mu_;
  std::unique_ptr<ContentHasher> hasher_ GUARDED_BY(mu_);
  Status failure_ GUARDED_BY(mu_);  // the last mismatch
  HashStash stash_ GUARDED_BY(mu_);
  FileLocation last_location_ GUARDED_BY(mu_);  // for log lines
  // Written under mu_; atomic so readers can peek without waiting for a
  // hash in progress.
  std::atomic<uint32_t> frontier_{0};
  std::atomic<bool> complete_{false};
  std::atomic<bool> verified_{false};
  std::atomic<uint64_t> verified_round_{UINT64_MAX};  // the round whose hash matched
  std::atomic<bool> must_verify_{false};
};

}  // namespace hfm
