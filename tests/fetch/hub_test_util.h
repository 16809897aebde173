// Shared fixture for HubClient tests: a client on a FakeTransport and a
// FakeClock, with zero retry backoff so retries never sleep.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "fetch/hub_client.h"
#include "tests/fetch/fake_transport.h"
#include "util/clock.h"

namespace hfm {

inline constexpr char kEndpoint[] = "https://hub.test";
inline constexpr char kToken[] = "hf_SECRET_token";
inline const std::string kCommit = "0123456789abcdef0123456789abcdef01234567";

class HubClientTest : public ::testing::Test {
 protected:
  HubClientTest() { transport_.set_clock(&clock_); }

  std::unique_ptr<HubClient> Client(std::string token = kToken, Duration backoff = Duration::zero()) {
    HubClientOptions options;
    options.endpoint = kEndpoint;
    options.token = std::move(token);
    options.transport = &transport_;
    options.clock = &clock_;
    options.retry_backoff_base = backoff;
    options.jitter_seed = 1;
    return NewHubClient(options);
  }
  TimePoint Deadline() { return clock_.Now() + std::chrono::seconds(60); }

  // Every request was sent with Authorization exactly when it went to the
  // endpoint's host.
  void ExpectTokenOnlyToHub() {
    for (const HttpRequest& r : transport_.requests()) {
      const auto auth = RequestHeader(r, "Authorization");
      if (r.url.rfind(std::string(kEndpoint) + "/", 0) == 0) {
        EXPECT_EQ(auth, std::string("Bearer ") + kToken) << r.url;
      } else {
        EXPECT_FALSE(auth) << "token sent to " << r.url;
      }
    }
  }

  FakeTransport transport_;
  FakeClock clock_;
};

// `n` bytes of repeatable noise: a file's content.
inline std::string PseudoRandomBytes(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (char& c : s) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 16);
  }
  return s;
}

// Collects delivered bytes; can ask to stop after `stop_after` bytes.
class StringRangeSink : public RangeSink {
 public:
  explicit StringRangeSink(size_t stop_after = SIZE_MAX) : stop_after_(stop_after) {}
  bool OnBytes(const char* data, size_t len) override {
    bytes.append(data, len);
    return bytes.size() < stop_after_;
  }
  std::string bytes;

 private:
  size_t stop_after_;
};

}  // namespace hfm
