#include "fs/read/memory_budget.h"

namespace hfm {

bool MemoryBudget::TryReserve(uint64_t bytes) {
  const uint64_t limit = this->limit();
  const uint64_t prefetch_limit = limit - limit / 4;
  uint64_t now = used_.load();
  do {
    if (now + bytes > prefetch_limit) return false;
  } while (!used_.compare_exchange_weak(now, now + bytes));
  NotePeak(now + bytes);
  return true;
}

void MemoryBudget::Reserve(uint64_t bytes) { NotePeak(used_.fetch_add(bytes) + bytes); }

void MemoryBudget::Release(uint64_t bytes) {
  const uint64_t before = used_.fetch_sub(bytes);
  const uint64_t limit = this->limit();
  if (before >= limit && before - bytes < limit) {
    // Taking the lock orders this notify after a waiter's check.
    { MutexLock lock(&room_mu_); }
    room_cv_.SignalAll();
  }
  if (listener_) listener_();
}

bool MemoryBudget::WaitForRoom(TimePoint deadline) {
  if (used_.load() < limit()) return true;
  MutexLock lock(&room_mu_);
  while (used_.load() >= limit()) {
    if (!clock_->WaitUntil(&room_cv_, &room_mu_, deadline)) return used_.load() < limit();
  }
  return true;
}

bool MemoryBudget::TryHoldAhead(uint64_t bytes) {
  const uint64_t ahead_limit = limit() / 4;
  uint64_t now = ahead_.load();
  do {
    if (now + bytes > ahead_limit) return false;
  } while (!ahead_.compare_exchange_weak(now, now + bytes));
  return true;
}

void MemoryBudget::ReleaseAhead(uint64_t bytes) { ahead_.fetch_sub(bytes); }

void MemoryBudget::SetInFlightTarget(uint64_t bytes) {
  // Prefetch may take limit - limit/4: at least `bytes` with this limit.
  const uint64_t want = std::clamp(bytes + (bytes + 2) / 3, start_, ceiling_);
  const uint64_t before = limit_.exchange(want, std::memory_order_relaxed);
  if (want > before) {
    // Readers waiting for room may have it now, as after a Release.
    { MutexLock lock(&room_mu_); }
    room_cv_.SignalAll();
    if (listener_) listener_();
  }
}

void MemoryBudget::NotePeak(uint64_t now_used) {
  uint64_t peak = peak_.load();
  while (now_used > peak && !peak_.compare_exchange_weak(peak, now_used)) {
  }
}

}  // namespace hfm
