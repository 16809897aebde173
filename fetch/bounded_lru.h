// BoundedLru<V>: a string-keyed map that forgets. At most `capacity` entries
// (the least recently used go first) and none older than `max_age`, so memory
// of per-file or per-commit facts ("this mirror lags for that commit") stays
// bounded and goes stale on its own.
//
// Thread safety: none; the owner locks (MirrorSet holds its mutex).
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "util/clock.h"

namespace hfm {

template <typename V>
class BoundedLru {
 public:
  // `clock` is borrowed. A zero max_age means entries never expire.
  BoundedLru(size_t capacity, Duration max_age, const Clock* clock)
      : capacity_(capacity == 0 ? 1 : capacity), max_age_(max_age), clock_(clock) {}

  // The value under `key`, marked as recently used; nullopt when absent or
  // expired.
  std::optional<V> Get(const std::string& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    if (max_age_ > Duration::zero() && clock_->Now() - it->second->stored >= max_age_) {
      lru_.erase(it->second);
      index_.erase(it);
      return std::nullopt;
    }
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->value;
  }

  // Stores `value` under `key` with a fresh age.
  void Put(const std::string& key, V value) {
    const auto it = index_.find(key);
    if (it != index_.end()) {
      it->second->value = std::move(value);
      it->second->stored = clock_->Now();
      lru_.splice(lru_.begin(), lru_, it->second);
      return;
    }
    lru_.push_front(Entry{key, std::move(value), clock_->Now()});
    index_.emplace(key, lru_.begin());
    while (lru_.size() > capacity_) {
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
  }

  void Erase(const std::string& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return;
    lru_.erase(it->second);
    index_.erase(it);
  }

  size_t size() const { return lru_.size(); }

 private:
  struct Entry {
    std::string key;
    V value;
    TimePoint stored;
  };
  using List = std::list<Entry>;  // front = most recently used

  const size_t capacity_;
  const Duration max_age_;
  const Clock* const clock_;
  List lru_;
  std::unordered_map<std::string, typename List::iterator> index_;
};

}  // namespace hfm
