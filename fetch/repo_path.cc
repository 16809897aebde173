#include "fetch/repo_path.h"

namespace hfm {

std::string_view RepoPathProblem(std::string_view path) {
  if (path.empty()) return "empty path";
  if (path.size() > kMaxRepoPathBytes) return "path over 4096 bytes";
  if (path.front() == '/') return "absolute path";
  if (path.find('\0') != std::string_view::npos) return "NUL byte in path";
  size_t depth = 0;
  while (true) {
    const size_t slash = path.find('/');
    const std::string_view seg = path.substr(0, slash);
    if (seg.empty()) return "empty path segment";
    if (seg == "." || seg == "..") return "'.' or '..' path segment";
    if (seg.size() > kMaxRepoPathSegmentBytes) return "path segment over 255 bytes";
    if (++depth > kMaxRepoPathDepth) return "path over 128 segments deep";
    if (slash == std::string_view::npos) return {};
    path.remove_prefix(slash + 1);
  }
}

}  // namespace hfm
