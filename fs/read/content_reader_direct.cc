// ContentReader::ReadDirect: a read standing alone (a seek, a footer read)
// in a block nobody has fetched gets its own bytes from a GET of just them.
//
// The first such read in a block fetches nothing more: most blocks a random
// reader lands in once are never read again (the "one-hit wonders" CDNs keep
// out of their caches), and fetching and storing the whole block beside each
// read competes with the next read for the CPU and the link. A second read
// standing alone in the same block fetches the block for the cache, beside
// its own GET.
//
// Beside the block's GET, because that GET delivers the block in order: a
// reader wanting bytes near the block's end would wait for most of the
// block first, where a ranged GET of its bytes costs one round trip plus
// the bytes asked for. Only when it pays: with the block's GET running,
// bytes in the block's first quarter come from it about as soon; a read
// larger than a quarter block is not a small random read; and never in the
// last block, whose reads get the end-of-file verdict. Like every byte
// served before the file's hash is checked, these are not verified yet: the
// handle's verification round (fs/tree/file_reads.cc) fails the reader
// later if the file fails. README, "Design notes: the read path", has the
// measurements.
#include <cstring>

#include "fs/read/content_reader.h"

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

bool ContentReader::ReadDirect(const FileLocation& location, uint64_t round, uint32_t index, uint64_t offset,
                               std::span<char> out, TimePoint deadline, bool block_follows) {
  const uint32_t block_size = scheduler_->block_size();
  const uint64_t in_block = offset - static_cast<uint64_t>(index) * block_size;
  const uint64_t quarter = block_size / 4;
  if (out.size() > quarter || out.empty() || verifier_->MustVerifyBeforeServing()) return false;
  // A first read's Schedule has not run: the block may be cached already.
  if (!scheduler_->LearnBlockStates(round, index, index)) return false;
  const FetchScheduler::BlockView block = scheduler_->View(index, in_block, out.size());
  // Cached, or its GET is done or already past these bytes: no faster way.
  if (block.stored || block.has_bytes) return false;
  if ((block_follows || block.fetching) && in_block < quarter) return false;
  IntoBuffer sink(out);
  const Status st = env_.hub->FetchRange(location, offset, out.size(), &sink, deadline);
  if (!st.ok() || sink.got() != out.size()) return false;
  env_.counters->bytes_fetched.fetch_add(out.size(), std::memory_order_relaxed);
  env_.counters->direct_reads.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace hfm
