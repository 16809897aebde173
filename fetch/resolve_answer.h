// What an endpoint's /resolve answer says a file is (X-Linked-Etag, else ETag,
// and X-Repo-Commit), checked against the listing, so an endpoint that would
// serve other content or another commit is never asked for the bytes.
//
// Thread safety: pure function.
#pragma once

#include <string>

#include "fetch/http_transport.h"
#include "fetch/hub_client.h"

namespace hfm {

// "" when the answer agrees with `file` or names nothing comparable (an ETag
// that is not a hash of the listing's kind, say a CDN's); else why not.
std::string AnswerDisagreement(const FileLocation& file, const HttpResponseHead& head);

}  // namespace hfm
