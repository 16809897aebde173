// RepoTree: a repo's entries at one revision, read through an in-process
// HubFilesystem (the same namespace as the mount: ORG/NAME@REV/PATH).
//
// Thread safety: as HubFilesystem (thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fs/tree/hub_filesystem.h"

namespace hfm::cli {

struct RepoEntry {
  std::string path;  // below the repo (or below the listed folder)
  bool is_dir = false;
  uint64_t size = 0;
  uint64_t ino = 0;  // for Open/Xattrs
};

// The inode of `path` ('/'-separated, below the mount root); NotFound with
// the path named when a component is missing.
Result<uint64_t> LookupPath(HubFilesystem& fs, const std::string& path);

// The entries of the folder at `path`: its children, or with `recursive`
// every file and folder below it (paths relative to `path`), sorted.
Result<std::vector<RepoEntry>> ListFolder(HubFilesystem& fs, const std::string& path, bool recursive);

}  // namespace hfm::cli
