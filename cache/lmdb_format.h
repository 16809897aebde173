// The block cache's on-disk format inside LMDB: key layouts and the "files"
// record. Internal to cache/.
//
// Blocks are keyed by the file's ContentHash key bytes (kind byte + digest, as
// ContentHash::ToKeyBytes()) followed by the block index in big-endian, so a
// file's blocks sort together and in index order and one cursor range covers
// exactly one file. Key bytes have a fixed length per kind and start with the
// kind, so no file's key is a prefix of another file's key.
//
// Keys are built in fixed buffers so the read path allocates nothing.
//
// Thread safety: values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/content_hash.h"

namespace hfm {

// Bumped whenever keys or records change meaning; a cache written in another
// format is refused rather than misread.
inline constexpr uint32_t kCacheFormatVersion = 1;

// ContentHash::ToKeyBytes() without the allocation.
class FileKey {
 public:
  explicit FileKey(const ContentHash& file);
  std::string_view view() const { return {bytes_, size_}; }

 private:
  char bytes_[1 + 32];
  size_t size_;
};

class BlockKey {
 public:
  BlockKey(const ContentHash& file, uint32_t index);
  std::string_view view() const { return {bytes_, size_}; }
  // The file part, for prefix scans.
  std::string_view file_prefix() const { return {bytes_, size_ - 4}; }

 private:
  char bytes_[1 + 32 + 4];
  size_t size_;
};

// The block index of `key` if it is a block key of the file whose key bytes
// are `file_prefix`; nullopt for another file's block.
std::optional<uint32_t> BlockIndexIfOwned(std::string_view key, std::string_view file_prefix);

// Value of the "files" DBI. Fixed size, little-endian, so it can be updated
// in place and read without parsing text.
struct FileRecord {
  uint64_t size = 0;        // meaningful once complete
  int64_t last_access = 0;  // Unix seconds: the LRU order for eviction
  bool complete = false;
  bool failed_verification = false;  // see BlockStore::MarkFailedVerification
  // BlockStore::FileEpoch: a fresh value from the directory's epoch counter
  // whenever the record is created or any of the file's blocks is deleted.
  // Stored in 56 bits that format 1 left reserved (zero): 0 reads as "legacy
  // record, no epoch yet", which PutBlock replaces and MarkComplete refuses.
  uint64_t epoch = 0;
};
inline constexpr uint64_t kMaxFileEpoch = (uint64_t{1} << 56) - 1;
inline constexpr size_t kFileRecordSize = 24;

std::string EncodeFileRecord(const FileRecord& record);
// nullopt if `bytes` is not a record of this format.
std::optional<FileRecord> DecodeFileRecord(std::string_view bytes);

// Number of blocks of a file of `size` bytes, and the length of block `index`.
uint64_t BlockCount(uint64_t size, uint32_t block_size);
uint64_t BlockLength(uint64_t size, uint32_t block_size, uint64_t index);

}  // namespace hfm
