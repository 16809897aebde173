// The cache directory's safety checks: the cache may be opened by root (a
// system mount, `hfmirror cache stats`) on a directory an unprivileged user
// can reach, and must never let that user steer root's writes elsewhere.
// Internal to cache/.
//
// Thread safety: stateless functions.
#pragma once

#include <sys/types.h>

#include <string>

#include "util/status.h"

namespace hfm {

// Creates `dir` (mode 0700, parents as needed) if missing, then refuses it
// (PermissionDenied, with what to fix) unless it is a real directory (not a
// symlink), owned by the running user or root, and not writable by group or
// others. `*owner` receives its owner.
Status PrepareCacheDirectory(const std::string& dir, uid_t* owner);

// Refuses LMDB's files in `dir` (data.mdb, lock.mdb) that exist and are not
// plain files owned by `owner` with one link. LMDB opens them by name and
// follows symlinks; PrepareCacheDirectory made sure nobody but `owner` (and
// root) can add or replace entries in `dir`, so what this sees is what LMDB
// opens.
Status CheckLmdbFiles(const std::string& dir, uid_t owner);

// open(2) of a file in the cache directory: never follows a symlink, never
// leaks into a child process.
int OpenInCacheDirectory(const std::string& path, int flags, mode_t mode = 0600);

}  // namespace hfm
