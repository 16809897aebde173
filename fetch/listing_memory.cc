#include "fetch/listing_memory.h"

#include <algorithm>
#include <utility>

#include "util/log.h"

namespace hfm {
namespace {

// glibc's malloc: 8 bytes of header, 16-byte granules, 32 bytes at least.
uint64_t HeapBlock(size_t bytes) { return std::max<uint64_t>(32, (bytes + 8 + 15) / 16 * 16); }

// The structs around one path at the peak of a listing's life: the
// TreeEntry in the listing (with up to 2x vector growth slack), its
// validation pass, and the snapshot entry plus its slot in its directory's
// child list. Checked against the real allocator by a test.
constexpr uint64_t kPerEntryOverhead = 256;
// std::string keeps up to 15 bytes inline.
constexpr size_t kInlinePathBytes = 15;

std::string Mib(uint64_t bytes) {
  if (bytes > 0 && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes > 0 && bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

uint64_t ListedPathFootprint(size_t path_bytes) {
  return kPerEntryOverhead + (path_bytes > kInlinePathBytes ? HeapBlock(path_bytes + 1) : 0);
}

uint64_t ListingMemory::used() const {
  MutexLock lock(&mu_);
  return used_;
}

bool ListingMemory::TryReserve(uint64_t bytes) {
  MutexLock lock(&mu_);
  if (bytes > limit_ - used_) return false;
  used_ += bytes;
  return true;
}

void ListingMemory::Release(uint64_t bytes) {
  MutexLock lock(&mu_);
  used_ -= std::min(bytes, used_);
}

ListingCharge::ListingCharge(ListingMemory* budget, uint64_t cap, std::string context)
    : budget_(budget), cap_(cap), context_(std::move(context)) {}

ListingCharge::ListingCharge(ListingCharge&& other) noexcept
    : budget_(other.budget_),
      cap_(other.cap_),
      context_(std::move(other.context_)),
      bytes_(std::exchange(other.bytes_, 0)),
      failed_(std::move(other.failed_)) {}

ListingCharge& ListingCharge::operator=(ListingCharge&& other) noexcept {
  if (this != &other) {
    ReleaseAll();
    budget_ = other.budget_;
    cap_ = other.cap_;
    context_ = std::move(other.context_);
    bytes_ = std::exchange(other.bytes_, 0);
    failed_ = std::move(other.failed_);
  }
  return *this;
}

Status ListingCharge::Add(uint64_t bytes) {
  if (!failed_.ok()) return failed_;
  if (bytes > cap_ - bytes_) {
    failed_ = Status::ResourceExhausted(context_ + ": listing needs more than its cap of " + Mib(cap_) +
                                        " of memory; refused");
  } else if (budget_ != nullptr && !budget_->TryReserve(bytes)) {
    failed_ = Status::ResourceExhausted(context_ + ": listings and snapshots would pass max_listing_memory=" +
                                        Mib(budget_->limit()) + "; refused");
  } else {
    bytes_ += bytes;
    return Status::Ok();
  }
  LogWarning(failed_.message());
  return failed_;
}

void ListingCharge::ReleaseAll() {
  if (budget_ != nullptr && bytes_ > 0) budget_->Release(bytes_);
  bytes_ = 0;
}

}  // namespace hfm
