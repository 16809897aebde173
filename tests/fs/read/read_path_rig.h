// ReadPathRig: the services of one mount's read path (ReadPathEnv) over a
// FakeHub and the in-memory cache, for tests that build the read path's
// units directly, without a HubFilesystem.
#pragma once

#include <future>
#include <memory>
#include <string>

#include "cache/block_store.h"
#include "fs/read/content_reader.h"
#include "fs/read/content_verifier.h"
#include "fs/read/fetch_scheduler.h"
#include "fs/read/read_path_env.h"
#include "tests/fs/fake_hub.h"
#include "util/content_hash.h"

namespace hfm::testing {

class ReadPathRig {
 public:
  static constexpr uint32_t kBlock = 64 * 1024;
  static inline const std::string kCommit = std::string(40, 'c');

  // `max_memory`: the budget's ceiling; `start_memory`: its working limit
  // until a LinkEstimator (env.link) asks for more.
  explicit ReadPathRig(uint64_t max_memory = 32ull << 20, uint64_t start_memory = MemoryBudget::kStartBytes)
      : cache(NewMemoryCache(kBlock)), budget(max_memory, SystemClock(), start_memory), buffers(kBlock, 8) {
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

// The scheduler, verifier and reader of one file, wired as FileContent wires
// them (published blocks go to the verifier on the hasher's thread); queued
// jobs hold the struct, so make it with std::make_shared.
struct WiredUnits : std::enable_shared_from_this<WiredUnits> {
  WiredUnits(ReadPathRig& rig, const ContentHash& hash, uint64_t size, VerdictListener* verdicts)
      : scheduler(hash, size, rig.env, [this] { return Hold(); },
                  [this, &rig](const FileLocation& location, uint64_t round, uint32_t index,
                               std::shared_ptr<const std::string> bytes) {
                    rig.hasher.Submit([this, hold = Hold(), location, round, index, bytes] {
                      verifier.AdvanceHash(&location, round, index, bytes);
                    });
                  }),
        verifier(hash, size, &scheduler, rig.env, verdicts, [this] { return Hold(); }, /*must_verify=*/false),
        reader(hash, size, &scheduler, &verifier, rig.env) {}
  std::shared_ptr<const void> Hold() { return shared_from_this(); }
  FetchScheduler scheduler;
  ContentVerifier verifier;
  ContentReader reader;
};

}  // namespace hfm::testing
