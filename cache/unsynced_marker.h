// UnsyncedMarker: lets the next open of the cache tell a power loss (or OS
// crash) apart from a mere process crash. Internal to cache/.
//
// The LMDB environment runs with MDB_NOSYNC: a commit write()s its pages and
// returns, and a syncer flushes every few seconds. A kill -9 of the process
// loses nothing, because the kernel's page cache already holds every committed
// page. A power loss is different: the kernel may have flushed the new meta
// page but not the pages it points to (or a page freed and reused since the
// last sync), so LMDB's tree can be torn, not just shorter. The cache cannot
// trust such a file, so it must know whether it was ever in that state.
//
// While a process has commits that may not be on disk, it keeps a durable file
// "unsynced.<pid>" holding the boot id. At open, a marker written during an
// earlier boot means unsynced commits met a power loss or OS crash: the data
// file is wiped (it is a cache). A marker of a dead process from this boot
// means only the process died: a sync makes its commits durable and the marker
// goes. One host, one PID namespace per cache directory.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <string>
#include <vector>

#include "util/mutex.h"

namespace hfm {

// This boot's id (/proc/sys/kernel/random/boot_id), or "unknown" where the
// kernel has none, in which case every marker looks like this boot's.
std::string CurrentBootId();

// Markers left in `directory` by processes other than this one.
struct MarkerScan {
  std::vector<std::string> earlier_boot;    // paths: the data file is suspect
  std::vector<std::string> dead_this_boot;  // paths: sync, then remove
};
// REQUIRES: the caller holds the directory's open lock, so no other process
// creates or removes markers of earlier boots meanwhile.
MarkerScan ScanUnsyncedMarkers(const std::string& directory);

class UnsyncedMarker {
 public:
  explicit UnsyncedMarker(const std::string& directory);
  UnsyncedMarker(const UnsyncedMarker&) = delete;
  UnsyncedMarker& operator=(const UnsyncedMarker&) = delete;

  // Around every write transaction. BeginWrite makes the marker durable before
  // the first commit after a sync; it returns false if it could not, and then
  // the caller must sync right after committing.
  bool BeginWrite();
  void EndWrite();

  // For the syncer: true if anything was written since the last call. After a
  // successful sync, ClearIfIdle() removes the marker unless a write began or
  // ended since TakeDirty(), so a commit the sync may have missed keeps it.
  bool TakeDirty();
  void ClearIfIdle();

  const std::string& path() const { return path_; }

 private:
  bool CreateDurably();

  const std::string directory_;
  const std::string path_;
  const std::string boot_id_;
  Mutex mu_;
  bool present_ GUARDED_BY(mu_) = false;
  bool dirty_ GUARDED_BY(mu_) = false;
  int in_flight_ GUARDED_BY(mu_) = 0;
  bool warned_ GUARDED_BY(mu_) = false;
};

}  // namespace hfm
