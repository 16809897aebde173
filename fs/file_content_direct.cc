// FileContent::ReadDirect: a read standing alone (a seek, a footer read)
// in a block nobody has fetched gets its own bytes from a GET of just them,
// while the block's own GET (scheduled by Read, for the cache) runs beside it.
//
// Why: the block's GET delivers the block in order, so a reader wanting
// bytes near the block's end waited for most of the block first: half a
// block on average, 0.5 ms on loopback and 10 ms at 50 MB/s. A ranged GET
// of the read's bytes costs one round trip plus the bytes asked for.
//
// Only when it pays: bytes in the block's first quarter come from the
// block's GET about as soon, and a read larger than a quarter block is not
// a small random read. The bytes fetched per such read are then at most a
// block and a quarter, and bytes past the first quarter of a block are
// fetched twice at most. Like every byte served before the file's hash is
// checked, these are not verified yet: the handle's verification round
// (fs/file_reads.cc) fails the reader later if the file fails.
#include <cstring>

#include "fs/content_registry.h"
#include "fs/file_content.h"

namespace hfm {
namespace {

// Delivers a range into a caller's buffer.
class IntoBuffer : public RangeSink {
 public:
  explicit IntoBuffer(std::span<char> out) : out_(out) {}
  bool OnBytes(const char* data, size_t len) override {
    if (len > out_.size() - got_) return false;
    std::memcpy(out_.data() + got_, data, len);
    got_ += len;
    return true;
  }
  size_t got() const { return got_; }

 private:
  std::span<char> out_;
  size_t got_ = 0;
};

}  // namespace

bool FileContent::ReadDirect(const FileLocation& location, uint32_t index, uint64_t offset, std::span<char> out,
                             TimePoint deadline) {
  const uint64_t in_block = offset - static_cast<uint64_t>(index) * block_size_;
  const uint64_t quarter = block_size_ / 4;
  if (in_block < quarter || out.size() > quarter || out.empty() || MustVerifyBeforeServing()) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (blocks_[index] == BlockState::kPresent) return false;
    auto it = pending_.find(index);
    // Its GET is done, or already past these bytes: no faster way.
    if (it != pending_.end() &&
        (it->second->done || (it->second->filling && it->second->filling->filled() >= in_block + out.size()))) {
      return false;
    }
  }
  IntoBuffer sink(out);
  const Status st = registry_->hub()->FetchRange(location, offset, out.size(), &sink, deadline);
  if (!st.ok() || sink.got() != out.size()) return false;
  registry_->counters()->bytes_fetched.fetch_add(out.size(), std::memory_order_relaxed);
  registry_->counters()->direct_reads.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace hfm
