// CurlTransport: HttpTransport over libcurl's multi interface. One thread
// owns the CURLM handle and drives every transfer; Perform() prepares an
// easy handle (pooled, so connections, TLS sessions and DNS entries are
// reused), queues it, wakes the thread with curl_multi_wakeup and waits on a
// condition variable. Body bytes reach the BodySink on the curl thread.
//
// CancelAll() sets a flag the curl thread acts on at its next wakeup: it
// removes every active and queued transfer and finishes it as cancelled, so
// callers waiting on a silent server return within one loop turn.
//
// Thread safety: Perform(), WaitFor() and CancelAll() may be called from any
// number of threads. The destructor must not run while a Perform() is in
// flight.
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "fetch/http_transport.h"
#include "fetch/url.h"
#include "util/log.h"
#include "util/mutex.h"

namespace hfm {
namespace {

constexpr long kBufferSize = 256 << 10;
constexpr size_t kMaxPooledHandles = 64;
constexpr size_t kMaxResponseHeaders = 256;
constexpr int kPollTimeoutMs = 1000;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r' || v.back() == '\n')) {
    v.remove_suffix(1);
  }
  return v;
}

bool HasLineBreakOrNul(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != s.npos; }

// One exchange, shared by the caller's thread and the curl thread. Fields
// the callbacks touch are written only by the curl thread until `done` is
// set under the transport's mutex, which publishes them to the caller.
struct Transfer {
  // `mu` is the transport's mutex, which guards `done`.
  explicit Transfer(Mutex* transport_mu) : mu(transport_mu), cv(transport_mu) {}

  const HttpRequest* request = nullptr;
  BodySink* sink = nullptr;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  HttpResponseHead head;
  bool head_delivered = false;
  bool aborted_by_sink = false;
  bool cancelled = false;  // written by the curl thread before `done`
  CURLcode result = CURLE_OK;
  char error[CURL_ERROR_SIZE] = {};
  Mutex* const mu;
  bool done GUARDED_BY(mu) = false;
  CondVar cv;
};

size_t HeaderCallback(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string_view line(buffer, n);
  if (line.size() >= 5 && line.substr(0, 5) == "HTTP/") {
    // A new response starts (an interim 1xx, a proxy's CONNECT answer, or
    // the final one): only the last one's headers count.
    t->head = HttpResponseHead();
    const size_t space = line.find(' ');
    if (space != std::string_view::npos) {
      int status = 0;
      size_t i = space + 1;
      for (int digits = 0; i < line.size() && digits < 3 && line[i] >= '0' && line[i] <= '9'; ++i, ++digits) {
        status = status * 10 + (line[i] - '0');
      }
      t->head.status = status;
    }
    return n;
  }
  const std::string_view trimmed = Trim(line);
  if (trimmed.empty()) return n;
  if ((line[0] == ' ' || line[0] == '\t') && !t->head.headers.empty()) {
    // Obsolete line folding: the line continues the previous value.
    std::string& value = t->head.headers.back().second;
    value.append(" ").append(trimmed);
    return n;
  }
  const size_t colon = trimmed.find(':');
  if (colon == std::string_view::npos || t->head.headers.size() >= kMaxResponseHeaders) return n;
  std::string name(Trim(trimmed.substr(0, colon)));
  for (char& c : name) c = ToLower(c);
  t->head.headers.emplace_back(std::move(name), std::string(Trim(trimmed.substr(colon + 1))));
  return n;
}

size_t WriteCallback(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
#ifdef CURL_WRITEFUNC_ERROR
  constexpr size_t kAbort = CURL_WRITEFUNC_ERROR;
#else
  const size_t kAbort = n == 0 ? 1 : 0;
#endif
  if (t->aborted_by_sink) return kAbort;
  if (!t->head_delivered) {
    t->head_delivered = true;
    long code = 0;
    if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code > 0) {
      t->head.status = static_cast<int>(code);
    }
    if (!t->sink->OnHead(t->head)) {
      t->aborted_by_sink = true;
      return kAbort;
    }
  }
  if (n == 0) return 0;
  if (!t->sink->OnData(data, n)) {
    t->aborted_by_sink = true;
    return kAbort;
  }
  return n;
}

Status MapCurlError(const Transfer& t) {
  std::string message = t.request->method + " " + StripQuery(t.request->url) + ": " +
                        curl_easy_strerror(t.result);
  if (t.error[0] != '\0') message += std::string(" (") + t.error + ")";
  switch (t.result) {
    case CURLE_OPERATION_TIMEDOUT:
      return Status::DeadlineExceeded(message);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Status::InvalidArgument(message);
    case CURLE_OUT_OF_MEMORY:
      return Status::Internal(message);
    default:
      // Connect, DNS, TLS, reset, partial file, receive errors: the network
      // failed us, a retry may not.
      return Status::Unavailable(message);
  }
}

class CurlTransport : public HttpTransport {
 public:
  explicit CurlTransport(const CurlTransportOptions& options) : options_(options) {
    GlobalInitOnce();
    multi_ = curl_multi_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, options_.max_connections_per_host);
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, static_cast<long>(CURLPIPE_MULTIPLEX));
    thread_ = std::thread([this] { Loop(); });
  }

  ~CurlTransport() override {
    {
      MutexLock lock(&mu_);
      stop_ = true;
    }
    curl_multi_wakeup(multi_);
    thread_.join();
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
  }

  Result<HttpResponseHead> Perform(const HttpRequest& request, BodySink* sink) override {
    const std::string what = request.method + " " + StripQuery(request.url);
    if (IsCancelled()) return Status::Unavailable(what + ": shutting down");
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        request.deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) return Status::DeadlineExceeded(what + ": deadline already passed");
    if (sink == nullptr) return Status::InvalidArgument(what + ": no sink");
    if (request.method != "GET" && request.method != "HEAD" && request.method != "POST") {
      return Status::InvalidArgument(what + ": unsupported method");
    }
    if (HasLineBreakOrNul(request.url)) return Status::InvalidArgument(what + ": line break in URL");
    Transfer t(&mu_);
    t.request = &request;
    t.sink = sink;
    Status headers = BuildHeaderList(request, &t.header_list);
    if (!headers.ok()) return Status(headers.code(), what + ": " + headers.message());

    t.easy = TakeHandle();
    if (t.easy == nullptr) {
      curl_slist_free_all(t.header_list);
      return Status::Internal(what + ": curl_easy_init failed");
    }
    Configure(&t, remaining.count());
    RunOnCurlThread(&t);
    const bool complete = t.result == CURLE_OK;
    long code = 0;
    if (complete && !t.head_delivered &&
        curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code > 0) {
      t.head.status = static_cast<int>(code);
    }
    curl_slist_free_all(t.header_list);
    ReturnHandle(t.easy);

    if (t.cancelled) return Status::Unavailable(what + ": shutting down");
    const bool stopped = t.aborted_by_sink && (t.result == CURLE_WRITE_ERROR || complete);
    if (!complete && !stopped) return MapCurlError(t);
    // An empty body never reached the write callback.
    if (!t.head_delivered && !t.aborted_by_sink) sink->OnHead(t.head);
    return std::move(t.head);
  }

  bool WaitFor(Duration d) override {
    MutexLock lock(&mu_);
    return !cancel_cv_.WaitUntil(&mu_, std::chrono::steady_clock::now() + d,
                                 [this]() REQUIRES(mu_) { return cancelled_; });
  }

  void CancelAll() override {
    {
      MutexLock lock(&mu_);
      cancelled_ = true;
    }
    cancel_cv_.SignalAll();
    curl_multi_wakeup(multi_);
  }

 private:
  bool IsCancelled() {
    MutexLock lock(&mu_);
    return cancelled_;
  }

  // The request's headers as curl's list, into *list (null when there are
  // none); on failure nothing is left allocated.
  static Status BuildHeaderList(const HttpRequest& request, curl_slist** list) {
    auto append = [list](const std::string& line) {
      curl_slist* grown = curl_slist_append(*list, line.c_str());
      if (grown == nullptr) {
        curl_slist_free_all(*list);
        *list = nullptr;
        return false;
      }
      *list = grown;
      return true;
    };
    for (const auto& [name, value] : request.headers) {
      if (name.empty() || HasLineBreakOrNul(name) || HasLineBreakOrNul(value) ||
          name.find(':') != std::string::npos) {
        curl_slist_free_all(*list);
        *list = nullptr;
        return Status::InvalidArgument("malformed request header");
      }
      // "Name;" sends an empty header; "Name:" would remove it.
      if (!append(value.empty() ? name + ";" : name + ": " + value)) return Status::Internal("out of memory");
    }
    // curl would add "Expect: 100-continue" to larger POSTs: one more round trip.
    if (request.method == "POST" && !append("Expect:")) return Status::Internal("out of memory");
    return Status::Ok();
  }

  // Hands `t` to the curl thread and waits until it finishes it.
  void RunOnCurlThread(Transfer* t) {
    MutexLock lock(&mu_);
    // Queued even when cancelled meanwhile: the curl thread then finishes
    // it as cancelled, and the caller returns the handle to the pool.
    pending_.push_back(t);
    curl_multi_wakeup(multi_);
    t->mu->AssertHeld();  // t->mu is mu_, which the analysis cannot see
    t->cv.Wait(t->mu, [t]() REQUIRES(t->mu) { return t->done; });
  }

  void Configure(Transfer* t, long timeout_ms) {
    CURL* e = t->easy;
    const HttpRequest& r = *t->request;
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);  // the caller decides where a token goes
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, kBufferSize);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    const long connect_ms = static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(r.connect_timeout).count());
    if (connect_ms > 0) curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, std::min(connect_ms, timeout_ms));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, r.low_speed_bytes);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, r.low_speed_seconds);
    curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->header_list);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, HeaderCallback);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, WriteCallback);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    const long verify = options_.insecure ? 0L : 1L;
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, verify);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, options_.insecure ? 0L : 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (r.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (r.method == "POST") {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.c_str());
    }
  }

  CURL* TakeHandle() {
    {
      MutexLock lock(&mu_);
      if (!idle_.empty()) {
        CURL* easy = idle_.back();
        idle_.pop_back();
        return easy;
      }
    }
    return curl_easy_init();
  }

  void ReturnHandle(CURL* easy) {
    // Reset drops the options that point into this call's request; the
    // connection cache lives in the multi handle and survives.
    curl_easy_reset(easy);
    MutexLock lock(&mu_);
    if (idle_.size() < kMaxPooledHandles) {
      idle_.push_back(easy);
      return;
    }
    curl_easy_cleanup(easy);
  }

  void Finish(Transfer* t, CURLcode result, bool cancelled = false) {
    MutexLock lock(t->mu);
    t->result = result;
    t->cancelled = cancelled;
    t->done = true;
    // Notify under the lock: once `done` is visible the caller may return
    // and destroy `t`, cv included.
    t->cv.Signal();
  }

  // The curl thread: adds queued transfers, drives the multi handle, and
  // finishes completed transfers.
  void Loop() {
    std::unordered_set<Transfer*> active;
    while (true) {
      std::deque<Transfer*> incoming;
      bool cancelled = false;
      {
        MutexLock lock(&mu_);
        if (stop_) break;
        incoming.swap(pending_);
        cancelled = cancelled_;
      }
      if (cancelled) {
        for (Transfer* t : active) {
          curl_multi_remove_handle(multi_, t->easy);
          Finish(t, CURLE_ABORTED_BY_CALLBACK, /*cancelled=*/true);
        }
        active.clear();
        for (Transfer* t : incoming) Finish(t, CURLE_ABORTED_BY_CALLBACK, /*cancelled=*/true);
        incoming.clear();
      }
      for (Transfer* t : incoming) {
        if (curl_multi_add_handle(multi_, t->easy) != CURLM_OK) {
          Finish(t, CURLE_FAILED_INIT);
          continue;
        }
        active.insert(t);
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      int queued = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg != CURLMSG_DONE) continue;
        Transfer* t = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
        const CURLcode result = msg->data.result;
        curl_multi_remove_handle(multi_, msg->easy_handle);
        active.erase(t);
        Finish(t, result);
      }
      curl_multi_poll(multi_, nullptr, 0, kPollTimeoutMs, nullptr);
    }
    // Shutting down with transfers in flight breaks the destructor's
    // contract; fail them rather than leave their callers waiting forever.
    for (Transfer* t : active) {
      curl_multi_remove_handle(multi_, t->easy);
      Finish(t, CURLE_ABORTED_BY_CALLBACK);
    }
    std::deque<Transfer*> rest;
    {
      MutexLock lock(&mu_);
      rest.swap(pending_);
    }
    for (Transfer* t : rest) Finish(t, CURLE_ABORTED_BY_CALLBACK);
  }

  const CurlTransportOptions options_;
  CURLM* multi_ = nullptr;  // used only by the curl thread, and by wakeup
  std::thread thread_;
  Mutex mu_;
  std::deque<Transfer*> pending_ GUARDED_BY(mu_);
  std::vector<CURL*> idle_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  bool cancelled_ GUARDED_BY(mu_) = false;
  CondVar cancel_cv_{&mu_};  // WaitFor() sleeps on it
};

}  // namespace

std::unique_ptr<HttpTransport> NewCurlTransport(const CurlTransportOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

}  // namespace hfm
