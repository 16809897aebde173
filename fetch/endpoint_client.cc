// EndpointClient over an HttpTransport: URL building (hub_urls), error
// mapping (hub_errors), tree pages (tree_parser) and ranged reads
// (range_response_sink) put together. Redirects are followed here, not by the
// transport, so the token goes only to the endpoint's host.
#include "fetch/endpoint_client.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <nlohmann/json.hpp>

#include "fetch/hub_errors.h"
#include "fetch/hub_urls.h"
#include "fetch/link_header.h"
#include "fetch/log_text.h"
#include "fetch/range_response_sink.h"
#include "fetch/repo_path.h"
#include "fetch/retry_after.h"
#include "fetch/retry_policy.h"
#include "fetch/tree_parser.h"
#include "fetch/url.h"
#include "util/log.h"

namespace hfm {
namespace {

constexpr int kMaxRedirects = 5;
constexpr size_t kMaxApiBodyBytes = 64u << 20;
constexpr int kMaxTreePages = 10000;
// A whole listing is held in memory (and stored in the cache) as one value,
// at roughly 1 KiB per entry at its peak: a hostile mirror must not be able
// to make it unbounded. 500k files / 64 MiB of JSON is beyond all but a
// handful of Hub repos; those fail to list with a clear error.
constexpr size_t kMaxTreeEntries = 500'000;
constexpr size_t kMaxTreeBytes = 64u << 20;
constexpr size_t kMaxRevisionBytes = 1024;
constexpr size_t kSignedUrlCapacity = 4096;
// The Hub signs for an hour; renewing earlier avoids a failed request.
constexpr Duration kSignedUrlMaxAge = std::chrono::minutes(30);
// How long a range waits for another range's /resolve of the same file.
constexpr Duration kResolveWait = std::chrono::seconds(5);

bool IsRedirectStatus(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// The answers that say a URL gives no access (any more) to the file.
bool IsRefusal(int status) { return status == 401 || status == 403 || status == 404 || status == 410; }

bool HasControlOrSpace(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

// The next URL of a redirect chain, refusing chains that are too long or
// come back to a URL already visited.
Result<std::string> NextHop(const std::string& url, const HttpResponseHead& head, int* hops,
                            std::vector<std::string>* visited, const std::string& context) {
  const std::string where = " (HTTP " + std::to_string(head.status) + " from " + StripQuery(url) + ")";
  const std::string location = head.Header("location");
  if (location.empty()) return Status::Unavailable(context + ": redirect without a Location" + where);
  auto next = ResolveRedirect(url, location);
  if (!next) {
    return Status::Unavailable(context + ": unusable redirect Location \"" +
                               LogSafe(StripQuery(location)) + "\"" + where);
  }
  if (++*hops > kMaxRedirects) return Status::Unavailable(context + ": more than 5 redirects" + where);
  if (std::find(visited->begin(), visited->end(), *next) != visited->end()) {
    return Status::Unavailable(context + ": redirect loop back to " + StripQuery(*next) + where);
  }
  visited->push_back(*next);
  return std::move(*next);
}

// The rel="next" target among all Link headers of a response.
std::optional<std::string> NextPageLink(const HttpResponseHead& head) {
  for (const auto& [name, value] : head.headers) {
    if (name != "link") continue;
    if (auto next = ParseNextLink(value)) return next;
  }
  return std::nullopt;
}

std::string SignedUrlKey(const FileLocation& file) {
  return std::string(RepoKindPlural(file.repo.kind)) + "\n" + file.repo.name + "\n" + file.commit + "\n" +
         file.path;
}

std::string LowerHex(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c; });
  return s;
}

}  // namespace

struct EndpointClient::ApiResponse {
  HttpResponseHead head;
  std::string body;
  std::string url;  // after redirects: relative links resolve against it
};

// The outcome of one ranged request (with its redirects).
struct EndpointClient::RangeAttempt {
  Status status;
  AttemptInfo info;
};

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

EndpointClient::EndpointClient(const EndpointClientOptions& options)
    : endpoint_(options.endpoint),
      token_(options.token),
      transport_(options.transport),
      clock_(options.clock ? options.clock : SystemClock()),
      low_speed_bytes_(std::max(options.low_speed_bytes, 0L)),
      low_speed_seconds_(std::max(options.low_speed_seconds, 0L)),
      api_speed_floor_(options.api_speed_floor),
      connect_timeout_(std::max(options.connect_timeout, Duration::zero())),
      signed_urls_(kSignedUrlCapacity, kSignedUrlMaxAge, clock_) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
  endpoint_for_log_ = StripQuery(endpoint_);
  if (transport_ == nullptr) {
    init_status_ = Status::InvalidArgument("HubClient needs a transport");
  } else if (!ParseUrl(endpoint_) || endpoint_.find_first_of("?#") != std::string::npos) {
    init_status_ = Status::InvalidArgument("endpoint \"" + LogSafe(endpoint_for_log_) +
                                           "\" is not an http(s) URL without a query");
  } else if (HasControlOrSpace(token_)) {
    // It would end up in a header line; never echo it.
    init_status_ = Status::InvalidArgument("the token holds spaces or control characters");
  }
}

Result<std::string> EndpointClient::ResolveRevision(const RepoId& repo, std::string_view revision,
                                                    TimePoint deadline, AttemptInfo* info) {
  HFM_RETURN_IF_ERROR(init_status_);
  const std::string context = "resolving " + RepoDisplayName(repo) + " revision \"" + LogSafe(revision, 100) +
                              "\" at " + endpoint_for_log_;
  const std::string_view problem = RepoNameProblem(repo.name);
  if (!problem.empty()) return Status::InvalidArgument(context + ": " + std::string(problem));
  if (revision.size() > kMaxRevisionBytes || revision.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(context + ": unusable revision");
  }
  const std::string url =
      revision.empty() ? RepoInfoUrl(endpoint_, repo) : RevisionInfoUrl(endpoint_, repo, revision);
  auto response = GetApi(url, deadline, context, info);
  if (!response.ok()) return response.status();
  try {
    const auto doc = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
      return Status::DataLoss(context + ": the response is not a JSON object");
    }
    const auto sha = doc.find("sha");
    if (sha == doc.end() || !sha->is_string() || !IsCommitId(sha->get_ref<const std::string&>())) {
      return Status::DataLoss(context + ": the response has no 40-hex \"sha\"");
    }
    return LowerHex(sha->get<std::string>());
  } catch (const std::exception& e) {
    return Status::DataLoss(context + ": unreadable response: " + e.what());
  }
}

Result<std::vector<RepoSummary>> EndpointClient::Search(RepoKind kind, const std::string& query, int limit,
                                                        TimePoint deadline, AttemptInfo* info) {
  HFM_RETURN_IF_ERROR(init_status_);
  const std::string context = "searching " + std::string(RepoKindPlural(kind)) + " for \"" + LogSafe(query, 100) +
                              "\" at " + endpoint_for_log_;
  if (limit < 1 || limit > 1000) return Status::InvalidArgument(context + ": limit must be 1..1000");
  auto response = GetApi(SearchUrl(endpoint_, kind, query, limit), deadline, context, info);
  if (!response.ok()) return response.status();
  const auto doc = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array()) return Status::DataLoss(context + ": the response is not a JSON array");
  std::vector<RepoSummary> out;
  for (const auto& item : doc) {
    if (!item.is_object()) continue;
    const auto id = item.find("id");
    if (id == item.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) continue;
    RepoSummary r;
    r.id = LogSafe(id->get<std::string>(), 200);
    auto flag = [&](const char* key) {
      const auto v = item.find(key);
      // "gated" is false or the gating mode ("auto", "manual").
      return v != item.end() && ((v->is_boolean() && v->get<bool>()) || (v->is_string() && !v->empty()));
    };
    auto number = [&](const char* key) {
      const auto v = item.find(key);
      return v != item.end() && v->is_number_unsigned() ? v->get<uint64_t>() : uint64_t{0};
    };
    r.is_private = flag("private");
    r.gated = flag("gated");
    r.downloads = number("downloads");
    r.likes = number("likes");
    out.push_back(std::move(r));
    if (out.size() >= static_cast<size_t>(limit)) break;
  }
  return out;
}

Result<std::vector<TreeEntry>> EndpointClient::ListTree(const RepoId& repo, std::string_view commit,
                                                        TimePoint deadline, ListingProgress* progress,
                                                        AttemptInfo* info) {
  HFM_RETURN_IF_ERROR(init_status_);
  const std::string context =
      "listing " + RepoDisplayName(repo) + "@" + LogSafe(commit, 64) + " at " + endpoint_for_log_;
  const std::string_view problem = RepoNameProblem(repo.name);
  if (!problem.empty()) return Status::InvalidArgument(context + ": " + std::string(problem));
  if (!IsCommitId(commit)) return Status::InvalidArgument(context + ": not a 40-hex commit");

  ListingProgress& p = *progress;
  if (p.next_url.empty()) {
    p = ListingProgress();
    p.next_url = TreeUrl(endpoint_, repo, commit);
    p.seen.insert(p.next_url);
  }
  while (true) {
    const int page = p.pages + 1;
    if (page > kMaxTreePages) {
      return Status::DataLoss(context + ": more than " + std::to_string(kMaxTreePages) + " pages");
    }
    auto response = GetApi(p.next_url, deadline, context + " (page " + std::to_string(page) + ")", info);
    if (!response.ok()) return response.status();
    if (p.bytes + response->body.size() > kMaxTreeBytes) {
      return Status::DataLoss(context + ": listing larger than " + std::to_string(kMaxTreeBytes >> 20) +
                              " MiB in all");
    }
    auto parsed = ParseTreePage(response->body, context);
    if (!parsed.ok()) return parsed.status();
    if (p.entries.size() + parsed->size() > kMaxTreeEntries) {
      return Status::DataLoss(context + ": more than " + std::to_string(kMaxTreeEntries) + " entries");
    }
    const auto next = NextPageLink(response->head);
    std::string next_url;
    if (next) {
      auto resolved = ResolveRedirect(response->url, *next);
      if (!resolved) return Status::DataLoss(context + ": unusable Link rel=\"next\"");
      if (!SameHost(*resolved, endpoint_)) {
        return Status::DataLoss(context + ": Link rel=\"next\" points away from the endpoint, to " +
                                StripQuery(*resolved));
      }
      // A server that hands back a cursor it already gave would page forever.
      if (!p.seen.insert(*resolved).second) {
        return Status::DataLoss(context + ": pagination loop, page " + std::to_string(page + 1) +
                                " repeats an earlier page URL");
      }
      next_url = std::move(*resolved);
    }
    // The page counts only now, so a retry after a failure above asks for
    // the same page again.
    p.entries.insert(p.entries.end(), std::make_move_iterator(parsed->begin()),
                     std::make_move_iterator(parsed->end()));
    p.bytes += response->body.size();
    p.pages = page;
    if (next_url.empty()) break;
    p.next_url = std::move(next_url);
  }
  std::vector<TreeEntry> entries = std::move(p.entries);
  p = ListingProgress();
  return ValidateListing(std::move(entries), context);
}

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

HttpHeaders EndpointClient::HeadersFor(const std::string& url) const {
  HttpHeaders headers;
  // CDN URLs are pre-signed and other mirrors get their own requests: the
  // token never leaves this endpoint's host.
  if (!token_.empty() && SameHost(url, endpoint_)) headers.emplace_back("Authorization", "Bearer " + token_);
  return headers;
}

// GET of a JSON API URL: follows redirects (the token only to the endpoint's
// host) and maps errors; one attempt.
Result<EndpointClient::ApiResponse> EndpointClient::GetApi(std::string url, TimePoint deadline,
                                                           const std::string& context, AttemptInfo* info) {
  *info = AttemptInfo();
  int hops = 0;
  std::vector<std::string> visited{url};
  while (true) {
    if (clock_->Now() >= deadline) return Status::DeadlineExceeded(context + ": deadline passed");
    HttpRequest request;
    request.url = url;
    request.headers = HeadersFor(url);
    request.headers.emplace_back("Accept", "application/json");
    request.deadline = deadline;
    request.connect_timeout = connect_timeout_;
    if (api_speed_floor_) {
      request.low_speed_bytes = low_speed_bytes_;
      request.low_speed_seconds = low_speed_seconds_;
    }
    StringSink sink(kMaxApiBodyBytes);
    Result<HttpResponseHead> result = transport_->Perform(request, &sink);
    if (!result.ok()) {
      info->retryable = IsRetryableTransportError(result.status());
      return result.status().WithContext(context);
    }
    if (IsRedirectStatus(result->status)) {
      auto next = NextHop(url, *result, &hops, &visited, context);
      if (!next.ok()) return next.status();
      url = std::move(*next);
      continue;
    }
    if (result->status >= 200 && result->status <= 299) {
      if (sink.overflowed()) {
        return Status::DataLoss(context + ": response body over " + std::to_string(kMaxApiBodyBytes >> 20) +
                                " MiB");
      }
      return ApiResponse{std::move(*result), sink.body(), std::move(url)};
    }
    info->retryable = IsRetryableHttpStatus(result->status);
    info->server_wait = ServerRequestedWait(*result, clock_->WallSeconds());
    info->error_code = result->Header("x-error-code");
    return HubErrorStatus(*result, context);
  }
}

// One ranged GET for [pos, end), from the cached signed URL if there is one,
// else from /resolve with its redirects. A cached URL that fails before any
// byte (403/404/410, a network error) is dropped and /resolve asked once
// instead; one that fails later is dropped too.
EndpointClient::RangeAttempt EndpointClient::FetchOnce(const FileLocation& file, uint64_t pos, uint64_t end,
                                                       RangeSink* sink, TimePoint deadline,
                                                       const std::string& context) {
  RangeWalk walk;
  StartRangeWalk(file, deadline, &walk);
  RangeAttempt attempt;
  while (true) {
    const HttpRequest request = RangeRequest(walk.url, pos, end, deadline);
    RangeResponseSink body(pos, end, file.size, sink);
    if (!walk.from_cache && !SameHost(walk.url, endpoint_)) {
      // The CDN accepted the URL (after redirects of its own, maybe): share
      // the final one now, not after the body. (The lead ended at the
      // redirect that left the endpoint's host.)
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
        ResolveAgain(&walk, result.status().ToString(), context);
        continue;
      }
      if (walk.from_cache) signed_urls_.Erase(walk.key, walk.url);
      attempt.status = result.status().WithContext(context + " from " + StripQuery(walk.url));
      attempt.info.retryable = IsRetryableTransportError(result.status());
      return attempt;
    }
    if (IsRedirectStatus(result->status)) {
      attempt.status = FollowRangeRedirect(*result, context, &walk);
      if (!attempt.status.ok()) return attempt;
      continue;
    }
    if (walk.from_cache && IsRefusal(result->status)) {
      ResolveAgain(&walk, "HTTP " + std::to_string(result->status), context);
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

HttpRequest EndpointClient::RangeRequest(const std::string& url, uint64_t pos, uint64_t end,
                                         TimePoint deadline) const {
  HttpRequest request;
  request.url = url;
  request.headers = HeadersFor(url);
  request.headers.emplace_back("Range", "bytes=" + std::to_string(pos) + "-" + std::to_string(end - 1));
  request.headers.emplace_back("Accept-Encoding", "identity");
  request.deadline = deadline;
  request.low_speed_bytes = low_speed_bytes_;
  request.low_speed_seconds = low_speed_seconds_;
  request.connect_timeout = connect_timeout_;
  return request;
}

// The cached signed URL failed: drop it and start over from /resolve.
void EndpointClient::ResolveAgain(RangeWalk* walk, std::string_view why, const std::string& context) {
  signed_urls_.Erase(walk->key, walk->url);
  LogInfo(context + ": cached CDN URL " + StripQuery(walk->url) + " failed (" + std::string(why) +
          "); resolving again");
  walk->url = walk->resolve_url;
  walk->from_cache = false;
  walk->hops = 0;
  walk->visited.assign(1, walk->url);
}

Status EndpointClient::FollowRangeRedirect(const HttpResponseHead& head, const std::string& context,
                                           RangeWalk* walk) {
  auto next = NextHop(walk->url, head, &walk->hops, &walk->visited, context);
  if (!next.ok()) return next.status();
  // The endpoint signed a location on another host: share it now, so the
  // other first ranges of this file start their GETs beside this one instead
  // of behind its body (a header read's next block). Should the CDN refuse
  // it, each of them resolves again.
  if (!walk->from_cache && SameHost(walk->url, endpoint_) && !SameHost(*next, endpoint_)) {
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
    if (!walk->from_cache && !at_endpoint) signed_urls_.Put(walk->key, walk->url);
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
  if (at_endpoint) attempt->info.error_code = head.Header("x-error-code");
}

}  // namespace hfm
