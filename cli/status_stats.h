// One mount's /.hfmirror/stats.json as `hfmirror status` reads it: untrusted
// input, since any user can mount something as fuse.hfmirror. It is checked
// before use (size, nesting, shape, the type of every field shown) and every
// string is escaped before it reaches a terminal, so a hostile file gives a
// clear error line, never an abort or escape sequences.
//
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "util/status.h"

namespace hfm::cli {

// A stats file past this is refused unread to the end.
inline constexpr size_t kMaxStatsBytes = 1 << 20;
// Deeper nesting than this is refused before parsing.
inline constexpr int kMaxStatsDepth = 8;

// The stats file's text as a JSON object whose shown fields have their
// expected types; DataLoss saying what is wrong otherwise.
Result<nlohmann::json> ParseMountStats(std::string_view text);

// The status lines of a mount (REQUIRES: `stats` came from ParseMountStats),
// every string from the file or the mount point escaped.
std::string FormatMountStats(const std::string& mountpoint, const nlohmann::json& stats);

}  // namespace hfm::cli
