// EndpointClient::RangeWalk, internal to fetch/: shared by the ranged-read
// half of EndpointClient (endpoint_client_range.cc) and Locate
// (endpoint_client_locate.cc).
//
// Thread safety: a walk belongs to one attempt on one thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fetch/endpoint_client.h"
#include "fetch/single_flight.h"

namespace hfm {

// Where one ranged request stands on its way from the cached signed URL, or
// /resolve, through redirects to the bytes.
struct EndpointClient::RangeWalk {
  std::string key;          // SignedUrlKey of the file
  std::string resolve_url;  // the endpoint's /resolve URL of the file
  std::string url;          // where the next GET goes
  bool from_cache = false;  // `url` is a signed URL taken from the cache
  int hops = 0;
  std::vector<std::string> visited;
  std::string shared;  // the signed location this attempt put in the cache
  // Held while this range resolves for the others (see StartRangeWalk).
  std::optional<SingleFlight::Lead> lead;
};

}  // namespace hfm
