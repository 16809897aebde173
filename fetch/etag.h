// ETag normalization. The Hub sends ETag and X-Linked-Etag quoted and
// sometimes weak (W/"..."); the value inside is the content hash (git sha1 or
// sha256) the listing also states.
//
// Thread safety: pure function.
#pragma once

#include <string>
#include <string_view>

namespace hfm {

// Strips surrounding whitespace, a leading "W/" (either case) and one pair of
// surrounding double quotes: `W/"abc"` -> `abc`, `"abc"` -> `abc`, `abc` -> `abc`.
std::string NormalizeEtag(std::string_view etag);

}  // namespace hfm
