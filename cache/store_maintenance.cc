#include "cache/store_maintenance.h"

#include <algorithm>

#include "cache/lmdb_format.h"
#include "util/log.h"

namespace hfm {
namespace {

enum class Check { kMatched, kMismatched, kGone };

// Hashes `file`'s blocks in order. kGone if a block vanished meanwhile (a
// mount evicted the file): nothing is known about its bytes then.
Result<Check> HashStoredFile(BlockStore* store, const StoredFile& file) {
  ContentHasher hasher(file.hash.kind(), file.size);
  const uint64_t count = BlockCount(file.size, store->block_size());
  for (uint64_t i = 0; i < count; ++i) {
    auto block = store->GetBlock(file.hash, static_cast<uint32_t>(i));
    if (!block.ok()) return block.status();
    if (!block->has_value()) return Check::kGone;
    if ((*block)->size() != BlockLength(file.size, store->block_size(), i)) return Check::kMismatched;
    hasher.Update((*block)->data(), (*block)->size());
  }
  return hasher.Finish() == file.hash ? Check::kMatched : Check::kMismatched;
}

}  // namespace

Result<VerifyOutcome> VerifyStore(BlockStore* store,
                                  const std::function<void(const StoredFile&, bool matched)>& on_file) {
  auto files = store->ListFiles();
  if (!files.ok()) return files.status();
  VerifyOutcome outcome;
  for (const StoredFile& file : *files) {
    if (!file.complete) {
      outcome.partial_files++;
      continue;
    }
    auto check = HashStoredFile(store, file);
    if (!check.ok()) return check.status();
    if (*check == Check::kGone) continue;
    outcome.checked_files++;
    outcome.checked_bytes += file.size;
    const bool matched = *check == Check::kMatched;
    if (!matched) {
      LogError("cache verify: the stored bytes of " + file.hash.ToString() + " (" + std::to_string(file.size) +
               " bytes) do not match its hash; dropping them");
      HFM_RETURN_IF_ERROR(store->DropFile(file.hash, file.size));
      outcome.dropped.push_back(file);
    }
    if (on_file) on_file(file, matched);
  }
  return outcome;
}

Result<ShrinkOutcome> ShrinkStore(BlockStore* store, uint64_t max_bytes) {
  auto files = store->ListFiles();
  if (!files.ok()) return files.status();
  ShrinkOutcome outcome;
  for (const StoredFile& f : *files) outcome.remaining_bytes += f.cached_bytes;
  // Least recently used first; among equal stamps (a minute apart at best),
  // partial files before complete ones (a read still has to fetch them), then
  // larger before smaller (fewer files lost for the same room).
  std::sort(files->begin(), files->end(), [](const StoredFile& a, const StoredFile& b) {
    if (a.last_access != b.last_access) return a.last_access < b.last_access;
    if (a.complete != b.complete) return !a.complete;
    return a.cached_bytes > b.cached_bytes;
  });
  for (const StoredFile& f : *files) {
    if (outcome.remaining_bytes <= max_bytes) break;
    HFM_RETURN_IF_ERROR(store->DropFile(f.hash, f.size));
    outcome.dropped_files++;
    outcome.freed_bytes += f.cached_bytes;
    outcome.remaining_bytes -= f.cached_bytes;
  }
  return outcome;
}

}  // namespace hfm
