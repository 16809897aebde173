// Helpers shared by the fs/ tests that drive HubFilesystem without a mount.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <thread>

#include "fs/tree/hub_filesystem.h"
#include "tests/eventually.h"

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

}  // namespace hfm::testing
