// BlockFetch: one block's fetch in flight, as FetchScheduler shares it with
// the readers waiting for it. A reader that holds one gets its answer even
// if the scheduler has forgotten the fetch by the time the reader looks.
//
// Thread safety: every field is read and written under the owning
// FetchScheduler's mutex; `started` is set before the fetch is shared.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "fs/read/filling_block.h"
#include "util/clock.h"
#include "util/status.h"

namespace hfm {

struct BlockFetch {
  uint64_t round = 0;     // the verification round that asked for it
  TimePoint started;      // when it was scheduled
  bool done = false;      // published, or failed with `status`
  uint64_t reserved = 0;  // bytes held against the memory budget until published
  Status status;
  std::shared_ptr<const std::string> data;  // the whole block, once published
  // The block while its GET fills it: readers whose bytes are in already
  // copy them from here before the block is done.
  std::shared_ptr<FillingBlock> filling;
};

}  // namespace hfm
