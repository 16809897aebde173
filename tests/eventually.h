// Eventually: waits for a condition that other threads (or the kernel) bring
// about and signal nothing a test could wait on. Shared by every layer's tests.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace hfm::testing {

// Polls `condition` until it holds; false after `limit`.
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
