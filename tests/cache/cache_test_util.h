// Helpers shared by the cache tests: a temporary directory removed afterwards,
// distinct content hashes, and block bytes that say which file and block they
// belong to, so a block served for the wrong key shows.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "cache/lmdb_cache.h"
#include "util/content_hash.h"

namespace hfm::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hfm-cache-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An LMDB cache in `directory` with `quota` and `block_size`, its last-access
// stamps from `clock`.
inline Result<Cache> OpenLmdbForTest(const std::string& directory, uint64_t quota, uint32_t block_size,
                                     Clock* clock) {
  CacheOptions o;
  o.directory = directory;
  o.max_bytes = quota;
  o.block_size = block_size;
  LmdbCacheTuning t;
  t.clock = clock;
  return OpenLmdbCache(o, t);
}

// Marks `file` complete under its current epoch: for tests whose blocks were
// all stored by the test itself, so nothing can have replaced them.
inline Status MarkCompleteAsStored(BlockStore& store, const ContentHash& file, uint64_t size) {
  auto epoch = store.FileEpoch(file);
  if (!epoch.ok()) return epoch.status();
  return store.MarkComplete(file, size, *epoch);
}

// A sha256 hash whose digest is all `fill` except the last byte, `last`; two
// hashes that differ only in `last` share a 32-byte key prefix.
inline ContentHash Sha256(uint8_t last, uint8_t fill = 0xab) {
  uint8_t d[32];
  for (auto& b : d) b = fill;
  d[31] = last;
  return ContentHash(ContentHash::Kind::kSha256, d);
}

inline ContentHash FileHash(int n) {
  uint8_t d[32] = {};
  for (int i = 0; i < 4; ++i) d[i] = static_cast<uint8_t>(n >> (24 - 8 * i));
  d[4] = 0x5a;
  return ContentHash(ContentHash::Kind::kSha256, d);
}

// `size` bytes that encode `file_tag` and `index` throughout.
inline std::string BlockBytes(uint32_t file_tag, uint32_t index, size_t size) {
  std::string out(size, '\0');
  uint64_t x = (uint64_t{file_tag} << 32 | index) * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
  return out;
}

}  // namespace hfm::testing
