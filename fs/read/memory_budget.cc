#include "fs/read/memory_budget.h"

namespace hfm {

bool MemoryBudget::TryReserve(uint64_t bytes) {
  uint64_t now = used_.load();
  do {
    if (now + bytes > prefetch_limit_) return false;
  } while (!used_.compare_exchange_weak(now, now + bytes));
  NotePeak(now + bytes);
  return true;
}

void MemoryBudget::Reserve(uint64_t bytes) { NotePeak(used_.fetch_add(bytes) + bytes); }

void MemoryBudget::Release(uint64_t bytes) {
  const uint64_t before = used_.fetch_sub(bytes);
  if (before >= limit_ && before - bytes < limit_) {
    // Taking the lock orders this notify after a waiter's check.
    { MutexLock lock(&room_mu_); }
    room_cv_.SignalAll();
  }
  if (listener_) listener_();
}

bool MemoryBudget::WaitForRoom(TimePoint deadline) {
  if (used_.load() < limit_) return true;
  MutexLock lock(&room_mu_);
  while (used_.load() >= limit_) {
    if (!clock_->WaitUntil(&room_cv_, &room_mu_, deadline)) return used_.load() < limit_;
  }
  return true;
}

bool MemoryBudget::TryHoldAhead(uint64_t bytes) {
  uint64_t now = ahead_.load();
  do {
    if (now + bytes > ahead_limit_) return false;
  } while (!ahead_.compare_exchange_weak(now, now + bytes));
  return true;
}

void MemoryBudget::ReleaseAhead(uint64_t bytes) { ahead_.fetch_sub(bytes); }

void MemoryBudget::NotePeak(uint64_t now_used) {
  uint64_t peak = peak_.load();
  while (now_used > peak && !peak_.compare_exchange_weak(peak, now_used)) {
  }
}

}  // namespace hfm
