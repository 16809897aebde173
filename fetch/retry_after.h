// How long a server asked us to stay away: the `Retry-After` header (RFC 9110
// section 10.2.3) and the IETF `RateLimit` header the Hub sends on 429
// (draft-ietf-httpapi-ratelimit-headers):
//   Retry-After: 120
//   Retry-After: Sun, 06 Nov 1994 08:49:37 GMT
//   RateLimit: "api";r=0;t=42
//   RateLimit: "api";r=0;t=42, "resolvers";r=12;t=100   (several policies)
//   RateLimit: limit=500, remaining=0, reset=42          (older drafts)
//
// The values come from the network, so any byte string is safe to pass (no
// crash, no exception, work linear in its length) and every answer is capped
// at kMaxServerWait: a server cannot park a reader for an hour.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "fetch/http_transport.h"
#include "util/clock.h"

namespace hfm {

// The longest wait any server header can ask for.
inline constexpr Duration kMaxServerWait = std::chrono::minutes(10);

// Retry-After as delta-seconds ("120") or an HTTP-date (IMF-fixdate, RFC 850
// or asctime form, GMT). `now_wall_seconds` is the current Unix time, to turn
// a date into a wait; a date in the past is a zero wait. nullopt when the
// value is neither form.
std::optional<Duration> ParseRetryAfter(std::string_view value, int64_t now_wall_seconds);

// The RateLimit header's wait: among the policies (comma-separated, each
// `name;r=<remaining>;t=<seconds>`), the largest t of those with r=0 (all of
// them must reset before a request can pass), else the smallest t. Policies
// without a usable t are ignored; nullopt when none is left.
std::optional<Duration> ParseRateLimit(std::string_view value);

// The wait a 429 or 503 response asks for: the larger of its Retry-After and
// RateLimit answers, nullopt when it has neither (or for any other status).
std::optional<Duration> ServerRequestedWait(const HttpResponseHead& head, int64_t now_wall_seconds);

}  // namespace hfm
