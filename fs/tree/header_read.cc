// HubFilesystem::ReadHeader: a first read within a cold file's first block
// (the header of a safetensors, gguf or zip file) waits for that whole
// block, answers from it, and hands the kernel the rest of the block for its
// page cache.
//
// Why: a loader reads on from the header at once (safetensors: 8 bytes, then
// the header they announce, often most of the first MiB). Asked for page by
// page, the kernel's readahead ramps up over several requests, the last of
// which reaches into block 1; pages already cached are read without asking,
// so the header read costs one GET of one block (README, "Design notes: the
// read path").
//
// The pages stored are no more trusted than bytes a read returns: an open
// of a file not yet verified starts from a clean page cache (Open), and a
// file that fails verification has its pages dropped.
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "fs/tree/hub_filesystem.h"

namespace hfm {
namespace {

uint64_t PageSize() {
  static const uint64_t size = [] {
    const long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? static_cast<uint64_t>(page) : uint64_t{4096};
  }();
  return size;
}

}  // namespace

Result<size_t> HubFilesystem::ReadHeader(uint64_t ino, FileContent& content, const FileLocation& location,
                                         uint64_t offset, std::span<char> out, ReadaheadPlan plan) {
  const uint64_t block_end = std::min<uint64_t>(blocks_->block_size(), content.size());
  const uint64_t read_end = std::min<uint64_t>(offset + out.size(), content.size());
  // The kernel holds this read's own pages locked until the reply: storing
  // into them would wait for ourselves. Whole pages past it only.
  const uint64_t page = PageSize();
  const uint64_t store_from = (read_end + page - 1) / page * page;
  if (!store_pages_ || content.complete() || offset >= read_end || store_from >= block_end) {
    return content.Read(location, offset, out, plan);
  }
  // The next block is read ahead only once this one is in: both GETs at
  // once would share the connection's bandwidth (and here the one thread
  // that drives curl), and the reader waits for this one.
  std::string block = buffers_.TakeSized(static_cast<size_t>(block_end));
  auto n = content.Read(location, 0, std::span<char>(block.data(), block.size()), ReadaheadPlan{});
  if (!n.ok()) {
    buffers_.Give(std::move(block));
    return n.status();
  }
  const size_t got = *n;
  const size_t copied = offset < got ? std::min<size_t>(out.size(), got - offset) : 0;
  std::memcpy(out.data(), block.data() + offset, copied);
  if (got > store_from) {
    store_pages_(ino, store_from, std::span<const char>(block.data() + store_from, got - store_from));
  }
  buffers_.Give(std::move(block));
  if (plan.blocks > 0) content.ReadAhead(location, 1, plan.blocks);
  return copied;
}

}  // namespace hfm
