// BlockSplitter: the RangeSink of one ranged GET in the read path.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "fetch/hub_client.h"
#include "fs/buffer_pool.h"

namespace hfm {

// Splits a ranged GET's byte stream into blocks and publishes each one as it
// completes, so a reader waiting on the first block of a run does not wait
// for the whole run.
class BlockSplitter : public RangeSink {
 public:
  using PublishFn = std::function<void(uint32_t, std::string)>;
  BlockSplitter(uint32_t first, uint32_t end, std::function<size_t(uint32_t)> length_of,
                PublishFn publish, std::function<void(const std::string&)> on_source, BufferPool* pool)
      : pool_(pool),
        next_(first),
        end_(end),
        length_of_(std::move(length_of)),
        publish_(std::move(publish)),
        on_source_(std::move(on_source)) {
    if (next_ < end_) buffer_ = pool_->Take();
  }
  ~BlockSplitter() { pool_->Give(std::move(buffer_)); }

  bool OnBytes(const char* data, size_t len) override {
    while (len > 0 && next_ < end_) {
      const size_t want = length_of_(next_) - buffer_.size();
      const size_t take = std::min(want, len);
      buffer_.append(data, take);
      data += take;
      len -= take;
      if (buffer_.size() == length_of_(next_)) {
        publish_(next_, std::move(buffer_));
        ++next_;
        buffer_ = next_ < end_ ? pool_->Take() : std::string();
      }
    }
    // False only for bytes past the last block. Completing the last block
    // must not stop the transfer: an aborted transfer closes its connection,
    // and every GET would then pay a TCP handshake and slow start.
    return len == 0;
  }

  void OnSource(const std::string& endpoint) override {
    source_ = endpoint;
    on_source_(endpoint);
  }

  uint32_t next() const { return next_; }
  size_t partial() const { return buffer_.size(); }
  const std::string& source() const { return source_; }

 private:
  BufferPool* const pool_;
  uint32_t next_;
  const uint32_t end_;
  std::function<size_t(uint32_t)> length_of_;
  PublishFn publish_;
  std::function<void(const std::string&)> on_source_;
  std::string source_;
  std::string buffer_;
};

}  // namespace hfm
