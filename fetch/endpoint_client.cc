// EndpointClient over an HttpTransport, its JSON API half: URL building
// (hub_urls), error mapping (hub_errors) and tree pages (tree_parser) put
// together for ResolveRevision, ListTree and Search. Redirects are followed
// here (redirect_chain), not by the transport, so the token goes only to the
// endpoint's host. The ranged reads are in endpoint_client_range.cc.
#include "fetch/endpoint_client.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <nlohmann/json.hpp>

#include "fetch/hub_errors.h"
#include "fetch/hub_urls.h"
#include "fetch/link_header.h"
#include "fetch/log_text.h"
#include "fetch/redirect_chain.h"
#include "fetch/retry_after.h"
#include "fetch/retry_policy.h"
#include "fetch/tree_parser.h"
#include "fetch/url.h"
#include "util/log.h"

namespace hfm {
namespace {

constexpr size_t kMaxApiBodyBytes = 64u << 20;
constexpr int kMaxTreePages = 10000;
// A whole listing is held in memory (and stored in the cache) as one value:
// its memory is charged entry by entry (ListingCharge, so a listing is
// bounded in bytes whatever its entries look like); these bound the work.
// 500k files / 64 MiB of JSON is beyond all but a handful of Hub repos;
// those fail to list with a clear error.
constexpr size_t kMaxTreeEntries = 500'000;
constexpr size_t kMaxTreeBytes = 64u << 20;
constexpr size_t kMaxRevisionBytes = 1024;
constexpr size_t kSignedUrlCapacity = 4096;
// The Hub signs for an hour; renewing earlier avoids a failed request.
constexpr Duration kSignedUrlMaxAge = std::chrono::minutes(30);

bool HasControlOrSpace(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

// The rel="next" target among all Link headers of a response.
std::optional<std::string> NextPageLink(const HttpResponseHead& head) {
  for (const auto& [name, value] : head.headers) {
    if (name != "link") continue;
    if (auto next = ParseNextLink(value)) return next;
  }
  return std::nullopt;
}

std::string LowerHex(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](char c) { return (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c; });
  return s;
}

// What a repo info answer says of who may read the repo. "gated" is false,
// "auto" or "manual"; a field missing or of another type says nothing.
RepoVisibility VisibilityOf(const nlohmann::json& doc) {
  const auto is_private = doc.find("private");
  const auto gated = doc.find("gated");
  if (is_private != doc.end() && is_private->is_boolean() && is_private->get<bool>()) return RepoVisibility::kPrivate;
  const bool gated_known = gated != doc.end() && (gated->is_boolean() || gated->is_string());
  if (gated_known && !(gated->is_boolean() && !gated->get<bool>())) return RepoVisibility::kGated;
  if (is_private != doc.end() && is_private->is_boolean()) return RepoVisibility::kPublic;
  return RepoVisibility::kUnknown;
}

}  // namespace

struct EndpointClient::ApiResponse {
  HttpResponseHead head;
  std::string body;
  std::string url;  // after redirects: relative links resolve against it
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
      listing_memory_(options.listing_memory),
      listing_cap_(options.listing_cap),
      signed_urls_(kSignedUrlCapacity, kSignedUrlMaxAge, clock_) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
  endpoint_for_log_ = StripQuery(endpoint_);
  if (transport_ == nullptr) {
    init_status_ = Status::InvalidArgument("HubClient needs a transport");
  } else if (!ParseUrl(endpoint_) || endpoint_.find_first_of("?#") != std::string::npos) {
    init_status_ = Status::InvalidArgument("endpoint \"" + LogSafe(endpoint_for_log_) +
                                           "\" is not an http(s) URL without a query");
  } else if (HasUserinfo(endpoint_)) {
    // Never echo the URL as given: its password would reach the log.
    init_status_ = Status::InvalidArgument("endpoint \"" + LogSafe(endpoint_for_log_) +
                                           "\" holds a user name or password (user:password@); "
                                           "give credentials in the token file instead");
  } else if (HasControlOrSpace(token_)) {
    // It would end up in a header line; never echo it.
    init_status_ = Status::InvalidArgument("the token holds spaces or control characters");
  }
  if (!init_status_.ok()) return;
  token_allowed_ = !IsCleartextToForeignHost(endpoint_, options.token_http_hosts);
  if (!token_allowed_ && !token_.empty()) {
    LogWarning("endpoint " + LogSafe(endpoint_for_log_) +
               " is plain http to a host that is not loopback: it gets no token (name its host in "
               "token_http_hosts= to send the token in clear text anyway)");
  }
}

Result<std::string> EndpointClient::ResolveRevision(const RepoId& repo, std::string_view revision,
                                                    TimePoint deadline, AttemptInfo* info,
                                                    RepoVisibility* visibility) {
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
    if (visibility) *visibility = VisibilityOf(doc);
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
    p.charge = ListingCharge(listing_memory_, listing_cap_, context);
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
    auto parsed = ParseTreePage(response->body, context, &p.charge);
    if (!parsed.ok()) return parsed.status();
    if (p.entries.size() + parsed->size() > kMaxTreeEntries) {
      return Status::DataLoss(context + ": more than " + std::to_string(kMaxTreeEntries) + " entries");
    }
    auto next_url = NextPageUrl(*response, page, context, &p.seen);
    if (!next_url.ok()) return next_url.status();
    // The page counts only now, so a retry after a failure above asks for
    // the same page again.
    p.entries.insert(p.entries.end(), std::make_move_iterator(parsed->begin()),
                     std::make_move_iterator(parsed->end()));
    p.bytes += response->body.size();
    p.pages = page;
    if (next_url->empty()) break;
    p.next_url = std::move(*next_url);
  }
  std::vector<TreeEntry> entries = std::move(p.entries);
  ListingCharge charge = std::move(p.charge);
  p = ListingProgress();
  // The charge ends with this call: the caller charges what it keeps.
  return ValidateListing(std::move(entries), context, &charge);
}

// Where the page after `response` (page number `page`) is, "" after the last
// one. The link must stay on the endpoint's host (the token goes there) and
// must not repeat a page URL in *seen, which it joins.
Result<std::string> EndpointClient::NextPageUrl(const ApiResponse& response, int page, const std::string& context,
                                                std::unordered_set<std::string>* seen) const {
  const auto next = NextPageLink(response.head);
  if (!next) return std::string();
  auto resolved = ResolveRedirect(response.url, *next);
  if (!resolved) return Status::DataLoss(context + ": unusable Link rel=\"next\"");
  if (!SameHost(*resolved, endpoint_)) {
    return Status::DataLoss(context + ": Link rel=\"next\" points away from the endpoint, to " +
                            StripQuery(*resolved));
  }
  // A server that hands back a cursor it already gave would page forever.
  if (!seen->insert(*resolved).second) {
    return Status::DataLoss(context + ": pagination loop, page " + std::to_string(page + 1) +
                            " repeats an earlier page URL");
  }
  return std::move(*resolved);
}

HttpHeaders EndpointClient::HeadersFor(const std::string& url, const std::string& credential) const {
  HttpHeaders headers;
  // CDN URLs are pre-signed and other mirrors get their own requests: the
  // token never leaves this endpoint's host, nor goes in clear text to a host
  // the admin did not name. A credential holding control characters would
  // forge header lines: it is dropped, never echoed.
  const std::string& token = credential.empty() ? token_ : credential;
  if (!token.empty() && token_allowed_ && SameHost(url, endpoint_) &&
      (credential.empty() || !HasControlOrSpace(credential))) {
    headers.emplace_back("Authorization", "Bearer " + token);
  }
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
      auto next = NextRedirectHop(url, *result, &hops, &visited, context);
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

}  // namespace hfm
