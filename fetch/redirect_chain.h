// The redirects the Hub protocol follows itself (not curl), so the token can
// be withheld from other hosts: which statuses redirect, and the next hop of
// a chain, capped in length and refusing loops. Shared by EndpointClient's
// API calls and its ranged reads.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "fetch/http_transport.h"
#include "util/status.h"

namespace hfm {

// 301, 302, 303, 307 or 308.
bool IsRedirectStatus(int status);

// The URL the redirect `head` (the answer to `url`) points to. Counts the hop
// in *hops and remembers it in *visited; Unavailable, prefixed by `context`,
// for a missing or unusable Location, more than 5 hops, or a URL already in
// *visited; DataLoss (not retried on this endpoint) for https -> http.
Result<std::string> NextRedirectHop(const std::string& url, const HttpResponseHead& head, int* hops,
                                    std::vector<std::string>* visited, const std::string& context);

}  // namespace hfm
