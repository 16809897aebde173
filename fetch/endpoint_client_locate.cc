// EndpointClient::Locate: where an LFS file's bytes are, asked once per file
// the way the official client asks: HEAD /resolve WITHOUT a Range header. A
// location signed for a request that carried Range may be bound to that byte
// range (fetch/PROTOCOL.md), and every later range of the file would then cost
// a 403 and another /resolve, each counted against the Hub's resolver quota.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fetch/endpoint_client.h"
#include "fetch/endpoint_range_walk.h"
#include "fetch/hub_errors.h"
#include "fetch/log_text.h"
#include "fetch/redirect_chain.h"
#include "fetch/resolve_answer.h"
#include "fetch/retry_after.h"
#include "fetch/retry_policy.h"
#include "fetch/url.h"

namespace hfm {
namespace {

// A HEAD answer has no body; anything a broken server sends anyway is dropped.
class DiscardSink : public BodySink {
 public:
  bool OnData(const char*, size_t) override { return true; }
};

// A /resolve/ URL of some Hub: a mirror's 308 to huggingface.co points at one,
// and it is asked in turn (without the token) for the CDN location.
bool IsResolveUrl(const std::string& url) {
  const std::string path = url.substr(0, url.find('?'));
  return path.find("/resolve/") != std::string::npos;
}

// What a refusal of Locate's HEAD means: the endpoint's own answer (a 429
// there limits resolves only), another Hub's word (a mirror's 308 led there),
// or a CDN's refusal worth another try.
Status Refusal(const HttpResponseHead& head, bool at_endpoint, const std::string& where, const std::string& via,
               int64_t wall_seconds, AttemptInfo* info) {
  const std::string error_code = head.Header("x-error-code");
  info->retryable = IsRetryableHttpStatus(head.status);
  info->server_wait = ServerRequestedWait(head, wall_seconds);
  info->resolve_limited = head.status == 429;
  info->error_code = error_code;
  if (at_endpoint) return HubErrorStatus(head, where);
  if (!error_code.empty()) {
    info->off_host_refusal = true;
    return OffHostHubError(head, where, via);
  }
  info->retryable = true;  // a CDN refusing a HEAD: another try, maybe elsewhere
  return Status::Unavailable(where + ": HTTP " + std::to_string(head.status));
}

}  // namespace

// The walk's state after Locate: `url` is the location, cached and shared
// with the ranges waiting on this one's /resolve.
Status EndpointClient::Locate(const FileLocation& file, TimePoint deadline, const std::string& context,
                              RangeWalk* walk, AttemptInfo* info) {
  std::string url = walk->resolve_url;
  int hops = 0;
  std::vector<std::string> visited{url};
  while (true) {
    HttpRequest request = FileRequest(file, url, deadline);
    request.method = "HEAD";
    DiscardSink none;
    Result<HttpResponseHead> result = transport_->Perform(request, &none);
    const std::string where = context + " locating at " + StripQuery(url);
    if (!result.ok()) {
      info->retryable = IsRetryableTransportError(result.status());
      return result.status().WithContext(where);
    }
    if (url == walk->resolve_url) {
      const std::string disagreement = AnswerDisagreement(file, *result);
      if (!disagreement.empty()) {
        return Status::DataLoss(context + ": /resolve disagrees with the listing: " + disagreement);
      }
    }
    if (IsRedirectStatus(result->status)) {
      auto next = NextRedirectHop(url, *result, &hops, &visited, context);
      if (!next.ok()) return next.status();
      url = std::move(*next);
      // The endpoint's own redirects (a renamed repo, resolve-cache) and
      // another Hub's /resolve are followed; the first other host that is
      // neither is the CDN, and its signed URL is the location.
      if (!SameHost(url, endpoint_) && !IsResolveUrl(url)) break;
      continue;
    }
    if (result->status == 200 || result->status == 206) break;  // this URL serves the bytes itself
    if ((result->status == 405 || result->status == 501) && url == walk->resolve_url) {
      // An endpoint that knows no HEAD (a bare static mirror): ranges go to
      // /resolve itself, as for a regular file.
      return Status::Ok();
    }
    return Refusal(*result, SameHost(url, endpoint_), where, endpoint_for_log_, clock_->WallSeconds(), info);
  }
  signed_urls_.Put(walk->key, url);
  walk->url = url;
  walk->shared = url;
  walk->hops = 0;
  walk->visited.assign(1, url);
  if (walk->lead) walk->lead->End();
  return Status::Ok();
}

}  // namespace hfm
