// FuseAdapter: the thin layer between libfuse's low-level API and
// HubFilesystem. It translates requests, maps Status to errno (errno_map.h)
// and replies exactly once per request, after every lock is released. Any
// request that would change the tree answers EROFS.
//
// Thread safety: libfuse calls the handlers from many threads at once.
#pragma once

// 3.12: fuse_session_loop_mt() takes the opaque fuse_loop_config that
// fuse_loop_cfg_create() makes. Below it, the macro maps to the 3.2 entry
// point, which reads that struct as the old public one (clone_fd,
// max_idle_threads): our clone_fd=1 became max_idle_threads=1, and libfuse
// ended a worker thread after nearly every request and started another.
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <atomic>

namespace hfm {

class HubFilesystem;
class ReadDispatcher;

// The session's userdata. `fs` and `reads` are set once the daemon has forked
// (threads and LMDB must be created after fork), before the session loop
// starts. Reads go to `reads`, never blocking a FUSE worker on the network.
struct FuseContext {
  std::atomic<HubFilesystem*> fs{nullptr};
  std::atomic<ReadDispatcher*> reads{nullptr};
  unsigned max_read = 1u << 20;
};

// The handler table; pass a FuseContext* as userdata to fuse_session_new.
const fuse_lowlevel_ops& FuseOperations();

}  // namespace hfm
