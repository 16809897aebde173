// ContentHash: the identity of a file's bytes, as the Hub's listing states it.
// LFS files are named by the sha256 of their content (`lfs.oid`); regular git
// files by their git blob sha1 (`oid`), i.e. sha1("blob <size>\0" + content).
// The cache keys blocks by ContentHash, so equal content in two repos or
// revisions is fetched and stored once.
//
// ContentHasher computes either kind incrementally, in order, as bytes arrive.
//
// Thread safety: ContentHash is a value. A ContentHasher is used by one thread
// at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace hfm {

class ContentHash {
 public:
  enum class Kind : uint8_t { kGitSha1 = 1, kSha256 = 2 };

  ContentHash() = default;
  ContentHash(Kind kind, const uint8_t* digest);

  // Parses 40 (sha1) or 64 (sha256) hex characters, either case. Returns
  // nullopt for anything else, including the wrong length for `kind`.
  static std::optional<ContentHash> FromHex(Kind kind, std::string_view hex);

  Kind kind() const { return kind_; }
  size_t size() const { return kind_ == Kind::kSha256 ? 32 : 20; }
  const uint8_t* data() const { return digest_.data(); }
  std::string ToHex() const;  // lower case
  // "sha256:<hex>" or "sha1:<hex>", for log lines.
  std::string ToString() const;
  // A compact binary form (1 kind byte + digest): the cache's key prefix.
  std::string ToKeyBytes() const;
  static std::optional<ContentHash> FromKeyBytes(std::string_view bytes);

  bool operator==(const ContentHash& o) const {
    return kind_ == o.kind_ && digest_ == o.digest_;
  }
  bool operator!=(const ContentHash& o) const { return !(*this == o); }
  bool operator<(const ContentHash& o) const {
    return kind_ != o.kind_ ? kind_ < o.kind_ : digest_ < o.digest_;
  }

 private:
  Kind kind_ = Kind::kSha256;
  std::array<uint8_t, 32> digest_{};  // sha1 uses the first 20 bytes
};

struct ContentHashHasher {
  size_t operator()(const ContentHash& h) const;
};

// Incremental hasher that yields a ContentHash of the requested kind. For
// kGitSha1 the "blob <size>\0" header is fed first, so `total_size` must be the
// file's size.
class ContentHasher {
 public:
  ContentHasher(ContentHash::Kind kind, uint64_t total_size);
  ~ContentHasher();
  ContentHasher(const ContentHasher&) = delete;
  ContentHasher& operator=(const ContentHasher&) = delete;

  void Update(const void* data, size_t len);
  uint64_t bytes_hashed() const { return bytes_hashed_; }
  // Finishes the hash. The hasher may not be updated afterwards.
  ContentHash Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ContentHash::Kind kind_;
  uint64_t bytes_hashed_ = 0;
};

// Whole-buffer convenience (tests, small files).
ContentHash HashBytes(ContentHash::Kind kind, std::string_view bytes);

}  // namespace hfm
