#include "fs/tree/file_xattrs.h"

#include <algorithm>

namespace hfm {

std::vector<std::pair<std::string, std::string>> FileXattrs(const FileFacts& f) {
  std::string endpoints;
  for (const auto& e : f.endpoints) endpoints += (endpoints.empty() ? "" : ";") + e;
  const bool lfs = f.hash.kind() == ContentHash::Kind::kSha256;
  // A complete file is all there even if the scan raced an eviction.
  const uint64_t cached = f.complete ? f.size : std::min(f.cached_bytes, f.size);
  const char* state = f.complete ? "complete" : cached > 0 ? "partial" : "absent";
  return {
      {"user.hfmirror.commit", f.commit},
      {lfs ? "user.hfmirror.sha256" : "user.hfmirror.git_sha1", f.hash.ToHex()},
      {"user.hfmirror.size", std::to_string(f.size)},
      {"user.hfmirror.cached_bytes", std::to_string(cached)},
      {"user.hfmirror.state", state},
      {"user.hfmirror.endpoint", endpoints},
  };
}

std::string XattrNameList(const std::vector<std::pair<std::string, std::string>>& xattrs) {
  std::string out;
  for (const auto& [name, value] : xattrs) {
    out += name;
    out.push_back('\0');
  }
  return out;
}

std::optional<std::string> FindXattr(const std::vector<std::pair<std::string, std::string>>& xattrs,
                                     std::string_view name) {
  for (const auto& [n, value] : xattrs) {
    if (n == name) return value;
  }
  return std::nullopt;
}

}  // namespace hfm
