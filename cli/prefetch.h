// `hfmirror prefetch`: fills the cache with a repo's files (all, or those
// matching --include and not --exclude), parallel and verified, with or
// without a running mount on the same cache. Each file is read whole through
// an in-process HubFilesystem, so it is fetched, hashed and marked complete
// exactly as a read through the mount would do it.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "cli/cli_context.h"

namespace hfm::cli {

struct PrefetchRequest {
  std::string spec;                  // ORG/NAME[@REV], datasets/..., spaces/...
  std::vector<std::string> include;  // fnmatch on the path in the repo; empty: every file
  std::vector<std::string> exclude;
  int parallel = 4;                  // files at once
  // --lock FILE: the repo must be in it; its files are fetched at the locked
  // commit, and only when the listing they are verified against agrees with
  // the lock on every file's size and hash.
  std::string lock_file;
};

// Whether `path` is selected: it matches an include (or there is none) and
// no exclude. A '*' matches across '/', so "*.safetensors" finds them in
// folders too.
bool Selected(const std::string& path, const std::vector<std::string>& include,
              const std::vector<std::string>& exclude);

// Progress on `out` (redrawn in place when `tty`), failures on `err`.
// Returns the exit status: 0 when every selected file is complete in the
// cache, 1 otherwise (each failed file named with its error).
int RunPrefetch(CliContext& context, const PrefetchRequest& request, std::FILE* out, std::FILE* err, bool tty);

}  // namespace hfm::cli
