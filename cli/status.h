// `hfmirror status`: every running hfmirror mount (from /proc/self/mountinfo),
// or the one named, as its /.hfmirror/stats.json tells it.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace hfm::cli {

// Mount points of fuse.hfmirror file systems in `mountinfo` (its text).
std::vector<std::string> HfmirrorMounts(const std::string& mountinfo);

// Prints each mount's endpoints and their health, bytes fetched and served,
// the cache hit ratio, open files and fetches in flight (or, with `json`,
// the stats files as one JSON array). Returns the exit status: 1 if a
// named mount is not an hfmirror mount or a stats file cannot be read.
int RunStatus(const std::string& mountpoint, bool json, std::FILE* out, std::FILE* err);

}  // namespace hfm::cli
