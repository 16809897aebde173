// ReadPathRig: the services of one mount's read path (ReadPathEnv) over a
// FakeHub and the in-memory cache, for tests that build the read path's
// units directly, without a HubFilesystem.
#pragma once

#include <future>
#include <memory>
#include <string>

#include "cache/block_store.h"
#include "fs/read/read_path_env.h"
#include "tests/fs/fake_hub.h"
#include "util/content_hash.h"

namespace hfm::testing {

class ReadPathRig {
 public:
  static constexpr uint32_t kBlock = 64 * 1024;
  static inline const std::string kCommit = std::string(40, 'c');

  explicit ReadPathRig(uint64_t max_memory = 32ull << 20)
      : cache(NewMemoryCache(kBlock)), budget(max_memory), buffers(kBlock, 8) {
    env.store = cache.blocks.get();
    env.hub = &hub;
    env.fetch_queue = &fetch_queue;
    env.urgent_queue = &urgent_queue;
    env.writer = &writer;
    env.hasher = &hasher;
    env.budget = &budget;
    env.buffers = &buffers;
    env.counters = &counters;
  }

  // Adds `bytes` as LFS file `path` of org/repo at kCommit; returns where it is.
  FileLocation AddFile(const std::string& path, const std::string& bytes, const std::string& served = "") {
    hub.AddCommit("org/repo", kCommit, {{path, FakeHub::File(bytes, true, served)}});
    RepoId repo;
    repo.name = "org/repo";
    return FileLocation{repo, kCommit, path, bytes.size(), true};
  }

  // Waits until every job queued so far on the writer and hasher has run.
  void Drain() {
    for (WorkQueue* queue : {&hasher, &writer, &hasher, &writer}) {
      std::promise<void> done;
      queue->Submit([&done] { done.set_value(); });
      done.get_future().wait();
    }
  }

  FakeHub hub;
  Cache cache;
  MemoryBudget budget;
  BufferPool buffers;
  MountCounters counters;
  // Declared after what their jobs use: destroyed (drained) first.
  WorkQueue writer{1};
  WorkQueue hasher{1};
  WorkQueue fetch_queue{4};
  WorkQueue urgent_queue{2};
  ReadPathEnv env;
};

}  // namespace hfm::testing
