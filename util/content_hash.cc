#include "util/content_hash.h"

#include <openssl/evp.h>

#include <cstring>
#include <functional>

namespace hfm {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

ContentHash::ContentHash(Kind kind, const uint8_t* digest) : kind_(kind) {
  std::memcpy(digest_.data(), digest, size());
}

std::optional<ContentHash> ContentHash::FromHex(Kind kind, std::string_view hex) {
  const size_t want = kind == Kind::kSha256 ? 64 : 40;
  if (hex.size() != want) return std::nullopt;
  uint8_t bytes[32] = {};
  for (size_t i = 0; i < want; i += 2) {
    int hi = HexValue(hex[i]);
    int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes[i / 2] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return ContentHash(kind, bytes);
}

std::string ContentHash::ToHex() const {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size() * 2);
  for (size_t i = 0; i < size(); ++i) {
    out.push_back(kDigits[digest_[i] >> 4]);
    out.push_back(kDigits[digest_[i] & 0xf]);
  }
  return out;
}

std::string ContentHash::ToString() const {
  return std::string(kind_ == Kind::kSha256 ? "sha256:" : "sha1:") + ToHex();
}

std::string ContentHash::ToKeyBytes() const {
  std::string out(1, static_cast<char>(kind_));
  out.append(reinterpret_cast<const char*>(digest_.data()), size());
  return out;
}

std::optional<ContentHash> ContentHash::FromKeyBytes(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  const auto kind = static_cast<Kind>(static_cast<uint8_t>(bytes[0]));
  if (kind != Kind::kSha256 && kind != Kind::kGitSha1) return std::nullopt;
  const size_t want = kind == Kind::kSha256 ? 32 : 20;
  if (bytes.size() != 1 + want) return std::nullopt;
  return ContentHash(kind, reinterpret_cast<const uint8_t*>(bytes.data() + 1));
}

size_t ContentHashHasher::operator()(const ContentHash& h) const {
  // The digest is already uniformly distributed: its first bytes suffice.
  size_t v;
  std::memcpy(&v, h.data(), sizeof(v));
  return v ^ static_cast<size_t>(h.kind());
}

struct ContentHasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

ContentHasher::ContentHasher(ContentHash::Kind kind, uint64_t total_size)
    : impl_(std::make_unique<Impl>()), kind_(kind) {
  impl_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(impl_->ctx, kind == ContentHash::Kind::kSha256 ? EVP_sha256() : EVP_sha1(),
                    nullptr);
  if (kind == ContentHash::Kind::kGitSha1) {
    std::string header = "blob " + std::to_string(total_size);
    EVP_DigestUpdate(impl_->ctx, header.data(), header.size() + 1);  // includes the NUL
  }
}

ContentHasher::~ContentHasher() { EVP_MD_CTX_free(impl_->ctx); }

void ContentHasher::Update(const void* data, size_t len) {
  EVP_DigestUpdate(impl_->ctx, data, len);
  bytes_hashed_ += len;
}

ContentHash ContentHasher::Finish() {
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, digest, &len);
  return ContentHash(kind_, digest);
}

ContentHash HashBytes(ContentHash::Kind kind, std::string_view bytes) {
  ContentHasher hasher(kind, bytes.size());
  hasher.Update(bytes.data(), bytes.size());
  return hasher.Finish();
}

}  // namespace hfm
