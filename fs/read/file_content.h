// FileContent: the bytes of one file (one ContentHash) as this mount serves
// them, joining the block cache and the network. It is four units, each
// with one job and its own lock, built here and wired to each other:
//
//   FetchScheduler       which blocks to GET, what is in flight, who waits;
//                        stores fetched blocks (fetch_scheduler.h)
//   ContentVerifier      the whole-file hash in block order, the verdict,
//                        rounds after a mismatch (content_verifier.h)
//   BackgroundPrefetcher a weight file fetched whole while a handle wants it
//                        (background_prefetcher.h)
//   ContentReader        one read: from memory, the cache, or a direct GET
//                        (content_reader.h)
//
// Locks are taken in that order of dependency, never back: the reader and
// the prefetcher call the verifier and the scheduler, the verifier calls the
// scheduler, and the scheduler calls nobody with its lock held (it hands
// published blocks to the hasher's queue).
//
// Jobs queued on the shared threads hold the FileContent, so its units
// outlive them.
//
// Thread safety: all public methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fetch/hub_client.h"
#include "fs/read/background_prefetcher.h"
#include "fs/read/content_reader.h"
#include "fs/read/content_verifier.h"
#include "fs/read/fetch_scheduler.h"
#include "fs/read/read_path_env.h"
#include "fs/read/readahead_window.h"
#include "util/content_hash.h"
#include "util/status.h"

namespace hfm {

class FileContent : public std::enable_shared_from_this<FileContent> {
 public:
  // Called when a handle starts the background fetch, so the owner pumps
  // this file again whenever budget is released.
  using BackgroundStarted = std::function<void(const std::shared_ptr<FileContent>&)>;

  // Use ContentRegistry::Get(). `must_verify`: failed verification earlier
  // in this mount. `verdicts` outlives this object.
  FileContent(ContentHash hash, uint64_t size, const ReadPathEnv& env, VerdictListener* verdicts,
              BackgroundStarted on_background, bool must_verify);
  ~FileContent();
  FileContent(const FileContent&) = delete;
  FileContent& operator=(const FileContent&) = delete;

  // See ContentReader.
  Result<size_t> Read(const FileLocation& location, uint64_t offset, std::span<char> out,
                      ReadaheadPlan readahead) {
    return reader_.Read(location, offset, out, readahead);
  }
  void ReadAhead(const FileLocation& location, uint32_t first, uint32_t last) {
    reader_.ReadAhead(location, first, last);
  }

  // Fetches the whole file in the background until it is complete or every
  // StartBackground has been matched by a StopBackground (see
  // BackgroundPrefetcher).
  void StartBackground(const FileLocation& location);
  void StopBackground() { prefetcher_.Stop(); }
  void PumpBackground() { prefetcher_.Pump(); }
  bool background_active() { return prefetcher_.active(); }

  // Endpoints that served bytes of this file in this mount, in name order.
  std::vector<std::string> sources() { return scheduler_.sources(); }

  const ContentHash& hash() const { return hash_; }
  uint64_t size() const { return size_; }
  uint32_t block_count() const { return scheduler_.block_count(); }
  bool complete() const { return verifier_.complete(); }
  bool verified() const { return verifier_.verified(); }
  // Bumped each time the file fails verification: bytes served in an earlier
  // round may be wrong.
  uint64_t round() const { return scheduler_.round(); }
  bool RoundVerified(uint64_t round) const { return verifier_.RoundVerified(round); }

 private:
  // Keeps the file's blocks from eviction while it is in use.
  class Pin {
   public:
    Pin(BlockStore* store, const ContentHash& hash) : store_(store), hash_(hash) { store_->Pin(hash_); }
    ~Pin() { store_->Unpin(hash_); }

   private:
    BlockStore* const store_;
    const ContentHash hash_;
  };

  std::shared_ptr<const void> Hold() const { return shared_from_this(); }

  const ContentHash hash_;
  const uint64_t size_;
  const BackgroundStarted on_background_;
  Pin pin_;  // before the units: the verifier asks the store at construction
  FetchScheduler scheduler_;
  ContentVerifier verifier_;
  BackgroundPrefetcher prefetcher_;
  ContentReader reader_;
};

}  // namespace hfm
