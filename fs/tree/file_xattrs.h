// FileXattrs: the extended attributes every file in the mount carries, so
// `getfattr -d -m user.hfmirror FILE` tells what a file is and how much of it
// this cache holds, without a tool of ours:
//
//   user.hfmirror.commit        the commit the file belongs to
//   user.hfmirror.sha256        an LFS file's sha256 (the Hub's etag), or
//   user.hfmirror.git_sha1      a regular file's git blob id
//   user.hfmirror.size          bytes
//   user.hfmirror.cached_bytes  bytes in the cache now
//   user.hfmirror.state         absent, partial or complete (verified)
//   user.hfmirror.endpoint      where its bytes came from in this mount
//                               (';'-separated), else the endpoint asked first
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/content_hash.h"

namespace hfm {

struct FileFacts {
  std::string commit;
  ContentHash hash;
  uint64_t size = 0;
  uint64_t cached_bytes = 0;
  bool complete = false;
  std::vector<std::string> endpoints;  // served its bytes; the first asked if none
};

// Every attribute, in the order above.
std::vector<std::pair<std::string, std::string>> FileXattrs(const FileFacts& facts);

// The names alone, as listxattr(2) wants them: each followed by a NUL.
std::string XattrNameList(const std::vector<std::pair<std::string, std::string>>& xattrs);

// The value of `name`, or nullopt if the file has no such attribute.
std::optional<std::string> FindXattr(const std::vector<std::pair<std::string, std::string>>& xattrs,
                                     std::string_view name);

}  // namespace hfm
