// BufferPool: block-sized byte buffers kept for reuse. Every fetched block,
// and every reply to a large read, needs a 1 MiB buffer for a moment; taken
// fresh from malloc each time, glibc serves them from per-thread arenas that
// keep freed memory (a buffer filled on the network thread is freed on the
// cache writer or a FUSE thread), and the daemon's resident set grew to
// hundreds of MiB while streaming (scripts/bench target 8). Reusing a few
// buffers keeps it to what is in use, and skips the page faults of fresh ones.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "util/mutex.h"

namespace hfm {

class BufferPool {
 public:
  // Keeps at most `max_idle` buffers of `buffer_size` bytes between uses.
  BufferPool(size_t buffer_size, size_t max_idle) : buffer_size_(buffer_size), max_idle_(max_idle) {}
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // An empty string with capacity for at least max(`capacity`, buffer_size)
  // bytes; its pages are not touched here.
  std::string Take(size_t capacity = 0);
  // A string of `size` bytes (at most buffer_size) of unspecified content,
  // to be overwritten: a reused buffer is not zero-filled again.
  std::string TakeSized(size_t size);
  // Returns a buffer (any size; only full-sized ones are kept).
  void Give(std::string buffer);
  // Makes `count` idle buffers (at most max_idle) with every page touched:
  // a fresh page costs a fault, which the first reads after a mount would
  // otherwise pay on their critical path (README, "Design notes: the read
  // path").
  void Prewarm(size_t count);

  size_t buffer_size() const { return buffer_size_; }
  size_t idle();

 private:
  const size_t buffer_size_;
  const size_t max_idle_;
  Mutex mu_;
  std::vector<std::string> idle_ GUARDED_BY(mu_);
};

}  // namespace hfm
