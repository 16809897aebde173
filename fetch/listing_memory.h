// ListingMemory and ListingCharge: tree listings and the snapshots built from
// them are measured in bytes of memory, not in entries, because a hostile
// listing can make one entry cost kilobytes (long paths) or imply thousands of
// parent directories. ListingMemory is the daemon-wide budget; a ListingCharge
// is what one listing (or one snapshot) holds of it, also bounded by its own
// per-listing cap. A charge that would pass either cap fails with
// ResourceExhausted (EIO at the mount) and logs one line naming the listing
// and the cap.
//
// Thread safety: ListingMemory is thread-safe. A ListingCharge belongs to one
// caller at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "util/mutex.h"
#include "util/status.h"

namespace hfm {

// Default daemon-wide budget: a 500k-file repo's snapshot (~200 B/entry) and
// the listing it is built from fit together, far below the 256 MiB a small
// server should expect a read-only mount to need at most.
constexpr uint64_t kDefaultListingMemory = uint64_t{128} << 20;
// Default cap of one listing: half the budget, so two listings in flight (or
// one listing and the snapshot being built from it) always fit.
constexpr uint64_t kDefaultListingCap = kDefaultListingMemory / 2;

// The bytes one listed path costs while a listing and its snapshot are held:
// the path's own heap block (with the allocator's header), plus a fixed
// overhead for the entry structs, the vector slack around them and the index
// that points at them. Measured against the allocator in
// tests/fetch/listing_memory_test.cc.
uint64_t ListedPathFootprint(size_t path_bytes);

class ListingMemory {
 public:
  explicit ListingMemory(uint64_t limit) : limit_(limit) {}
  ListingMemory(const ListingMemory&) = delete;
  ListingMemory& operator=(const ListingMemory&) = delete;

  uint64_t limit() const { return limit_; }
  uint64_t used() const EXCLUDES(mu_);
  // Takes `bytes` of the budget; false (and nothing taken) when that would
  // pass the limit.
  bool TryReserve(uint64_t bytes) EXCLUDES(mu_);
  void Release(uint64_t bytes) EXCLUDES(mu_);

 private:
  const uint64_t limit_;
  mutable Mutex mu_;
  uint64_t used_ GUARDED_BY(mu_) = 0;
};

class ListingCharge {
 public:
  // `budget` (borrowed, may be null: only `cap` applies) must outlive the
  // charge. `context` names the listing (repo, commit, endpoint) in errors.
  ListingCharge(ListingMemory* budget, uint64_t cap, std::string context);
  ListingCharge() : ListingCharge(nullptr, kDefaultListingCap, "listing") {}
  ~ListingCharge() { ReleaseAll(); }
  ListingCharge(ListingCharge&& other) noexcept;
  ListingCharge& operator=(ListingCharge&& other) noexcept;
  ListingCharge(const ListingCharge&) = delete;
  ListingCharge& operator=(const ListingCharge&) = delete;

  // Adds `bytes` to this charge. ResourceExhausted when the per-listing cap
  // or the daemon's budget would be passed; the first such failure is logged.
  // Once failed, every later Add fails too.
  Status Add(uint64_t bytes);
  Status AddPath(size_t path_bytes) { return Add(ListedPathFootprint(path_bytes)); }
  uint64_t bytes() const { return bytes_; }
  void ReleaseAll();

 private:
  ListingMemory* budget_;
  uint64_t cap_;
  std::string context_;
  uint64_t bytes_ = 0;
  Status failed_;
};

}  // namespace hfm
