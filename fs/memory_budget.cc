#include "fs/memory_budget.h"

namespace hfm {

bool MemoryBudget::TryReserve(uint64_t bytes) {
  uint64_t now = used_.load();
  do {
    if (now + bytes > limit_) return false;
  } while (!used_.compare_exchange_weak(now, now + bytes));
  NotePeak(now + bytes);
  return true;
}

void MemoryBudget::Reserve(uint64_t bytes) { NotePeak(used_.fetch_add(bytes) + bytes); }

void MemoryBudget::Release(uint64_t bytes) {
  used_.fetch_sub(bytes);
  if (listener_) listener_();
}

void MemoryBudget::NotePeak(uint64_t now_used) {
  uint64_t peak = peak_.load();
  while (now_used > peak && !peak_.compare_exchange_weak(peak, now_used)) {
  }
}

}  // namespace hfm
