// The ranged-read half of EndpointClient: CheckRange, FetchRange and the walk
// one ranged GET takes from the cached signed CDN URL, or /resolve, through
// redirects to the bytes (range_response_sink checks them). The JSON API
// calls (ResolveRevision, ListTree, Search) are in endpoint_client.cc.
#include <algorithm>
#include <functional>
#include <optional>
#include <utility>

#include "fetch/endpoint_client.h"
#include "fetch/endpoint_range_walk.h"
#include "fetch/resolve_answer.h"
#include "fetch/hub_errors.h"
#include "fetch/hub_urls.h"
#include "fetch/log_text.h"
#include "fetch/range_response_sink.h"
#include "fetch/redirect_chain.h"
#include "fetch/repo_path.h"
#include "fetch/retry_after.h"
#include "fetch/retry_policy.h"
#include "fetch/url.h"
#include "util/log.h"

namespace hfm {
namespace {

// How long a range waits for another range's /resolve of the same file.
constexpr Duration kResolveWait = std::chrono::seconds(5);

// The answers that say a URL gives no access (any more) to the file.
bool IsRefusal(int status) { return status == 401 || status == 403 || status == 404 || status == 410; }

// A signed URL is kept per credential: the CDN checks no token, so one got
// with one caller's token must never answer a fetch made with another's.
std::string SignedUrlKey(const FileLocation& file) {
  std::string key = std::string(RepoKindPlural(file.repo.kind)) + "\n" + file.repo.name + "\n" + file.commit +
                    "\n" + file.path;
  if (!file.credential.empty()) key += "\n" + std::to_string(std::hash<std::string>{}(file.credential));
  return key;
}

}  // namespace

// The outcome of one ranged request (with its redirects).
struct EndpointClient::RangeAttempt {
  Status status;
  AttemptInfo info;
};


Status EndpointClient::CheckRange(const FileLocation& file, uint64_t offset, uint64_t* length,
                                  const RangeSink* sink) const {
  HFM_RETURN_IF_ERROR(init_status_);
  const std::string context = "fetching " + RepoDisplayName(file.repo) + "@" + LogSafe(file.commit, 64) + " \"" +
                              LogSafe(file.path) + "\" at " + endpoint_for_log_;
  const std::string_view name_problem = RepoNameProblem(file.repo.name);
  if (!name_problem.empty()) return Status::InvalidArgument(context + ": " + std::string(name_problem));
  if (!IsCommitId(file.commit)) return Status::InvalidArgument(context + ": not a 40-hex commit");
  const std::string_view path_problem = RepoPathProblem(file.path);
  if (!path_problem.empty()) return Status::InvalidArgument(context + ": " + std::string(path_problem));
  if (sink == nullptr) return Status::InvalidArgument(context + ": no sink");
  if (offset > file.size) {
    return Status::OutOfRange(context + ": offset " + std::to_string(offset) + " is past the end (size " +
                              std::to_string(file.size) + ")");
  }
  *length = std::min(*length, file.size - offset);
  return Status::Ok();
}

Status EndpointClient::FetchRange(const FileLocation& file, uint64_t offset, uint64_t length, RangeSink* sink,
                                  TimePoint deadline, AttemptInfo* info) {
  const uint64_t end = offset + length;
  const std::string context = "fetching " + RepoDisplayName(file.repo) + "@" + LogSafe(file.commit, 64) + " \"" +
                              LogSafe(file.path) + "\" at " + endpoint_for_log_ + " bytes [" +
                              std::to_string(offset) + ", " + std::to_string(end) + ")";
  if (clock_->Now() >= deadline) return Status::DeadlineExceeded(context + ": deadline passed");
  RangeAttempt attempt = FetchOnce(file, offset, end, sink, deadline, context);
  *info = attempt.info;
  // All bytes in (a reset after the last one does not matter), or the
  // caller has what it wanted.
  if (info->sink_stopped || info->delivered >= length) return Status::Ok();
  if (attempt.status.ok()) {
    info->retryable = true;
    return Status::Unavailable(context + ": body ended at byte " + std::to_string(offset + info->delivered));
  }
  return attempt.status;
}

void EndpointClient::ForgetSignedUrl(const FileLocation& file) {
  const std::string key = SignedUrlKey(file);
  if (auto url = signed_urls_.Get(key)) signed_urls_.Erase(key, *url);
}

bool EndpointClient::HasLocation(const FileLocation& file) { return signed_urls_.Get(SignedUrlKey(file)).has_value(); }

// One ranged GET for [pos, end), from the cached location if there is one,
// else from the one Locate finds (LFS files) or /resolve with its redirects
// (regular files, which the endpoint serves itself). A cached URL that fails
// before any byte (403/404/410, a network error) is dropped and /resolve
// asked once instead; one that fails later is dropped too.
EndpointClient::RangeAttempt EndpointClient::FetchOnce(const FileLocation& file, uint64_t pos, uint64_t end,
                                                       RangeSink* sink, TimePoint deadline,
                                                       const std::string& context) {
  RangeWalk walk;
  StartRangeWalk(file, deadline, &walk);
  RangeAttempt attempt;
  if (!walk.from_cache && file.is_lfs) {
    attempt.status = Locate(file, deadline, context, &walk, &attempt.info);
    if (!attempt.status.ok()) return attempt;
  }
  while (true) {
    const HttpRequest request = RangeRequest(file, walk.url, pos, end, deadline);
    RangeResponseSink body(pos, end, file.size, sink);
    if (!walk.from_cache && walk.url != walk.resolve_url) {
      // The location accepted the request (after redirects of its own,
      // maybe): share the final one now, not after the body. (The lead
      // ended at the redirect that left /resolve.)
      body.SetOnAccepted([this, &walk] { signed_urls_.Put(walk.key, walk.url); });
    }
    Result<HttpResponseHead> result = transport_->Perform(request, &body);
    attempt.info.delivered = body.delivered();
    if (body.sink_stopped()) {
      attempt.info.sink_stopped = true;
      return attempt;
    }
    if (!result.ok()) {
      if (walk.from_cache && attempt.info.delivered == 0 && result.status().IsUnavailable()) {
        attempt.status = ResolveAgain(file, deadline, &walk, result.status().ToString(), context, &attempt.info);
        if (!attempt.status.ok()) return attempt;
        continue;
      }
      if (walk.from_cache) signed_urls_.Erase(walk.key, walk.url);
      attempt.status = result.status().WithContext(context + " from " + StripQuery(walk.url));
      attempt.info.retryable = IsRetryableTransportError(result.status());
      return attempt;
    }
    if (!walk.from_cache && walk.url == walk.resolve_url) {
      const std::string disagreement = AnswerDisagreement(file, *result);
      if (!disagreement.empty()) {
        attempt.status = Status::DataLoss(context + ": /resolve disagrees with the listing: " + disagreement);
        return attempt;
      }
    }
    if (IsRedirectStatus(result->status)) {
      attempt.status = FollowRangeRedirect(*result, context, &walk);
      if (!attempt.status.ok()) return attempt;
      continue;
    }
    if (walk.from_cache && IsRefusal(result->status)) {
      attempt.status =
          ResolveAgain(file, deadline, &walk, "HTTP " + std::to_string(result->status), context, &attempt.info);
      if (!attempt.status.ok()) return attempt;
      continue;
    }
    FinishRangeWalk(*result, body, context, &walk, &attempt);
    return attempt;
  }
}

// Where the walk starts: the cached signed URL, else /resolve. The first
// ranges of a file start together: one of them resolves, the others wait for
// its signed URL (bounded: a slow /resolve only delays them a little, then
// they resolve too).
void EndpointClient::StartRangeWalk(const FileLocation& file, TimePoint deadline, RangeWalk* walk) {
  walk->key = SignedUrlKey(file);
  walk->resolve_url = ResolveUrl(endpoint_, file.repo, file.commit, file.path);
  std::optional<std::string> cached = signed_urls_.Get(walk->key);
  if (!cached) {
    const TimePoint wait_until = std::min(deadline, clock_->Now() + kResolveWait);
    if (resolving_.Begin(walk->key, wait_until)) {
      walk->lead.emplace(&resolving_, walk->key);
    } else {
      cached = signed_urls_.Get(walk->key);
    }
  }
  walk->from_cache = cached.has_value();
  walk->url = walk->from_cache ? std::move(*cached) : walk->resolve_url;
  walk->visited.assign(1, walk->url);
}

HttpRequest EndpointClient::FileRequest(const FileLocation& file, const std::string& url, TimePoint deadline) const {
  HttpRequest request;
  request.url = url;
  request.headers = HeadersFor(url, file.credential);
  request.headers.emplace_back("Accept-Encoding", "identity");
  request.deadline = deadline;
  request.low_speed_bytes = low_speed_bytes_;
  request.low_speed_seconds = low_speed_seconds_;
  request.connect_timeout = connect_timeout_;
  return request;
}

HttpRequest EndpointClient::RangeRequest(const FileLocation& file, const std::string& url, uint64_t pos,
                                         uint64_t end, TimePoint deadline) const {
  HttpRequest request = FileRequest(file, url, deadline);
  request.headers.emplace_back("Range", "bytes=" + std::to_string(pos) + "-" + std::to_string(end - 1));
  return request;
}

Status EndpointClient::ResolveAgain(const FileLocation& file, TimePoint deadline, RangeWalk* walk,
                                    std::string_view why, const std::string& context, AttemptInfo* info) {
  signed_urls_.Erase(walk->key, walk->url);
  LogInfo(context + ": cached location " + StripQuery(walk->url) + " failed (" + std::string(why) +
          "); resolving again");
  walk->url = walk->resolve_url;
  walk->from_cache = false;
  walk->hops = 0;
  walk->visited.assign(1, walk->url);
  return file.is_lfs ? Locate(file, deadline, context, walk, info) : Status::Ok();
}

Status EndpointClient::FollowRangeRedirect(const HttpResponseHead& head, const std::string& context,
                                           RangeWalk* walk) {
  auto next = NextRedirectHop(walk->url, head, &walk->hops, &walk->visited, context);
  if (!next.ok()) return next.status();
  // /resolve named a location (a CDN's signed URL, or the endpoint's own
  // resolve-cache URL for a regular file): share it now, so the other first
  // ranges of this file start their GETs beside this one instead of behind
  // its body (a header read's next block). Should it be refused, each of
  // them resolves again.
  if (!walk->from_cache && walk->url == walk->resolve_url && *next != walk->resolve_url) {
    signed_urls_.Put(walk->key, *next);
    walk->shared = *next;
    if (walk->lead) walk->lead->End();
  }
  walk->url = std::move(*next);
  return Status::Ok();
}

// The final answer of the walk, neither a redirect nor a refusal of a
// cached URL: the bytes, or the error it amounts to.
void EndpointClient::FinishRangeWalk(const HttpResponseHead& head, const RangeResponseSink& body,
                                     const std::string& context, RangeWalk* walk, RangeAttempt* attempt) {
  const std::string where = context + " from " + StripQuery(walk->url);
  const bool at_endpoint = SameHost(walk->url, endpoint_);
  if (head.status == 200 || head.status == 206) {
    if (!body.status().ok()) {
      if (walk->from_cache) signed_urls_.Erase(walk->key, walk->url);
      attempt->status = body.status().WithContext(where);
      return;
    }
    if (!walk->from_cache && walk->url != walk->resolve_url) signed_urls_.Put(walk->key, walk->url);
    return;
  }
  if (IsRefusal(head.status) && !at_endpoint && !head.Header("x-error-code").empty()) {
    // Another Hub (a mirror's 308 to huggingface.co, which gets no token)
    // states why: its word on this file, not a fault of the link.
    attempt->status = OffHostHubError(head, where, endpoint_for_log_);
    attempt->info.off_host_refusal = true;
    attempt->info.error_code = head.Header("x-error-code");
    return;
  }
  if (IsRefusal(head.status) && !at_endpoint) {
    // A CDN refusing a location the endpoint just signed is not the Hub's
    // word on access (clock skew, a broken edge): worth another try, maybe
    // through another mirror, with a location signed anew: the refused one
    // leaves the cache it went into at the redirect.
    signed_urls_.Erase(walk->key, walk->url);
    if (!walk->shared.empty()) signed_urls_.Erase(walk->key, walk->shared);
    attempt->status =
        Status::Unavailable(where + ": HTTP " + std::to_string(head.status) + " for a freshly signed URL");
    attempt->info.retryable = true;
    return;
  }
  attempt->status = HubErrorStatus(head, where);
  attempt->info.retryable = IsRetryableHttpStatus(head.status);
  attempt->info.server_wait = ServerRequestedWait(head, clock_->WallSeconds());
  attempt->info.resolve_limited = head.status == 429 && walk->url == walk->resolve_url;
  if (at_endpoint) attempt->info.error_code = head.Header("x-error-code");
}

}  // namespace hfm
