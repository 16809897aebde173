#include "cache/pin_set.h"

#include "util/log.h"

namespace hfm {

void PinSet::Pin(const ContentHash& file) {
  MutexLock lock(&mu_);
  ++counts_[file];
}

void PinSet::Unpin(const ContentHash& file) {
  MutexLock lock(&mu_);
  auto it = counts_.find(file);
  if (it == counts_.end()) {
    LogWarning("cache: Unpin of " + file.ToString() + " which is not pinned");
    return;
  }
  if (--it->second == 0) counts_.erase(it);
}

bool PinSet::IsPinned(const ContentHash& file) const {
  MutexLock lock(&mu_);
  return counts_.count(file) != 0;
}

}  // namespace hfm
