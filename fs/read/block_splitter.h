// BlockSplitter: the RangeSink of one ranged GET in the read path.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "fetch/hub_client.h"
#include "fs/read/buffer_pool.h"
#include "fs/read/filling_block.h"

namespace hfm {

// Splits a ranged GET's byte stream into blocks. Each block is shared as a
// FillingBlock as soon as its first bytes are due (`on_start`), reported as
// it fills (`on_progress`), and published once complete (`publish`), so a
// reader waits neither for the rest of the run nor for the rest of its block.
//
// Only while the GET runs cleanly: once an attempt fails and another takes
// over (a retry, a resume on another endpoint), blocks are no longer shared
// before they are complete (`on_falter` withdraws the one being filled). A
// server that cuts every connection after a few KiB then fails its readers
// within the read timeout, as it would without sharing, instead of feeding
// them a trickle of bytes one read at a time.
class BlockSplitter : public RangeSink {
 public:
  struct Callbacks {
    std::function<void(uint32_t index, const std::shared_ptr<FillingBlock>& block)> on_start;
    std::function<void()> on_progress;
    std::function<void(uint32_t index, std::shared_ptr<FillingBlock> block)> publish;
    std::function<void(const std::string& endpoint)> on_source;
    std::function<void(uint32_t index)> on_falter;
  };

  BlockSplitter(uint32_t first, uint32_t end, std::function<size_t(uint32_t)> length_of, Callbacks callbacks,
                BufferPool* pool)
      : pool_(pool), next_(first), end_(end), length_of_(std::move(length_of)), callbacks_(std::move(callbacks)) {
    StartBlock();
  }

  bool OnBytes(const char* data, size_t len) override {
    while (len > 0 && block_) {
      const size_t took = block_->Fill(data, len);
      data += took;
      len -= took;
      if (block_->full()) {
        callbacks_.publish(next_, std::move(block_));
        ++next_;
        StartBlock();
      } else {
        if (!faltered_) callbacks_.on_progress();
      }
    }
    // False only for bytes past the last block. Completing the last block
    // must not stop the transfer: an aborted transfer closes its connection,
    // and every GET would then pay a TCP handshake and slow start.
    return len == 0;
  }

  // Called as each attempt starts: from the second on, the GET has faltered.
  void OnSource(const std::string& endpoint) override {
    source_ = endpoint;
    callbacks_.on_source(endpoint);
    if (attempts_++ > 0 && !faltered_) {
      faltered_ = true;
      if (block_) callbacks_.on_falter(next_);
    }
  }

  uint32_t next() const { return next_; }
  size_t partial() const { return block_ ? block_->filled() : 0; }
  const std::string& source() const { return source_; }

 private:
  void StartBlock() {
    block_.reset();
    if (next_ >= end_) return;
    block_ = std::make_shared<FillingBlock>(length_of_(next_), pool_);
    if (!faltered_) callbacks_.on_start(next_, block_);
  }

  BufferPool* const pool_;
  uint32_t next_;
  const uint32_t end_;
  std::function<size_t(uint32_t)> length_of_;
  Callbacks callbacks_;
  std::string source_;
  int attempts_ = 0;
  bool faltered_ = false;
  std::shared_ptr<FillingBlock> block_;  // the block being filled; null past the end
};

}  // namespace hfm
