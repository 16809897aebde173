#include "fs/read/content_registry.h"

namespace hfm {

void ContentRegistry::AddBackground(const std::shared_ptr<FileContent>& content) {
  MutexLock lock(&mu_);
  // Compared without lock(): a temporary that became the last reference would
  // destroy a FileContent (which releases budget and pumps) under mu_.
  for (const auto& weak : background_) {
    if (!weak.owner_before(content) && !content.owner_before(weak)) return;
  }
  background_.push_back(content);
}

size_t ContentRegistry::background_count() {
  MutexLock lock(&mu_);
  return background_.size();
}

void ContentRegistry::Shutdown() { shutting_down_ = true; }

void ContentRegistry::PumpBackground() {
  // Called after every budget release, from many threads: one thread pumps,
  // and a release that lands meanwhile makes it go round once more.
  pump_again_ = true;
  while (!shutting_down_) {
    if (pumping_.exchange(true)) return;  // the pumping thread sees pump_again_
    while (pump_again_.exchange(false) && !shutting_down_) {
      std::vector<std::shared_ptr<FileContent>> held, active;
      {
        MutexLock lock(&mu_);
        std::vector<std::weak_ptr<FileContent>> keep;
        for (auto& weak : background_) {
          auto content = weak.lock();
          if (!content) continue;
          if (content->background_active()) {
            keep.push_back(weak);
            active.push_back(content);
          }
          held.push_back(std::move(content));  // dropped outside mu_
        }
        background_ = std::move(keep);
      }
      // Oldest first: the file opened first finishes first.
      for (auto& content : active) content->PumpBackground();
    }
    pumping_ = false;
    if (!pump_again_.load()) return;
  }
}

std::shared_ptr<FileContent> ContentRegistry::Get(const ContentHash& hash, uint64_t size) {
  MutexLock lock(&mu_);
  auto it = live_.find(hash);
  if (it != live_.end()) {
    if (auto live = it->second.lock()) return live;
  }
  auto content = std::make_shared<FileContent>(
      hash, size, env_, this, [this](const std::shared_ptr<FileContent>& c) { AddBackground(c); },
      corrupt_.count(hash) > 0);
  live_[hash] = content;
  return content;
}

std::shared_ptr<FileContent> ContentRegistry::Find(const ContentHash& hash) {
  MutexLock lock(&mu_);
  auto it = live_.find(hash);
  return it == live_.end() ? nullptr : it->second.lock();
}

void ContentRegistry::OnMismatch(const ContentHash& hash) {
  {
    MutexLock lock(&mu_);
    corrupt_.insert(hash);
  }
  if (mismatch_listener_) mismatch_listener_(hash);
}

void ContentRegistry::SetMismatchListener(std::function<void(const ContentHash&)> listener) {
  mismatch_listener_ = std::move(listener);
}

void ContentRegistry::OnVerified(const ContentHash& hash) {
  MutexLock lock(&mu_);
  corrupt_.erase(hash);
}

}  // namespace hfm
