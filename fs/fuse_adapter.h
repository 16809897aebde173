// FuseAdapter: the thin layer between libfuse's low-level API and
// HubFilesystem. It translates requests, maps Status to errno (errno_map.h)
// and replies exactly once per request, after every lock is released. Any
// request that would change the tree answers EROFS.
//
// Thread safety: libfuse calls the handlers from many threads at once.
#pragma once

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <atomic>

namespace hfm {

class HubFilesystem;

// The session's userdata. `fs` is set once the daemon has forked (threads and
// LMDB must be created after fork), before the session loop starts.
struct FuseContext {
  std::atomic<HubFilesystem*> fs{nullptr};
  unsigned max_read = 1u << 20;
};

// The handler table; pass a FuseContext* as userdata to fuse_session_new.
const fuse_lowlevel_ops& FuseOperations();

}  // namespace hfm
