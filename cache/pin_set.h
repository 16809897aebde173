// PinSet: the files this process must not evict, with a count per file so
// that several open handles of one file pin it independently. Pins live in
// memory only: another process sharing the cache directory may evict a file
// this one has open, which costs a refetch, never wrong bytes (a miss is not
// an error, and a dropped file is no longer complete).
//
// Thread safety: thread-safe.
#pragma once

#include <unordered_map>

#include "util/content_hash.h"
#include "util/mutex.h"

namespace hfm {

class PinSet {
 public:
  void Pin(const ContentHash& file);
  // Unpinning a file that is not pinned is a caller bug: logged and ignored.
  void Unpin(const ContentHash& file);
  bool IsPinned(const ContentHash& file) const;

 private:
  mutable Mutex mu_;
  std::unordered_map<ContentHash, int, ContentHashHasher> counts_ GUARDED_BY(mu_);
};

}  // namespace hfm
