// Hub error responses -> Status. The Hub states the reason in X-Error-Code
// (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo) and
// X-Error-Message; the status code alone is ambiguous (an anonymous request
// for a private repo is a 401 RepoNotFound, i.e. "does not exist" to us).
//
// Thread safety: pure function.
#pragma once

#include <string_view>

#include "fetch/http_transport.h"
#include "util/status.h"

namespace hfm {

// The Status for a non-success response, its message "<context>: HTTP <code>
// [<X-Error-Code>][: <X-Error-Message>]" (server text escaped and capped):
//   404                                  -> NotFound
//   401 with X-Error-Code RepoNotFound   -> NotFound
//   401, 403 (gated, disabled, bad token)-> PermissionDenied
//   416                                  -> OutOfRange
//   408, 429, 5xx                        -> Unavailable (retryable)
//   anything else                        -> Unavailable (not retried by callers)
// Returns OK for 2xx.
Status HubErrorStatus(const HttpResponseHead& head, std::string_view context);

// The same for a refusal with an X-Error-Code from a host that endpoint `via`
// redirected to (a mirror's 308 to the Hub): says the token stays with `via`,
// and a gated or private answer there is access denied, not a fault.
Status OffHostHubError(const HttpResponseHead& head, std::string_view context, std::string_view via);

}  // namespace hfm
