#include "cache/lmdb_format.h"

#include <cstring>

namespace hfm {
namespace {

void PutLe64(char* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
}

uint64_t GetLe64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
  return v;
}

constexpr uint8_t kCompleteFlag = 1;
// Added after format 1 shipped, in a bit that was always 0: an older daemon
// reads such a record as it did, it only does not know the file is suspect.
constexpr uint8_t kFailedVerificationFlag = 2;

}  // namespace

FileKey::FileKey(const ContentHash& file) : size_(1 + file.size()) {
  bytes_[0] = static_cast<char>(file.kind());
  std::memcpy(bytes_ + 1, file.data(), file.size());
}

BlockKey::BlockKey(const ContentHash& file, uint32_t index) : size_(1 + file.size() + 4) {
  bytes_[0] = static_cast<char>(file.kind());
  std::memcpy(bytes_ + 1, file.data(), file.size());
  // Big-endian so LMDB's bytewise order is index order.
  char* p = bytes_ + 1 + file.size();
  p[0] = static_cast<char>(index >> 24);
  p[1] = static_cast<char>(index >> 16);
  p[2] = static_cast<char>(index >> 8);
  p[3] = static_cast<char>(index);
}

std::optional<uint32_t> BlockIndexIfOwned(std::string_view key, std::string_view file_prefix) {
  if (key.size() != file_prefix.size() + 4 || key.substr(0, file_prefix.size()) != file_prefix) {
    return std::nullopt;
  }
  const auto* p = reinterpret_cast<const uint8_t*>(key.data() + file_prefix.size());
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

std::string EncodeFileRecord(const FileRecord& record) {
  std::string out(kFileRecordSize, '\0');
  PutLe64(out.data(), record.size);
  PutLe64(out.data() + 8, static_cast<uint64_t>(record.last_access));
  out[16] = static_cast<char>((record.complete ? kCompleteFlag : 0) |
                              (record.failed_verification ? kFailedVerificationFlag : 0));
  // Bytes 17..23: the epoch, little-endian (reserved and zero before it).
  for (int i = 0; i < 7; ++i) out[17 + i] = static_cast<char>((record.epoch & kMaxFileEpoch) >> (8 * i));
  return out;
}

std::optional<FileRecord> DecodeFileRecord(std::string_view bytes) {
  if (bytes.size() != kFileRecordSize) return std::nullopt;
  FileRecord r;
  r.size = GetLe64(bytes.data());
  r.last_access = static_cast<int64_t>(GetLe64(bytes.data() + 8));
  r.complete = (static_cast<uint8_t>(bytes[16]) & kCompleteFlag) != 0;
  r.failed_verification = (static_cast<uint8_t>(bytes[16]) & kFailedVerificationFlag) != 0;
  for (int i = 0; i < 7; ++i) r.epoch |= uint64_t{static_cast<uint8_t>(bytes[17 + i])} << (8 * i);
  return r;
}

uint64_t BlockCount(uint64_t size, uint32_t block_size) {
  return size / block_size + (size % block_size != 0 ? 1 : 0);
}

uint64_t BlockLength(uint64_t size, uint32_t block_size, uint64_t index) {
  const uint64_t start = index * block_size;
  if (start >= size) return 0;
  return size - start < block_size ? size - start : block_size;
}

}  // namespace hfm
