// ReadaheadWindow: how many blocks to fetch ahead of one open file's reads,
// adapting as the kernel's own readahead does.
//
// While the reader stays near where it was (the kernel issues readahead
// requests concurrently, so they arrive a little out of order: one block
// back or 16 ahead still counts), fetch ahead twice what this sequential run
// has read, up to a cap; on a real seek, nothing ahead, so random reads fetch
// only the blocks they touch. The window grows with the bytes read, not the
// requests: after a header read the kernel sends a burst of small requests
// (64, 128, 256 KiB...) that doubling per request had turned into the whole
// window at once. A first read fetches only its own blocks: on a cold file it
// waits for /resolve and one GET, and readahead GETs beside it would only
// compete with that one (a footer read). But a first read in the file's first
// block (the header of a safetensors, gguf or zip file) has exactly the next
// block read ahead: what comes after a header is read next (the kernel's own
// readahead straddles into block 1 within the first MiB). It is readahead,
// not demand: it never takes the threads kept for blocks readers wait on
// (eight readers on a trickling server had their own blocks wait behind
// each other's block 1 past the read deadline).
//
// On a far link (a LinkEstimator sizing GETs of several blocks) the window
// counts GETs where it counted blocks: twice the blocks read, times the GET
// size, up to what keeps fetch_threads GETs in flight. Doubling block by
// block, a reader at 100 ms took seconds of round trips to fill the link,
// and a window of 32 blocks would hold only a few GETs of 8.
//
// Thread safety: none; the owner serializes calls.
#pragma once

#include <algorithm>
#include <cstdint>

#include "fs/read/link_estimator.h"

namespace hfm {

// What to fetch past the end of one read.
struct ReadaheadPlan {
  uint32_t blocks = 0;
  // A first read within the file's first block: a header, read on from at
  // once (fs/header_read.cc). Its `blocks` are exact, not rounded up to
  // whole fetch groups.
  bool header = false;
  // A read that starts no sequential run (a seek, or a first read past the
  // first block): it stands alone (fs/file_content_direct.cc).
  bool alone = false;
};

class ReadaheadWindow {
 public:
  // `link` (borrowed, may be null) raises the cap on a far link.
  ReadaheadWindow(uint64_t block_size, uint32_t max_blocks, const LinkEstimator* link = nullptr)
      : block_(block_size), max_blocks_(max_blocks), link_(link) {}

  // A read of `size` bytes at `offset`: what to fetch past its end.
  ReadaheadPlan OnRead(uint64_t offset, uint64_t size) {
    const uint64_t back_slack = block_, forward_slack = 16 * block_;
    const bool sequential =
        has_read_ ? offset + back_slack >= next_offset_ && offset <= next_offset_ + forward_slack : offset == 0;
    // Bytes read, not the span covered: a jump forward within the slack
    // still counts as sequential but adds only what was read.
    run_bytes_ = sequential ? run_bytes_ + size : size;
    next_offset_ = sequential ? std::max(next_offset_, offset + size) : offset + size;
    const bool first = !has_read_;
    has_read_ = true;
    if (first && offset + size <= block_) return ReadaheadPlan{1, true, false};
    if (!sequential || first) return ReadaheadPlan{0, false, true};
    const uint32_t cap = std::max(max_blocks_, link_ ? link_->in_flight_blocks() : 0);
    const uint64_t per_block = link_ ? link_->fetch_blocks() : 1;
    return ReadaheadPlan{
        static_cast<uint32_t>(std::clamp<uint64_t>((2 * run_bytes_ + block_ - 1) / block_ * per_block, 1, cap)), false};
  }

 private:
  const uint64_t block_;
  const uint32_t max_blocks_;
  const LinkEstimator* const link_;
  bool has_read_ = false;
  uint64_t next_offset_ = 0;  // where a sequential reader reads next
  uint64_t run_bytes_ = 0;    // bytes read by the current sequential run
};

}  // namespace hfm
