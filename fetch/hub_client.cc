// The HubClient: one EndpointClient per configured endpoint (each with its own
// signed URL cache and token rule) routed by a MirrorSet. Every call runs the
// same loop (Run): try the best endpoint the MirrorSet offers that this call
// has not tried yet; on a failure that says the endpoint is in trouble, note
// it and move on to the next; when every endpoint failed and some failure may
// heal, wait a jittered backoff and go round again, at most kMaxRetries more
// times and never past the deadline. A single endpoint is the one-entry case
// of the same loop (then it is plain retry with backoff).
//
// Thread safety: calls share nothing but the MirrorSet (locked) and the
// EndpointClients (thread-safe); per-call state lives on the stack.
#include "fetch/hub_client.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <utility>

#include "fetch/endpoint_client.h"
#include "fetch/hub_call_state.h"
#include "fetch/log_text.h"
#include "fetch/metadata_trust.h"
#include "fetch/mirror_set.h"
#include "fetch/retry_policy.h"
#include "fetch/url.h"
#include "util/log.h"

namespace hfm {
namespace {

using hub_call::CallState;
using hub_call::CommonVerdict;
using hub_call::Outcome;
using hub_call::Verdict;

constexpr char kDefaultEndpoint[] = "https://huggingface.co";
constexpr int kMaxRetries = 3;
// An attempt that delivered bytes before failing is resumed from the byte
// reached at once, without spending a round or waiting, this many times per
// endpoint per call; later ones count as ordinary failures.
constexpr int kMaxResumesPerEndpoint = 2;
std::string CommitKey(const RepoId& repo, std::string_view commit) {
  std::string key = std::string(RepoKindPlural(repo.kind)) + "\n" + repo.name + "\n";
  for (char c : commit) key += (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
  return key;
}

uint64_t Bit(size_t i) { return uint64_t{1} << i; }

std::string FileKey(const FileLocation& file) { return CommitKey(file.repo, file.commit) + "\n" + file.path; }

std::string Seconds(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 1000.0).substr(0, 5) +
         " s";
}

class MirroredHubClient : public HubClient {
 public:
  // `endpoints`: the configured ones, then the trusted endpoint when it is
  // not one of them (it answers metadata only); `trusted` is its index.
  MirroredHubClient(const HubClientOptions& options, std::vector<std::string> endpoints,
                    std::optional<size_t> trusted, size_t configured)
      : transport_(options.transport),
        has_token_(!options.token.empty()),
        clock_(options.clock ? options.clock : SystemClock()),
        jitter_(options.jitter_seed == 0 ? 0 : options.jitter_seed + 1),
        data_endpoints_(configured >= 64 ? ~uint64_t{0} : Bit(configured) - 1),
        mirrors_(endpoints, clock_, MirrorOptions(options, data_endpoints_)),
        trust_(trusted, trusted ? endpoints[*trusted] : "", options.trust_fallback, clock_) {
    retry_.max_retries = kMaxRetries;
    retry_.backoff_base = std::max(options.retry_backoff_base, Duration::zero());
    for (const std::string& endpoint : endpoints) {
      EndpointClientOptions o;
      o.endpoint = endpoint;
      o.token = options.token;
      o.token_http_hosts = options.token_http_hosts;
      o.transport = options.transport;
      o.clock = clock_;
      o.low_speed_bytes = options.low_speed_bytes_per_second;
      o.low_speed_seconds = options.low_speed_seconds;
      o.api_speed_floor = endpoints.size() > 1;
      o.connect_timeout = options.connect_timeout;
      o.listing_memory = options.listing_memory;
      o.listing_cap = options.listing_cap;
      workers_.push_back(std::make_unique<EndpointClient>(o));
      if (init_status_.ok()) init_status_ = workers_.back()->init_status();
    }
  }

  void set_init_status(Status s) { init_status_ = std::move(s); }

  Result<std::string> ResolveRevision(const RepoId& repo, std::string_view revision,
                                      TimePoint deadline) override {
    auto info = ResolveRevisionInfo(repo, revision, deadline, nullptr);
    if (!info.ok()) return info.status();
    return std::move(info->commit);
  }

  Result<std::string> ResolveRevisionFrom(const RepoId& repo, std::string_view revision, TimePoint deadline,
                                          MetadataOrigin* origin) override {
    auto info = ResolveRevisionInfo(repo, revision, deadline, origin);
    if (!info.ok()) return info.status();
    return std::move(info->commit);
  }

  bool has_token() const override { return has_token_; }

  Result<RevisionInfo> ResolveRevisionInfo(const RepoId& repo, std::string_view revision, TimePoint deadline,
                                           MetadataOrigin* origin) override {
    MetadataOrigin answered;
    if (origin == nullptr) origin = &answered;
    HFM_RETURN_IF_ERROR(init_status_);
    // A full commit id that a mirror does not know means the mirror lags;
    // a branch it does not know is taken as the answer (see hub_client.h).
    const bool is_commit = IsCommitId(revision);
    RouteKey key;
    key.kind = RequestKind::kApi;
    if (is_commit) key.commit_key = CommitKey(repo, revision);
    const std::string context =
        "resolving " + RepoDisplayName(repo) + " revision \"" + LogSafe(revision, 100) + "\"";
    RevisionInfo resolved;
    Status s = RunMetadata(key, repo, deadline, context, origin, [&](size_t i) {
      Outcome o;
      auto r = workers_[i]->ResolveRevision(repo, revision, deadline, &o.info, &resolved.visibility);
      if (r.ok()) {
        resolved.commit = std::move(*r);
        return o;
      }
      o.status = r.status();
      o.verdict = CommonVerdict(o.status);
      if (is_commit && o.status.IsNotFound() && o.info.error_code == "RevisionNotFound") {
        o.verdict = Verdict::kMissing;
        o.missing_key = key.commit_key;
      }
      return o;
    });
    if (!s.ok()) return s;
    return resolved;
  }

  Result<std::vector<RepoSummary>> Search(RepoKind kind, const std::string& query, int limit,
                                          TimePoint deadline) override {
    HFM_RETURN_IF_ERROR(init_status_);
    RouteKey key;
    key.kind = RequestKind::kApi;
    key.allowed = data_endpoints_;
    const std::string context = "searching " + std::string(RepoKindPlural(kind)) + " for \"" + LogSafe(query, 100) + "\"";
    std::vector<RepoSummary> found;
    Status s = Run(key, deadline, context, [&](size_t i) {
      Outcome o;
      auto r = workers_[i]->Search(kind, query, limit, deadline, &o.info);
      if (r.ok()) {
        found = std::move(*r);
        return o;
      }
      o.status = r.status();
      o.verdict = CommonVerdict(o.status);
      return o;
    });
    if (!s.ok()) return s;
    return found;
  }

  Result<std::vector<TreeEntry>> ListTree(const RepoId& repo, std::string_view commit,
                                          TimePoint deadline) override {
    MetadataOrigin origin;
    return ListTreeFrom(repo, commit, deadline, &origin);
  }

  Result<std::vector<TreeEntry>> ListTreeFrom(const RepoId& repo, std::string_view commit, TimePoint deadline,
                                              MetadataOrigin* origin) override {
    HFM_RETURN_IF_ERROR(init_status_);
    RouteKey key;
    key.kind = RequestKind::kApi;
    key.commit_key = CommitKey(repo, commit);
    const std::string context = "listing " + RepoDisplayName(repo) + "@" + LogSafe(commit, 64);
    std::vector<ListingProgress> progress(workers_.size());
    std::vector<TreeEntry> entries;
    Status s = RunMetadata(key, repo, deadline, context, origin, [&](size_t i) {
      Outcome o;
      auto r = workers_[i]->ListTree(repo, commit, deadline, &progress[i], &o.info);
      if (r.ok()) {
        entries = std::move(*r);
        return o;
      }
      o.status = r.status();
      o.verdict = CommonVerdict(o.status);
      if (o.status.IsNotFound() && o.info.error_code == "RevisionNotFound") {
        o.verdict = Verdict::kMissing;
        o.missing_key = key.commit_key;
      }
      return o;
    });
    if (!s.ok()) return s;
    return entries;
  }

  Status FetchRange(const FileLocation& file, uint64_t offset, uint64_t length, RangeSink* sink,
                    TimePoint deadline) override {
    HFM_RETURN_IF_ERROR(init_status_);
    HFM_RETURN_IF_ERROR(workers_[0]->CheckRange(file, offset, &length, sink));
    if (length == 0) return Status::Ok();
    RouteKey key;
    key.kind = RequestKind::kFile;
    key.commit_key = CommitKey(file.repo, file.commit);
    key.file_key = FileKey(file);
    key.allowed = data_endpoints_;
    for (size_t i = 0; i < workers_.size() && i < 64; ++i) {
      if ((key.allowed & Bit(i)) && workers_[i]->HasLocation(file)) key.located |= Bit(i);
    }
    const uint64_t end = offset + length;
    const std::string context = "fetching " + RepoDisplayName(file.repo) + "@" + LogSafe(file.commit, 64) +
                                " \"" + LogSafe(file.path) + "\" bytes [" + std::to_string(offset) + ", " +
                                std::to_string(end) + ")";
    // Bytes reach the sink once each, in order: every attempt starts where
    // the previous one stopped, whichever endpoint it goes to.
    uint64_t pos = offset;
    return Run(key, deadline, context, [&](size_t i) {
      Outcome o;
      sink->OnSource(workers_[i]->endpoint());
      o.status = workers_[i]->FetchRange(file, pos, end - pos, sink, deadline, &o.info);
      if (o.info.delivered > 0) {
        pos += o.info.delivered;
        mirrors_.OnServed(i, key.file_key, o.info.delivered);
      }
      if (o.status.ok()) return o;
      o.verdict = CommonVerdict(o.status);
      // The listing says the file exists at this size: a mirror that does
      // not have it (404) or has it shorter (416) is wrong, not the Hub's
      // word; nor is a refusal from the host a mirror sent us to (it gets no
      // token), though it is the answer when no endpoint does better.
      if (o.status.IsNotFound() || o.status.code() == Status::Code::kOutOfRange || o.info.off_host_refusal) {
        o.verdict = Verdict::kMissing;
        o.missing_key = o.info.error_code == "RevisionNotFound" ? key.commit_key : key.file_key;
      }
      return o;
    });
  }

  const std::string& endpoint() const override { return workers_[0]->endpoint(); }
  const std::string& trusted_endpoint() const override { return trust_.trusted_endpoint(); }

  void ReportCorrupt(const FileLocation& file) override {
    const std::string what = RepoDisplayName(file.repo) + "@" + LogSafe(file.commit, 64) + " \"" +
                             LogSafe(file.path) + "\"";
    for (size_t i : mirrors_.ReportCorrupt(FileKey(file), what)) {
      workers_[i]->ForgetSignedUrl(file);
      LogWarning(what + ": bytes from " + workers_[i]->endpoint() +
                 " failed verification; other endpoints go first for this file");
    }
  }

  std::vector<EndpointStats> Stats() const override { return mirrors_.Stats(); }

 private:
  static MirrorSetOptions MirrorOptions(const HubClientOptions& options, uint64_t data_endpoints) {
    MirrorSetOptions m;
    m.metadata_only = ~data_endpoints;
    m.backoff_base = std::max(options.endpoint_backoff_base, Duration::zero());
    m.backoff_max = std::max(options.endpoint_backoff_max, m.backoff_base);
    m.jitter_seed = options.jitter_seed;
    return m;
  }

  // A metadata call: on the trusted endpoint alone when there is one (and,
  // when it cannot be reached, on the mirrors if MetadataTrust allows),
  // else on every endpoint. `origin` is set to who answered.
  Status RunMetadata(RouteKey key, const RepoId& repo, TimePoint deadline, const std::string& context,
                     MetadataOrigin* origin, const std::function<Outcome(size_t)>& attempt) {
    std::optional<size_t> answered;
    auto noted = [&](size_t i) {
      Outcome o = attempt(i);
      if (o.status.ok()) answered = i;
      return o;
    };
    Status s;
    if (const std::optional<size_t> trusted = trust_.trusted()) {
      key.allowed = Bit(*trusted);
      // With a fallback, a trusted endpoint that is down costs one try, not
      // rounds of backoff before the mirrors are asked.
      s = Run(key, deadline, context, noted, trust_.fallback() ? 0 : retry_.max_retries);
      if (!s.ok() && CommonVerdict(s) == Verdict::kEndpointFailure) {
        if (std::optional<Status> refused = trust_.OnTrustedUnreachable(RepoDisplayName(repo), context, s)) {
          return *refused;
        }
        key.allowed = data_endpoints_ & ~Bit(*trusted);
        if (key.allowed != 0) s = Run(key, deadline, context, noted);
      }
    } else {
      s = Run(key, deadline, context, noted);
    }
    if (s.ok() && answered) *origin = MetadataOrigin{workers_[*answered]->endpoint(), answered == trust_.trusted()};
    return s;
  }

  // The failover and retry loop shared by every call (see the file comment).
  Status Run(const RouteKey& key, TimePoint deadline, const std::string& context,
             const std::function<Outcome(size_t)>& attempt, std::optional<int> max_retries = std::nullopt) {
    CallState call(workers_.size(), max_retries.value_or(retry_.max_retries));
    while (true) {
      const TimePoint now = clock_->Now();
      if (now >= deadline) {
        if (call.failures.empty()) return Status::DeadlineExceeded(context + ": deadline passed");
        return Status::DeadlineExceeded(context + ": deadline passed after: " + call.failures.Messages());
      }
      const Route route = mirrors_.Order(key);
      const auto next =
          std::find_if(route.order.begin(), route.order.end(), [&](size_t i) { return !call.tried[i]; });
      if (next == route.order.end()) {
        if (std::optional<Status> result = WaitForSomeone(&call, route, now, deadline, context)) return *result;
        continue;
      }
      const size_t i = *next;
      call.LogPending("; trying " + workers_[i]->endpoint());
      call.tried[i] = true;
      mirrors_.OnAttempt(i);
      if (std::optional<Status> result = Judge(&call, i, attempt(i), key.kind, deadline)) return *result;
    }
  }

  // Nobody is left to ask now. Waits for a server-requested wait to end, or
  // for the backoff before another round; returns the call's result instead
  // when waiting cannot help (or the transport shuts down).
  std::optional<Status> WaitForSomeone(CallState* call, const Route& route, TimePoint now, TimePoint deadline,
                                       const std::string& context) {
    // First: one not yet asked may be under a server-requested wait that
    // ends before the deadline.
    std::optional<TimePoint> unblock;
    for (const auto& [i, until] : route.blocked) {
      if (!call->tried[i]) unblock = std::min(unblock.value_or(until), until);
    }
    if (unblock) {
      if (*unblock >= deadline) return WaitOutDeadline(call, *unblock, now, deadline, context);
      call->LogPending("; waiting " + Seconds(*unblock - now));
      if (!transport_->WaitFor(*unblock - now)) return Shutdown(context);
      return std::nullopt;
    }
    // Everyone was asked in this round: another round, if it may help,
    // once the backoff has passed and someone may be asked again.
    std::optional<Duration> wait;
    if (call->may_heal && call->round < call->max_retries) {
      std::optional<Duration> until_open;
      if (route.order.empty()) {
        for (const auto& [i, until] : route.blocked) {
          until_open = std::min(until_open.value_or(until - now), until - now);
        }
      }
      wait = RetryWait(retry_, call->round, jitter_.Next(), until_open, now, deadline);
      if (!wait && until_open && *until_open >= deadline - now) {
        return WaitOutDeadline(call, now + *until_open, now, deadline, context);
      }
    }
    if (!wait) return call->failures.Summary(context);
    call->LogPending(" (retry " + std::to_string(call->round + 1) + " of " + std::to_string(retry_.max_retries) +
                     " in " + Seconds(*wait) + ")");
    if (!transport_->WaitFor(*wait)) return Shutdown(context);
    call->NextRound();
    return std::nullopt;
  }

  // Every endpoint left is under a server-requested wait that ends at
  // `unblock`, past the deadline: the call waits out its deadline (a read's
  // timeout: the wait may be lifted sooner than announced), then fails.
  Status WaitOutDeadline(CallState* call, TimePoint unblock, TimePoint now, TimePoint deadline,
                         const std::string& context) {
    Status s = Status::Unavailable(context + ": the server asked us to wait " + Seconds(unblock - now) +
                                   ", past the deadline");
    call->LogPending("; waiting out the deadline, " + Seconds(deadline - now));
    if (!transport_->WaitFor(deadline - now)) return Shutdown(context);
    if (call->failures.empty()) return s;
    call->failures.Add(workers_.size(), s);  // not an endpoint, only a message
    return call->failures.Summary(context);
  }

  // Records what the attempt at endpoint i came to; returns the call's
  // result when the call is over.
  std::optional<Status> Judge(CallState* call, size_t i, Outcome o, RequestKind kind, TimePoint deadline) {
    if (o.status.ok()) {
      mirrors_.OnSuccess(i);
      return Status::Ok();
    }
    switch (o.verdict) {
      case Verdict::kFinal:
        return o.status;
      case Verdict::kMissing:
        mirrors_.OnMissing(i, o.missing_key, o.status);
        break;
      case Verdict::kEndpointFailure:
        if (o.status.IsDeadlineExceeded() && clock_->Now() >= deadline) {
          if (call->failures.empty()) return o.status;
          return Status::DeadlineExceeded(o.status.message() + "; before that: " + call->failures.Messages());
        }
        mirrors_.OnFailure(i, o.status, o.info.resolve_limited ? RequestKind::kResolve : kind, o.info.server_wait);
        // A timeout before the deadline is the speed floor or the connect
        // timeout: as good a reason as any to try again.
        call->may_heal = call->may_heal || o.info.retryable || o.status.IsDeadlineExceeded();
        if (o.info.delivered > 0 && call->resumes[i]++ < kMaxResumesPerEndpoint) {
          // Progress: everyone may be asked for the rest, without waiting.
          std::fill(call->tried.begin(), call->tried.end(), false);
        }
        break;
    }
    call->failures.Add(i, o.status);
    call->unlogged = o.status;
    return std::nullopt;
  }

  static Status Shutdown(const std::string& context) { return Status::Unavailable(context + ": shutting down"); }

  HttpTransport* const transport_;
  const bool has_token_;
  Clock* const clock_;
  RetryPolicy retry_;
  JitterSource jitter_;
  const uint64_t data_endpoints_;  // bit i: endpoint i serves bytes (is configured, not trusted-only)
  MirrorSet mirrors_;
  MetadataTrust trust_;
  std::vector<std::unique_ptr<EndpointClient>> workers_;
  Status init_status_;
};

}  // namespace

const char* RepoVisibilityName(RepoVisibility visibility) {
  switch (visibility) {
    case RepoVisibility::kPublic: return "public";
    case RepoVisibility::kGated: return "gated";
    case RepoVisibility::kPrivate: return "private";
    case RepoVisibility::kUnknown: break;
  }
  return "unknown";
}

RepoVisibility RepoVisibilityFromName(std::string_view name) {
  for (RepoVisibility v : {RepoVisibility::kPublic, RepoVisibility::kGated, RepoVisibility::kPrivate}) {
    if (name == RepoVisibilityName(v)) return v;
  }
  return RepoVisibility::kUnknown;
}

std::unique_ptr<HubClient> NewHubClient(const HubClientOptions& options) {
  MountEndpoints e = MakeMountEndpoints(options, kDefaultEndpoint);
  auto client = std::make_unique<MirroredHubClient>(options, std::move(e.endpoints), e.trusted, e.configured);
  if (!e.status.ok()) client->set_init_status(std::move(e.status));
  if (options.offline) client->set_init_status(Status::Unavailable("offline (HF_HUB_OFFLINE=1): nothing is sent"));
  return client;
}

}  // namespace hfm
