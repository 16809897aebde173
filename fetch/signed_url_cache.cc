#include "fetch/signed_url_cache.h"

#include <utility>

namespace hfm {

SignedUrlCache::SignedUrlCache(size_t capacity, Duration max_age, const Clock* clock)
    : capacity_(capacity == 0 ? 1 : capacity), max_age_(max_age), clock_(clock) {}

std::optional<std::string> SignedUrlCache::Get(const std::string& key) {
  MutexLock lock(&mu_);
  const auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (clock_->Now() - it->second->stored >= max_age_) {
    lru_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->url;
}

void SignedUrlCache::Put(const std::string& key, std::string url) {
  MutexLock lock(&mu_);
  const auto it = index_.find(key);
  if (it != index_.end()) {
    it->second->url = std::move(url);
    it->second->stored = clock_->Now();
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(Entry{key, std::move(url), clock_->Now()});
  index_.emplace(key, lru_.begin());
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

void SignedUrlCache::Erase(const std::string& key, const std::string& url) {
  MutexLock lock(&mu_);
  const auto it = index_.find(key);
  if (it == index_.end() || it->second->url != url) return;
  lru_.erase(it->second);
  index_.erase(it);
}

size_t SignedUrlCache::size() const {
  MutexLock lock(&mu_);
  return lru_.size();
}

}  // namespace hfm
