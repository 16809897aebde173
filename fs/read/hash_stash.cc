#include "fs/read/hash_stash.h"

namespace hfm {

bool HashStash::Add(uint32_t index, std::shared_ptr<const std::string> data) {
  if (blocks_.count(index) || !budget_->TryHoldAhead(data->size())) return false;
  bytes_ += data->size();
  blocks_.emplace(index, std::move(data));
  return true;
}

std::shared_ptr<const std::string> HashStash::Take(uint32_t index) {
  auto it = blocks_.find(index);
  if (it == blocks_.end()) return nullptr;
  std::shared_ptr<const std::string> data = std::move(it->second);
  blocks_.erase(it);
  bytes_ -= data->size();
  budget_->ReleaseAhead(data->size());
  return data;
}

void HashStash::Clear() {
  blocks_.clear();
  if (bytes_) budget_->ReleaseAhead(bytes_);
  bytes_ = 0;
}

}  // namespace hfm
