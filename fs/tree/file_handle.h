// HubFilesystem::FileHandle: one open file's state (private to fs/, shared
// by hub_filesystem.cc, which owns the table of handles, and file_reads.cc,
// which serves them).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "fs/tree/hub_filesystem.h"
#include "fs/read/readahead_window.h"
#include "util/mutex.h"

namespace hfm {

struct HubFilesystem::FileHandle {
  FileHandle(uint64_t block_size, uint32_t max_readahead_blocks, const LinkEstimator* link)
      : readahead(block_size, max_readahead_blocks, link) {}

  std::shared_ptr<const Node> node;
  uint64_t ino = 0;
  // A small file made up by the mount (a ref of the HF cache view, a
  // control file): its bytes, served from memory; `content` is then null.
  std::optional<std::string> inline_bytes;
  std::shared_ptr<FileContent> content;
  FileLocation location;
  Mutex mu;
  // Set once this handle served bytes not yet verified: the verification
  // round they came from. If that round fails, the handle's reader may hold
  // wrong bytes (the kernel can turn our EIO into a short read and come back
  // for the rest), so every later read on it fails too.
  std::optional<uint64_t> unverified_round GUARDED_BY(mu);
  ReadaheadWindow readahead GUARDED_BY(mu);
  // A weight file's whole-file background fetch starts once a read on this
  // handle goes past the header zone: a loader reads the header first
  // (safetensors: 8 bytes, then the header), and those reads should not
  // share the CPU and network with the budget's worth of prefetch.
  bool wants_background GUARDED_BY(mu) = false;
  bool background GUARDED_BY(mu) = false;  // started; stopped at release
};

}  // namespace hfm
