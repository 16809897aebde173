// HttpTransport: the one door to the network. Every HTTP exchange of the
// fetch layer goes through Perform(), so tests can swap in a scripted fake or a
// fault-injecting wrapper without a socket (like LevelDB's Env).
//
// A transport never follows redirects (the caller decides where a token may
// go) and never decodes content (callers send Accept-Encoding: identity).
//
// Shutdown: CancelAll() makes every Perform() in flight return Unavailable
// ("shutting down") promptly and every later one fail at once, and wakes every
// WaitFor(); the filesystem calls it at unmount so no thread is left waiting
// on a hung server or a long backoff.
//
// Thread safety: every method may be called from many threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/clock.h"
#include "util/status.h"

namespace hfm {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD or POST
  std::string url;             // absolute, already percent-encoded
  HttpHeaders headers;         // sent as given
  std::string body;            // POST only
  TimePoint deadline;          // the whole exchange must end by then
  // Abort when fewer than low_speed_bytes arrive per second for
  // low_speed_seconds in a row (a stalled or trickling server). 0 = off.
  long low_speed_bytes = 0;
  long low_speed_seconds = 0;
  // Give up on connecting (DNS, TCP, TLS) after this long, so a host that
  // drops packets costs seconds, not the whole deadline. Zero = deadline only.
  Duration connect_timeout = Duration::zero();
};

struct HttpResponseHead {
  int status = 0;
  HttpHeaders headers;  // names lower-cased, values trimmed, in arrival order

  // The first value of header `name` (lower-case), or "" if absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

// Receives a response as it arrives. Returning false from either method
// aborts the transfer; Perform() then still returns the head.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // Called once, after all headers of the final response and before any body.
  virtual bool OnHead(const HttpResponseHead& head) { (void)head; return true; }
  virtual bool OnData(const char* data, size_t len) = 0;
};

// Collects the whole body into a string, up to a limit (then aborts).
class StringSink : public BodySink {
 public:
  explicit StringSink(size_t limit = 64u << 20) : limit_(limit) {}
  bool OnData(const char* data, size_t len) override;
  const std::string& body() const { return body_; }
  bool overflowed() const { return overflowed_; }

 private:
  size_t limit_;
  std::string body_;
  bool overflowed_ = false;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Performs one exchange. Returns the response head for any HTTP status
  // (4xx/5xx included); a non-OK Status only when no complete response came:
  // Unavailable for connect/DNS/TLS/reset/truncated-body errors, DeadlineExceeded
  // past request.deadline or under the speed floor.
  virtual Result<HttpResponseHead> Perform(const HttpRequest& request, BodySink* sink) = 0;

  // Blocks for `d` (the fetch layer's only sleep: backoff before a retry) or
  // until CancelAll(). Returns false when cancelled, true otherwise. The
  // default sleeps on the real clock and cannot be cut short.
  virtual bool WaitFor(Duration d);

  // Aborts every exchange in flight and fails every later one and every
  // later WaitFor() at once. Irreversible. The default does nothing.
  virtual void CancelAll() {}
};

struct CurlTransportOptions {
  std::string ca_file;          // extra CA bundle; "" = system store only
  bool insecure = false;        // skip TLS verification (never the default)
  long max_connections_per_host = 16;
  std::string user_agent = "hfmirror/0.1";
};

// The real transport: one thread owns a curl multi handle; Perform() hands it
// an easy handle and waits. Connections are reused across calls.
std::unique_ptr<HttpTransport> NewCurlTransport(const CurlTransportOptions& options);

}  // namespace hfm
