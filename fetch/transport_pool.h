// TransportPool: one HttpTransport over several, each exchange on the member
// with the fewest exchanges in flight (the first such member on a tie, so
// sequential calls keep reusing the first member's connections).
//
// Why: one curl multi handle is driven by one thread, and libcurl 7.88 reads
// a busy socket for up to 100 buffers within one curl_multi_perform() call.
// From a fast server a 1 MiB block arrives whole inside that call, so a GET
// queued meanwhile (a seek's own bytes, the block a reader waits on) starts
// only after it. Members are separate multi handles on separate threads: a
// new exchange goes to an idle one and starts at once.
//
// Thread safety: as HttpTransport.
#pragma once

#include <memory>
#include <vector>

#include "fetch/http_transport.h"

namespace hfm {

// `members` must not be empty. One member is returned as it is.
std::unique_ptr<HttpTransport> NewTransportPool(std::vector<std::unique_ptr<HttpTransport>> members);

}  // namespace hfm
