// Link header (RFC 8288) parsing, for the tree listing's pagination:
//   Link: <https://hub/api/models/x/tree/c?recursive=true&cursor=XYZ>; rel="next"
//
// Several links may share one header, separated by commas; parameters follow
// each link after ';'; rel may be quoted or bare and may hold several
// space-separated relation types. Any input is safe: malformed parts are
// skipped, the work is linear in the header's length.
//
// Thread safety: pure function.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hfm {

// The URI-reference of the first link whose rel includes "next" (case
// insensitive), exactly as written between '<' and '>' (it may be relative).
// nullopt if there is none.
std::optional<std::string> ParseNextLink(std::string_view header);

}  // namespace hfm
