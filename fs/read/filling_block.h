// FillingBlock: one block's bytes, shared from the moment its GET starts
// receiving them. The GET appends; a reader waiting for bytes early in the
// block copies them as soon as they are in, instead of waiting for the whole
// block (a 64 KiB read waits on average for half a block less; a header read
// at offset 0 for the first few KiB only). Once complete, the same buffer is
// what the cache writer stores and the hasher hashes: no copy.
//
// The buffer has room for the whole block from the start and never moves, so
// readers copy from data() while the GET appends further on. Bytes below filled() are
// final: an attempt that resumes on another endpoint appends after them.
//
// Thread safety: one thread fills; any thread may read below filled().
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>

#include "fs/read/buffer_pool.h"
#include "fs/read/memory_budget.h"

namespace hfm {

class FillingBlock {
 public:
  // `length` bytes, in a buffer from `pool` that goes back to it at the end.
  // The buffer starts empty with room for them: zero-filling a fresh one up
  // front would fault in all its pages before the first byte could arrive.
  FillingBlock(size_t length, BufferPool* pool)
      : pool_(pool), bytes_(pool->Take(length)), base_(bytes_.data()), length_(length) {}
  ~FillingBlock() {
    pool_->Give(std::move(bytes_));
    if (charged_) budget_->Release(charged_);
  }
  FillingBlock(const FillingBlock&) = delete;
  FillingBlock& operator=(const FillingBlock&) = delete;

  const char* data() const { return base_; }
  size_t length() const { return length_; }
  bool full() const { return filled() == length_; }
  // Bytes in so far; those below are final and may be read.
  size_t filled() const { return filled_.load(std::memory_order_acquire); }

  // Appends up to the block's end; returns how many bytes it took.
  size_t Fill(const char* data, size_t len) {
    const size_t at = filled_.load(std::memory_order_relaxed);
    const size_t take = std::min(len, length_ - at);
    // Within the reserved capacity: appending never moves base_, which is
    // all readers touch.
    bytes_.append(data, take);
    filled_.store(at + take, std::memory_order_release);
    return take;
  }

  // The whole block, once full().
  const std::string& bytes() const { return bytes_; }

  // From now on these bytes hold `bytes` of `budget`, released when the
  // last user lets go. Once, by the thread that publishes the full block.
  void Charge(MemoryBudget* budget, uint64_t bytes) {
    budget_ = budget;
    charged_ = bytes;
  }

 private:
  BufferPool* const pool_;
  std::string bytes_;  // written by the filling thread only
  const char* const base_;
  const size_t length_;
  std::atomic<size_t> filled_{0};
  MemoryBudget* budget_ = nullptr;
  uint64_t charged_ = 0;
};

}  // namespace hfm
