// FakeTransport: a scripted HttpTransport for tests. Responses are chosen
// per request (by exact URL, by URL prefix, or by a handler function),
// delivered to the sink in small chunks so chunk boundaries get exercised,
// and every request is recorded (URL, headers) with counts per host.
// Answers instantly; no sockets, no sleeps: WaitFor() records the wait and
// moves a FakeClock forward instead.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fetch/content_range.h"
#include "fetch/http_transport.h"
#include "fetch/url.h"
#include "util/clock.h"

namespace hfm {

struct FakeResponse {
  int status = 200;
  HttpHeaders headers;  // names lower-case, as a transport reports them
  std::string body;
  // Non-OK: Perform fails with it after delivering the first
  // `bytes_before_error` body bytes (a connection cut mid-body).
  Status error;
  size_t bytes_before_error = 0;

  FakeResponse& Header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

inline FakeResponse Reply(int status, std::string body = "") {
  FakeResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

inline FakeResponse Fail(Status error, std::string partial_body = "") {
  FakeResponse r;
  r.error = std::move(error);
  r.bytes_before_error = partial_body.size();
  r.body = std::move(partial_body);
  return r;
}

// What a server holding `content` answers to `request`: 206 with the
// requested range when it has a "Range: bytes=a-b" header, 416 when that
// range starts past the end, else 200 with everything.
inline FakeResponse ServeContent(const std::string& content, const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (name != "Range" || value.rfind("bytes=", 0) != 0) continue;
    const std::string spec = value.substr(6);
    const size_t dash = spec.find('-');
    const uint64_t first = std::stoull(spec.substr(0, dash));
    uint64_t last = dash + 1 < spec.size() ? std::stoull(spec.substr(dash + 1)) : content.size() - 1;
    if (first >= content.size()) {
      return Reply(416).Header("content-range", "bytes */" + std::to_string(content.size()));
    }
    last = std::min<uint64_t>(last, content.size() - 1);
    return Reply(206, content.substr(first, last - first + 1))
        .Header("content-range", "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" +
                                     std::to_string(content.size()));
  }
  return Reply(200, content).Header("content-length", std::to_string(content.size()));
}

class FakeTransport : public HttpTransport {
 public:
  using Handler = std::function<std::optional<FakeResponse>(const HttpRequest&)>;

  // Every request for exactly `url` gets `response`.
  void On(const std::string& url, FakeResponse response) {
    std::lock_guard<std::mutex> lock(mu_);
    fixed_[url] = std::move(response);
  }
  // The next request for exactly `url` gets `response` (queued ones are used
  // up first, in order, before On() answers).
  void Then(const std::string& url, FakeResponse response) {
    std::lock_guard<std::mutex> lock(mu_);
    queued_[url].push_back(std::move(response));
  }
  // Asked when no exact URL matches; the first handler that answers wins.
  void OnAny(Handler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    handlers_.push_back(std::move(handler));
  }
  // Body bytes per OnData call.
  void set_chunk_size(size_t n) { chunk_size_ = n; }
  // WaitFor() advances this clock by the wait (borrowed; may be null).
  void set_clock(FakeClock* clock) { clock_ = clock; }

  // The waits asked of WaitFor(), in order.
  std::vector<Duration> waits() const {
    std::lock_guard<std::mutex> lock(mu_);
    return waits_;
  }
  Duration TotalWait() const {
    Duration total{};
    for (Duration d : waits()) total += d;
    return total;
  }

  bool WaitFor(Duration d) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      waits_.push_back(d);
    }
    if (cancelled_) return false;
    if (FakeClock* clock = clock_.load(); clock != nullptr && d > Duration::zero()) clock->Advance(d);
    return true;
  }
  void CancelAll() override { cancelled_ = true; }

  std::vector<HttpRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int CountForHost(const std::string& host) const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& r : requests_) {
      const auto parsed = ParseUrl(r.url);
      if (parsed && parsed->host == host) ++n;
    }
    return n;
  }
  int CountContaining(const std::string& fragment) const {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& r : requests_) n += r.url.find(fragment) != std::string::npos ? 1 : 0;
    return n;
  }

  Result<HttpResponseHead> Perform(const HttpRequest& request, BodySink* sink) override {
    if (cancelled_) return Status::Unavailable(request.url + ": shutting down");
    std::optional<FakeResponse> response;
    std::vector<Handler> handlers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(request);
      auto q = queued_.find(request.url);
      if (q != queued_.end() && !q->second.empty()) {
        response = std::move(q->second.front());
        q->second.pop_front();
      } else if (auto f = fixed_.find(request.url); f != fixed_.end()) {
        response = f->second;
      }
      handlers = handlers_;
    }
    for (const Handler& h : handlers) {
      if (response) break;
      response = h(request);
    }
    if (!response) response = Reply(404).Header("x-error-code", "EntryNotFound");
    if (!response->error.ok() && response->bytes_before_error == 0) return response->error;

    HttpResponseHead head;
    head.status = response->status;
    head.headers = response->headers;
    if (!sink->OnHead(head)) return head;
    const size_t limit = response->error.ok() ? response->body.size() : response->bytes_before_error;
    for (size_t at = 0; at < limit;) {
      const size_t n = std::min(chunk_size_.load(), limit - at);
      if (!sink->OnData(response->body.data() + at, n)) return head;
      at += n;
    }
    if (!response->error.ok()) return response->error;
    return head;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, FakeResponse> fixed_;
  std::map<std::string, std::deque<FakeResponse>> queued_;
  std::vector<Handler> handlers_;
  std::vector<HttpRequest> requests_;
  std::vector<Duration> waits_;
  std::atomic<size_t> chunk_size_{7};
  std::atomic<FakeClock*> clock_{nullptr};
  std::atomic<bool> cancelled_{false};
};

// The value of request header `name` (as sent), or nullopt.
inline std::optional<std::string> RequestHeader(const HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

}  // namespace hfm
