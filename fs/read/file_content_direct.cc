// FileContent::ReadDirect: a read standing alone (a seek, a footer read)
// in a block nobody has fetched gets its own bytes from a GET of just them.
//
// The first such read in a block fetches nothing more: most blocks a random
// reader lands in once are never read again (the "one-hit wonders" CDNs
// keep out of their caches), and fetching and storing the whole block beside
// each read doubled its latency on two cores (the block's transfer and cache
// write compete with the next read: 200 random 64 KiB reads, median 0.79-0.94
// ms with the block, 0.32-0.53 ms without). A second read standing alone in
// the same block fetches the block for the cache, beside its own GET.
//
// Beside the block's GET, why at all: the block's GET delivers the block in
// order, so a reader wanting bytes near the block's end waited for most of
// the block first: half a block on average, 0.5 ms on loopback and 10 ms at
// 50 MB/s. A ranged GET of the read's bytes costs one round trip plus the
// bytes asked for.
//
// Only when it pays: with the block's GET running, bytes in the block's
// first quarter come from it about as soon; a read larger than a quarter
// block is not a small random read, and never in the last block, whose
// reads get the end-of-file verdict. Like every byte served before the
// file's hash is checked, these are not verified yet: the handle's
// verification round (fs/file_reads.cc) fails the reader later if the file
// fails.
#include <cstring>

#include "fs/read/content_registry.h"
#include "fs/read/file_content.h"

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

bool FileContent::ReadDirect(const FileLocation& location, uint64_t round, uint32_t index, uint64_t offset,
                             std::span<char> out, TimePoint deadline, bool block_follows) {
  const uint64_t in_block = offset - static_cast<uint64_t>(index) * block_size_;
  const uint64_t quarter = block_size_ / 4;
  if (out.size() > quarter || out.empty() || MustVerifyBeforeServing()) return false;
  // A first read's Schedule has not run: the block may be cached already.
  if (!LearnBlockStates(round, index, index)) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (blocks_[index] == BlockState::kPresent) return false;
    auto it = pending_.find(index);
    const bool fetching = it != pending_.end();
    // Its GET is done, or already past these bytes: no faster way.
    if (fetching &&
        (it->second->done || (it->second->filling && it->second->filling->filled() >= in_block + out.size()))) {
      return false;
    }
    if ((block_follows || fetching) && in_block < quarter) return false;
  }
  IntoBuffer sink(out);
  const Status st = registry_->hub()->FetchRange(location, offset, out.size(), &sink, deadline);
  if (!st.ok() || sink.got() != out.size()) return false;
  registry_->counters()->bytes_fetched.fetch_add(out.size(), std::memory_order_relaxed);
  registry_->counters()->direct_reads.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace hfm
