#include "fetch/redirect_chain.h"

#include <algorithm>
#include <utility>

#include "fetch/log_text.h"
#include "fetch/url.h"

namespace hfm {
namespace {

constexpr int kMaxRedirects = 5;

}  // namespace

bool IsRedirectStatus(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// The next URL of a redirect chain, refusing chains that are too long or
// come back to a URL already visited.
Result<std::string> NextRedirectHop(const std::string& url, const HttpResponseHead& head, int* hops,
                                    std::vector<std::string>* visited, const std::string& context) {
  const std::string where = " (HTTP " + std::to_string(head.status) + " from " + StripQuery(url) + ")";
  const std::string location = head.Header("location");
  if (location.empty()) return Status::Unavailable(context + ": redirect without a Location" + where);
  auto next = ResolveRedirect(url, location);
  if (!next) {
    return Status::Unavailable(context + ": unusable redirect Location \"" +
                               LogSafe(StripQuery(location)) + "\"" + where);
  }
  // A token or the bytes' integrity must not depend on who can read the
  // wire: https never leads to http, not even for a CDN.
  const auto from = ParseUrl(url);
  const auto to = ParseUrl(*next);
  if (from && to && from->scheme == "https" && to->scheme == "http") {
    return Status::DataLoss(context + ": refused a redirect from https down to http, to " + StripQuery(*next) +
                            where);
  }
  if (++*hops > kMaxRedirects) return Status::Unavailable(context + ": more than 5 redirects" + where);
  if (std::find(visited->begin(), visited->end(), *next) != visited->end()) {
    return Status::Unavailable(context + ": redirect loop back to " + StripQuery(*next) + where);
  }
  visited->push_back(*next);
  return std::move(*next);
}

}  // namespace hfm
