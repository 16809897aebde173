// Repo-relative paths we are willing to turn into file names and URLs. A path
// from a listing becomes a name under the mount point, so a hostile or broken
// listing must not be able to name anything outside the repo's tree, nor
// make later steps (parent synthesis, URL building) do unbounded work.
//
// Thread safety: pure function.
#pragma once

#include <cstddef>
#include <string_view>

namespace hfm {

constexpr size_t kMaxRepoPathBytes = 4096;     // PATH_MAX
constexpr size_t kMaxRepoPathSegmentBytes = 255;  // NAME_MAX
constexpr size_t kMaxRepoPathDepth = 128;      // bounds parent synthesis

// Why `path` is not a safe repo-relative path, or "" if it is. Unsafe:
// empty, absolute, an empty / "." / ".." segment (so no trailing '/'), a NUL
// byte, a segment over 255 bytes, over 4096 bytes in all, or over 128
// segments deep.
std::string_view RepoPathProblem(std::string_view path);

}  // namespace hfm
