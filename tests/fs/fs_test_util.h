// Helpers shared by the fs/ tests that drive HubFilesystem without a mount.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <thread>

#include "fs/hub_filesystem.h"

namespace hfm::testing {

// `n` pseudo-random bytes, the same for the same seed.
inline std::string Pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  std::mt19937 rng(seed);
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Walks a '/'-separated path from the root; returns the inode or 0.
inline uint64_t WalkPath(HubFilesystem& fs, const std::string& path) {
  uint64_t ino = kRootInode;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    auto e = fs.Lookup(ino, path.substr(start, end - start));
    if (!e.ok() || e->attr.ino == 0) return 0;
    ino = e->attr.ino;
    start = end + 1;
  }
  return ino;
}

// Waits for a condition the daemon's own threads bring about (polling: they
// signal nothing a test could wait on); false after `limit`.
inline bool Eventually(const std::function<bool()>& condition,
                       std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace hfm::testing
