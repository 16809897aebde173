// ContentReader: answers one read of a file from the block in memory, the
// cache, or a direct GET of just the read's bytes.
//
// A read schedules the fetches of its missing blocks and of the blocks
// readahead asks for (FetchScheduler), copies each of its blocks from the
// store or from the fetch that brings it (bytes already in are copied while
// the rest arrives), and, when it touched the last block, waits for the
// verifier's verdict: a reader never sees EOF on bytes that failed. Files
// that must be verified first are verified before the read is answered.
//
// A small read standing alone (a seek, a footer read) in a block no such
// read touched before gets just its bytes from a GET of them, and the block
// is not fetched (content_reader_direct.cc).
//
// Thread safety: all public methods are thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "fetch/hub_client.h"
#include "fs/read/block_table.h"
#include "fs/read/content_verifier.h"
#include "fs/read/fetch_scheduler.h"
#include "fs/read/read_path_env.h"
#include "fs/read/readahead_window.h"
#include "util/content_hash.h"
#include "util/mutex.h"
#include "util/status.h"

namespace hfm {

class ContentReader {
 public:
  ContentReader(ContentHash hash, uint64_t size, FetchScheduler* scheduler, ContentVerifier* verifier,
                const ReadPathEnv& env);
  ContentReader(const ContentReader&) = delete;
  ContentReader& operator=(const ContentReader&) = delete;

  // Copies up to out.size() bytes at `offset` into `out`; returns the count
  // (0 at or past EOF). Fails with DeadlineExceeded/Unavailable/NotFound/
  // PermissionDenied from the network, DataLoss when the file failed
  // verification.
  Result<size_t> Read(const FileLocation& location, uint64_t offset, std::span<char> out,
                      ReadaheadPlan readahead);
  // Starts fetching the blocks in [first, last] neither cached nor in
  // flight, as readahead: within the memory budget.
  void ReadAhead(const FileLocation& location, uint32_t first, uint32_t last);

 private:
  // Schedules the read's blocks [first, last] and its readahead; `fetches`
  // gets the fetch of each of the read's blocks.
  void ScheduleRead(const FileLocation& location, uint64_t round, uint32_t first, uint32_t last,
                    ReadaheadPlan readahead, std::vector<std::shared_ptr<BlockFetch>>* fetches);
  // Copies part of block `index` into `out`, fetching it if needed.
  Status CopyBlock(const FileLocation& location, uint64_t round, uint32_t index, size_t offset,
                   std::span<char> out, TimePoint deadline);
  // Copies block `index` from the store if it is there; false if not.
  bool CopyStoredBlock(const FileLocation& location, uint64_t round, uint32_t index, size_t offset,
                       std::span<char> out);
  // A read standing alone within one missing block: its own bytes fetched by
  // themselves, beside the block's fetch if `block_follows`. False (nothing
  // served) when the block is cached or its fetch brings them as soon, or
  // when the direct GET failed: the caller then waits for the block.
  bool ReadDirect(const FileLocation& location, uint64_t round, uint32_t index, uint64_t offset,
                  std::span<char> out, TimePoint deadline, bool block_follows);
  // True the first time a read standing alone lands in block `index`.
  bool FirstStandaloneTouch(uint32_t index) EXCLUDES(mu_);
  // A sequential read of a complete file: for each block whose end the read
  // reaches, asks the store to start reading a block a few further on.
  void HintDiskReadahead(uint64_t offset, size_t n);

  const ContentHash hash_;
  const uint64_t size_;
  FetchScheduler* const scheduler_;
  ContentVerifier* const verifier_;
  const ReadPathEnv env_;

  Mutex mu_;
  // Blocks a read standing alone has landed in; sparse, since the listed
  // size is untrusted (see BlockTable).
  BlockTable<bool> touched_alone_ GUARDED_BY(mu_){false};
};

}  // namespace hfm
