// Content-Range header parsing (RFC 9110 section 14.4), to check that a 206
// answers the range that was asked for and that the file has the size the
// listing said:
//   "bytes 0-499/1234", "bytes 0-499/*", and "bytes */1234" (with a 416).
// Any input is safe: anything else parses as nullopt.
//
// Thread safety: pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace hfm {

struct ContentRange {
  bool unsatisfied = false;  // "bytes */total": no range, only the size
  uint64_t first = 0;        // inclusive; meaningful unless unsatisfied
  uint64_t last = 0;         // inclusive; first <= last
  std::optional<uint64_t> total;  // nullopt for "*" (size unknown)
};

// Returns nullopt unless `value` is well-formed: unit "bytes" (any case),
// decimal numbers only, first <= last, last < total when total is known, and
// "*/*" refused. Numbers above 2^62 are refused, so later sums cannot wrap.
std::optional<ContentRange> ParseContentRange(std::string_view value);

}  // namespace hfm
