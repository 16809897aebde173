// BlockStore: the persistent cache of file bytes and file states, keyed by
// content hash so equal content in two repos or revisions is stored once.
// A file of size S is stored as ceil(S / block_size()) blocks; every block is
// block_size() bytes except the last.
//
// The store never fetches: a miss is not an error (Result<bool> false), and the
// caller (fs/) decides to go to the network. A file is "complete" only after the
// caller verified its whole hash; MarkComplete checks in the same transaction
// that every block is present.
//
// Several writers (a mount and `hfmirror prefetch`, each fed by its own
// mirror) may share one store, so a writer must only certify the bytes it
// hashed. Two rules make that checkable: a stored block is immutable (a
// PutBlock with other bytes is refused, not applied), and each file has an
// epoch that changes whenever any of its blocks is deleted. A writer that
// stored or read every block it hashed under one epoch, and finds that epoch
// still current when it marks the file complete, hashed the stored bytes.
//
// Thread safety: all methods are thread-safe; readers never block each other.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/content_hash.h"
#include "util/status.h"

namespace hfm {

struct BlockStoreStats {
  uint64_t blocks = 0;          // blocks stored
  uint64_t block_bytes = 0;     // bytes in stored blocks
  uint64_t complete_files = 0;  // files marked complete
  uint64_t file_bytes = 0;      // size of the store's data file on disk
  uint64_t map_size = 0;        // the configured quota
};

// One file the store holds blocks or a record of.
struct StoredFile {
  ContentHash hash;
  uint64_t blocks = 0;        // blocks stored
  uint64_t cached_bytes = 0;  // bytes in them
  bool complete = false;      // verified and marked complete
  bool failed_verification = false;  // MarkFailedVerification, not cleared since
  uint64_t size = 0;          // the file's size, known once complete
  int64_t last_access = 0;    // Unix seconds; 0 if never recorded
};

class BlockStore {
 public:
  virtual ~BlockStore() = default;

  virtual uint32_t block_size() const = 0;

  // Copies bytes [offset, offset + out.size()) of block `index` of `file` into
  // `out`. Returns false if the block is absent. Fails with DataLoss if the
  // stored block is shorter than offset + out.size().
  virtual Result<bool> ReadBlock(const ContentHash& file, uint32_t index, size_t offset,
                                 std::span<char> out) = 0;
  // The whole block, or nullopt if absent.
  virtual Result<std::optional<std::string>> GetBlock(const ContentHash& file, uint32_t index) = 0;
  virtual Result<bool> HasBlock(const ContentHash& file, uint32_t index) = 0;
  // Bytes of `file` stored, over all its blocks (complete or not).
  virtual Result<uint64_t> CachedBytes(const ContentHash& file) = 0;

  // Stores one block (at most block_size() bytes). ResourceExhausted when the
  // cache is full and nothing can be evicted: the caller serves uncached.
  // Blocks are immutable: if the block is stored already, equal bytes are OK
  // (nothing is written) and other bytes are refused with DataLoss (no other
  // PutBlock failure is DataLoss), leaving the stored block as it was. If
  // `epoch` is set it receives FileEpoch(file) as of this write.
  virtual Status PutBlock(const ContentHash& file, uint32_t index, std::string_view data,
                          uint64_t* epoch = nullptr) = 0;

  // The epoch of `file`'s blocks: never 0 while the file has a block, and
  // changed (to a value never used before) whenever any of its blocks is
  // deleted. 0 if the store has no record of the file.
  virtual Result<uint64_t> FileEpoch(const ContentHash& file) = 0;

  // Records `file` (of `size` bytes) as verified and complete, in one write
  // transaction that first checks that the file's epoch is still `epoch`
  // (the one the caller stored or read every hashed block under) and that
  // blocks 0..n-1 are present with exactly the lengths `size` gives, no more
  // (else DataLoss and nothing changes). An empty file has no blocks to
  // certify: its epoch is not checked.
  virtual Status MarkComplete(const ContentHash& file, uint64_t size, uint64_t epoch) = 0;
  virtual Result<bool> IsComplete(const ContentHash& file) = 0;

  // Removes every block of `file` (of `size` bytes) and its complete mark.
  // Used when its bytes failed verification.
  virtual Status DropFile(const ContentHash& file, uint64_t size) = 0;

  // Records that `file`'s bytes failed verification. Until MarkComplete (or a
  // DropFile) clears it, the blocks stored for it since may come from the
  // same bad source, and no process should trust them unverified: even one
  // that starts after this one ends (FailedVerification).
  virtual Status MarkFailedVerification(const ContentHash& file) = 0;
  virtual Result<bool> FailedVerification(const ContentHash& file) = 0;

  virtual BlockStoreStats Stats() = 0;

  // Every file with a block or a record, in key order, read in one snapshot.
  // For the cache's maintenance commands: it visits every block's key.
  virtual Result<std::vector<StoredFile>> ListFiles() = 0;

  // Eviction hints; stores that never evict may ignore them (the defaults).
  //
  // Pin: `file` must not be evicted until a matching Unpin. Counted, so each
  // open handle pins on its own. In memory only: another process sharing the
  // cache may still evict it (a miss then, never wrong bytes).
  virtual void Pin(const ContentHash& file) {}
  virtual void Unpin(const ContentHash& file) {}
  // Records that `file` was just read, for least-recently-used eviction.
  // Cheap to call on every read: a store writes it at most once a minute per
  // file. PutBlock and MarkComplete count as use by themselves.
  virtual void Touch(const ContentHash& file) {}
  // Hints that block `index` of `file` will be read soon: a store on disk
  // starts reading it into the page cache, so that read does not wait on
  // the disk. Never waits for the I/O; an absent block is ignored.
  virtual void WillRead(const ContentHash& file, uint32_t index) {}
};

// MetaStore: small metadata that must survive a remount (resolved revisions,
// tree listings of commits, known repos), as opaque values under string keys.
// Shares the LMDB environment with the BlockStore.
class MetaStore {
 public:
  virtual ~MetaStore() = default;
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  // Every key that starts with `prefix`, in key order.
  virtual Result<std::vector<std::string>> KeysWithPrefix(std::string_view prefix) = 0;
  virtual Status Delete(std::string_view key) = 0;
};

struct CacheOptions {
  std::string directory;               // created 0700 if missing
  uint64_t max_bytes = 50ull << 30;    // LMDB map size: the quota
  uint32_t block_size = 1u << 20;
};

struct Cache {
  std::unique_ptr<BlockStore> blocks;
  std::unique_ptr<MetaStore> meta;
};

// Opens (creating if needed) the LMDB cache in options.directory.
Result<Cache> OpenLmdbCache(const CacheOptions& options);

// In-memory stores with the same contracts, for tests.
Cache NewMemoryCache(uint32_t block_size, uint64_t max_bytes = ~0ull);

}  // namespace hfm
