// SignedUrlCache: the pre-signed CDN URL that /resolve redirected to, per
// (repo, commit, path), so later ranges of the same file go straight to the
// CDN instead of spending one /resolve each (they count against the Hub's
// rate limit). Bounded: least recently used entries go first, and an entry
// older than max_age is dropped (signed URLs expire, about an hour on the Hub).
//
// Values are credentials: callers must never log them whole (StripQuery).
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/clock.h"
#include "util/mutex.h"

namespace hfm {

class SignedUrlCache {
 public:
  // `clock` is borrowed and must outlive the cache.
  SignedUrlCache(size_t capacity, Duration max_age, const Clock* clock);
  SignedUrlCache(const SignedUrlCache&) = delete;
  SignedUrlCache& operator=(const SignedUrlCache&) = delete;

  std::optional<std::string> Get(const std::string& key);
  void Put(const std::string& key, std::string url);
  // Removes `key` only if it still maps to `url`: another thread may have
  // stored a fresh URL since this one failed.
  void Erase(const std::string& key, const std::string& url);
  size_t size() const;

 private:
  struct Entry {
    std::string key;
    std::string url;
    TimePoint stored;
  };
  using List = std::list<Entry>;  // front = most recently used

  const size_t capacity_;
  const Duration max_age_;
  const Clock* const clock_;
  mutable Mutex mu_;
  List lru_ GUARDED_BY(mu_);
  std::unordered_map<std::string, List::iterator> index_ GUARDED_BY(mu_);
};

}  // namespace hfm
