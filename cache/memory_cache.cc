// NewMemoryCache: BlockStore and MetaStore in memory, with the LMDB stores'
// contracts, for tests of the layers above and for running with no cache
// directory. Both share one state under one reader/writer lock.
//
// No eviction: a write that would take blocks plus meta keys and values past
// max_bytes fails with ResourceExhausted, as a full LMDB cache with nothing
// evictable does, so callers' "serve uncached" paths can be tested
// deterministically. Pin, Unpin and Touch are therefore no-ops.
//
// Thread safety: thread-safe; readers share the lock and never block each other.
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "cache/block_store.h"
#include "cache/lmdb_format.h"
#include "util/mutex.h"

namespace hfm {
namespace {

struct MemoryState {
  explicit MemoryState(uint64_t max_bytes) : max_bytes(max_bytes) {}

  const uint64_t max_bytes;
  SharedMutex mu;
  // Ordered so that one file's blocks form a range, as in LMDB.
  std::map<std::pair<ContentHash, uint32_t>, std::string> blocks GUARDED_BY(mu);
  std::map<ContentHash, uint64_t> complete_sizes GUARDED_BY(mu);
  std::set<ContentHash> failed_verification GUARDED_BY(mu);
  // BlockStore::FileEpoch of each file with a block or a mark; a file gets a
  // fresh one from last_epoch when it gains its first, and loses it when dropped.
  std::map<ContentHash, uint64_t> epochs GUARDED_BY(mu);
  uint64_t last_epoch GUARDED_BY(mu) = 0;

  uint64_t EpochOf(const ContentHash& file) REQUIRES(mu) {
    auto [it, inserted] = epochs.try_emplace(file, 0);
    if (inserted) it->second = ++last_epoch;
    return it->second;
  }
  std::map<std::string, std::string, std::less<>> meta GUARDED_BY(mu);
  uint64_t block_bytes GUARDED_BY(mu) = 0;
  uint64_t used_bytes GUARDED_BY(mu) = 0;  // blocks + meta keys and values

  Status Reserve(uint64_t add, uint64_t remove) REQUIRES(mu) {
    if (used_bytes - remove + add > max_bytes) {
      return Status::ResourceExhausted("memory cache full (" + std::to_string(max_bytes) + " bytes)");
    }
    used_bytes = used_bytes - remove + add;
    return Status::Ok();
  }
};

class MemoryBlockStore : public BlockStore {
 public:
  MemoryBlockStore(std::shared_ptr<MemoryState> state, uint32_t block_size)
      : state_(std::move(state)), block_size_(block_size) {}

  uint32_t block_size() const override { return block_size_; }

  Result<bool> ReadBlock(const ContentHash& file, uint32_t index, size_t offset,
                         std::span<char> out) override {
    ReaderMutexLock lock(&state_->mu);
    auto it = state_->blocks.find({file, index});
    if (it == state_->blocks.end()) return false;
    const std::string& block = it->second;
    if (offset > block.size() || out.size() > block.size() - offset) {
      return Status::DataLoss("block " + std::to_string(index) + " of " + file.ToString() +
                              " holds " + std::to_string(block.size()) + " bytes, read wants [" +
                              std::to_string(offset) + ", " + std::to_string(offset + out.size()) +
                              ")");
    }
    if (!out.empty()) std::memcpy(out.data(), block.data() + offset, out.size());
    return true;
  }

  Result<std::optional<std::string>> GetBlock(const ContentHash& file, uint32_t index) override {
    ReaderMutexLock lock(&state_->mu);
    auto it = state_->blocks.find({file, index});
    if (it == state_->blocks.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  Result<bool> HasBlock(const ContentHash& file, uint32_t index) override {
    ReaderMutexLock lock(&state_->mu);
    return state_->blocks.count({file, index}) != 0;
  }

  Result<uint64_t> CachedBytes(const ContentHash& file) override {
    ReaderMutexLock lock(&state_->mu);
    uint64_t bytes = 0;
    for (auto it = state_->blocks.lower_bound({file, 0}); it != state_->blocks.end() && it->first.first == file;
         ++it) {
      bytes += it->second.size();
    }
    return bytes;
  }

  Status PutBlock(const ContentHash& file, uint32_t index, std::string_view data,
                  uint64_t* epoch) override {
    if (data.empty() || data.size() > block_size_) {
      return Status::InvalidArgument("block of " + std::to_string(data.size()) +
                                     " bytes; want 1.." + std::to_string(block_size_));
    }
    WriterMutexLock lock(&state_->mu);
    auto [it, inserted] = state_->blocks.try_emplace(std::make_pair(file, index));
    if (!inserted) {
      // Stored blocks are immutable (see BlockStore::PutBlock).
      if (it->second != data) {
        return Status::DataLoss("block " + std::to_string(index) + " of " + file.ToString() +
                                " is stored already with other bytes; kept the stored block");
      }
    } else {
      Status s = state_->Reserve(data.size(), 0);
      if (!s.ok()) {
        state_->blocks.erase(it);
        return s;
      }
      state_->block_bytes += data.size();
      it->second.assign(data);
    }
    const uint64_t e = state_->EpochOf(file);
    if (epoch != nullptr) *epoch = e;
    return Status::Ok();
  }

  Result<uint64_t> FileEpoch(const ContentHash& file) override {
    ReaderMutexLock lock(&state_->mu);
    auto it = state_->epochs.find(file);
    return it == state_->epochs.end() ? 0 : it->second;
  }

  Status MarkComplete(const ContentHash& file, uint64_t size, uint64_t epoch) override {
    const uint64_t count = BlockCount(size, block_size_);
    if (count > uint64_t{UINT32_MAX} + 1) {
      return Status::InvalidArgument("file of " + std::to_string(size) + " bytes has too many blocks");
    }
    WriterMutexLock lock(&state_->mu);
    auto current = state_->epochs.find(file);
    const uint64_t current_epoch = current == state_->epochs.end() ? 0 : current->second;
    if (size != 0 && (epoch == 0 || current_epoch != epoch)) {
      return Status::DataLoss("cannot mark " + file.ToString() + " of " + std::to_string(size) +
                              " bytes complete: its blocks changed since they were hashed (epoch " +
                              std::to_string(current_epoch) + ", hashed under " + std::to_string(epoch) + ")");
    }
    auto it = state_->blocks.lower_bound({file, 0});
    for (uint64_t i = 0; i < count; ++i, ++it) {
      if (it == state_->blocks.end() || it->first.first != file || it->first.second != i) {
        return Status::DataLoss("cannot mark " + file.ToString() + " complete: block " +
                                std::to_string(i) + " is missing");
      }
      const uint64_t want = BlockLength(size, block_size_, i);
      if (it->second.size() != want) {
        return Status::DataLoss("cannot mark " + file.ToString() + " complete: block " +
                                std::to_string(i) + " holds " + std::to_string(it->second.size()) +
                                " bytes, want " + std::to_string(want));
      }
    }
    if (it != state_->blocks.end() && it->first.first == file) {
      return Status::DataLoss(file.ToString() + " of " + std::to_string(size) +
                              " bytes has a block " + std::to_string(it->first.second) +
                              " past its end");
    }
    state_->complete_sizes[file] = size;
    state_->failed_verification.erase(file);
    return Status::Ok();
  }

  Result<bool> IsComplete(const ContentHash& file) override {
    ReaderMutexLock lock(&state_->mu);
    return state_->complete_sizes.count(file) != 0;
  }

  Status DropFile(const ContentHash& file, uint64_t size) override {
    WriterMutexLock lock(&state_->mu);
    auto it = state_->blocks.lower_bound({file, 0});
    while (it != state_->blocks.end() && it->first.first == file) {
      state_->block_bytes -= it->second.size();
      state_->used_bytes -= it->second.size();
      it = state_->blocks.erase(it);
    }
    state_->complete_sizes.erase(file);
    state_->failed_verification.erase(file);
    state_->epochs.erase(file);
    return Status::Ok();
  }

  Status MarkFailedVerification(const ContentHash& file) override {
    WriterMutexLock lock(&state_->mu);
    state_->EpochOf(file);
    state_->complete_sizes.erase(file);
    state_->failed_verification.insert(file);
    return Status::Ok();
  }

  Result<bool> FailedVerification(const ContentHash& file) override {
    ReaderMutexLock lock(&state_->mu);
    return state_->failed_verification.count(file) != 0;
  }

  BlockStoreStats Stats() override {
    ReaderMutexLock lock(&state_->mu);
    BlockStoreStats stats;
    stats.blocks = state_->blocks.size();
    stats.block_bytes = state_->block_bytes;
    stats.complete_files = state_->complete_sizes.size();
    stats.file_bytes = state_->used_bytes;  // no file: what it holds
    stats.map_size = state_->max_bytes;
    return stats;
  }

  Result<std::vector<StoredFile>> ListFiles() override {
    ReaderMutexLock lock(&state_->mu);
    std::map<ContentHash, StoredFile> files;
    for (const auto& [key, block] : state_->blocks) {
      StoredFile& f = files[key.first];
      f.hash = key.first;
      f.blocks++;
      f.cached_bytes += block.size();
    }
    for (const auto& [hash, size] : state_->complete_sizes) {
      StoredFile& f = files[hash];
      f.hash = hash;
      f.complete = true;
      f.size = size;
    }
    for (const ContentHash& hash : state_->failed_verification) {
      StoredFile& f = files[hash];
      f.hash = hash;
      f.failed_verification = true;
    }
    std::vector<StoredFile> out;
    for (auto& [hash, f] : files) out.push_back(std::move(f));
    return out;
  }

 private:
  const std::shared_ptr<MemoryState> state_;
  const uint32_t block_size_;
};

class MemoryMetaStore : public MetaStore {
 public:
  explicit MemoryMetaStore(std::shared_ptr<MemoryState> state) : state_(std::move(state)) {}

  Status Put(std::string_view key, std::string_view value) override {
    HFM_RETURN_IF_ERROR(CheckKey(key));
    WriterMutexLock lock(&state_->mu);
    auto it = state_->meta.find(key);
    const uint64_t old = it == state_->meta.end() ? 0 : key.size() + it->second.size();
    HFM_RETURN_IF_ERROR(state_->Reserve(key.size() + value.size(), old));
    state_->meta.insert_or_assign(std::string(key), std::string(value));
    return Status::Ok();
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    HFM_RETURN_IF_ERROR(CheckKey(key));
    ReaderMutexLock lock(&state_->mu);
    auto it = state_->meta.find(key);
    if (it == state_->meta.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }

  Result<std::vector<std::string>> KeysWithPrefix(std::string_view prefix) override {
    ReaderMutexLock lock(&state_->mu);
    std::vector<std::string> keys;
    for (auto it = state_->meta.lower_bound(prefix);
         it != state_->meta.end() && std::string_view(it->first).substr(0, prefix.size()) == prefix;
         ++it) {
      keys.push_back(it->first);
    }
    return keys;
  }

  Status Delete(std::string_view key) override {
    HFM_RETURN_IF_ERROR(CheckKey(key));
    WriterMutexLock lock(&state_->mu);
    auto it = state_->meta.find(key);
    if (it != state_->meta.end()) {
      state_->used_bytes -= it->first.size() + it->second.size();
      state_->meta.erase(it);
    }
    return Status::Ok();
  }

 private:
  // The LMDB store's limits, so tests on memory catch what LMDB would refuse.
  static Status CheckKey(std::string_view key) {
    if (key.empty() || key.size() > 511) {
      return Status::InvalidArgument("meta key of " + std::to_string(key.size()) +
                                     " bytes; want 1..511");
    }
    return Status::Ok();
  }

  const std::shared_ptr<MemoryState> state_;
};

}  // namespace

Cache NewMemoryCache(uint32_t block_size, uint64_t max_bytes) {
  auto state = std::make_shared<MemoryState>(max_bytes);
  Cache cache;
  cache.blocks = std::make_unique<MemoryBlockStore>(state, block_size);
  cache.meta = std::make_unique<MemoryMetaStore>(state);
  return cache;
}

}  // namespace hfm
