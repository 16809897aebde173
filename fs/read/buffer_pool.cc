#include "fs/read/buffer_pool.h"

#include <algorithm>

namespace hfm {

std::string BufferPool::Take(size_t capacity) {
  std::string buffer = TakeSized(0);
  if (buffer.capacity() < capacity) buffer.reserve(capacity);
  return buffer;
}

std::string BufferPool::TakeSized(size_t size) {
  std::string buffer;
  {
    MutexLock lock(&mu_);
    if (!idle_.empty()) {
      buffer = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (buffer.capacity() < buffer_size_) buffer.reserve(buffer_size_);
  buffer.resize(size);  // shrinking writes nothing; growing fills only the new part
  return buffer;
}

void BufferPool::Give(std::string buffer) {
  if (buffer.capacity() < buffer_size_ || buffer.capacity() > 2 * buffer_size_) return;
  MutexLock lock(&mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(buffer));
}

void BufferPool::Prewarm(size_t count) {
  std::vector<std::string> made;
  for (size_t i = 0; i < std::min(count, max_idle_); ++i) made.emplace_back(buffer_size_, '\0');
  MutexLock lock(&mu_);
  for (auto& b : made) {
    if (idle_.size() < max_idle_) idle_.push_back(std::move(b));
  }
}

size_t BufferPool::idle() {
  MutexLock lock(&mu_);
  return idle_.size();
}

}  // namespace hfm
