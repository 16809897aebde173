// Shared fixture for HubClient tests over several endpoints: hub-a (the
// primary), hub-b and hub-c on one FakeTransport whose waits move a FakeClock,
// a CDN host the endpoints may redirect to, and one 1000-byte file.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "fetch/hub_client.h"
#include "tests/fetch/fake_transport.h"
#include "tests/fetch/hub_test_util.h"
#include "util/clock.h"

namespace hfm {

inline const std::string kHubA = "https://hub-a.test";
inline const std::string kHubB = "https://hub-b.test";
inline const std::string kHubC = "https://hub-c.test";
inline const std::string kCdn = "https://cdn.test";
inline const RepoId kMirrorRepo{RepoKind::kModel, "ns/name"};

class MirrorTest : public ::testing::Test {
 protected:
  MirrorTest() : content_(PseudoRandomBytes(1000)) {
    transport_.set_clock(&clock_);
    file_.repo = kMirrorRepo;
    file_.commit = kCommit;
    file_.path = "model.bin";
    file_.size = content_.size();
    file_.is_lfs = false;  // the endpoints serve bytes on /resolve itself, as for a regular file
  }

  std::unique_ptr<HubClient> Client(std::vector<std::string> endpoints,
                                    Duration retry_backoff = Duration::zero()) {
    HubClientOptions options;
    options.endpoints = std::move(endpoints);
    options.token = kToken;
    options.transport = &transport_;
    options.clock = &clock_;
    options.retry_backoff_base = retry_backoff;
    options.jitter_seed = 7;
    return NewHubClient(options);
  }
  TimePoint Deadline() { return clock_.Now() + std::chrono::seconds(30); }

  static std::string RevisionUrl(const std::string& endpoint, const std::string& rev) {
    return endpoint + "/api/models/ns/name/revision/" + rev;
  }
  static std::string TreeUrl(const std::string& endpoint) {
    return endpoint + "/api/models/ns/name/tree/" + kCommit + "?recursive=true&expand=false";
  }
  std::string ResolveUrl(const std::string& endpoint) const {
    return endpoint + "/ns/name/resolve/" + kCommit + "/" + file_.path;
  }
  static FakeResponse ShaReply() { return Reply(200, R"({"sha":")" + kCommit + R"("})"); }
  static FakeResponse TreeReply() {
    return Reply(200, R"([{"type":"file","oid":"fca794a5f07ff8f963fe8b61e3694b0fb7f955df","size":3,"path":"a.txt"}])");
  }
  static FakeResponse NotFoundReply(const std::string& code) { return Reply(404).Header("x-error-code", code); }

  // `endpoint` serves the file's bytes on /resolve from now on.
  void ServeFile(const std::string& endpoint) {
    const std::string url = ResolveUrl(endpoint);
    transport_.OnAny([this, url](const HttpRequest& r) -> std::optional<FakeResponse> {
      if (r.url != url) return std::nullopt;
      return ServeContent(content_, r);
    });
  }

  // Requests whose URL starts with `prefix`.
  std::vector<HttpRequest> RequestsTo(const std::string& prefix) const {
    std::vector<HttpRequest> out;
    for (const HttpRequest& r : transport_.requests()) {
      if (r.url.rfind(prefix, 0) == 0) out.push_back(r);
    }
    return out;
  }
  int CountTo(const std::string& prefix) const { return static_cast<int>(RequestsTo(prefix).size()); }

  static EndpointStats StatsOf(const HubClient& client, const std::string& endpoint) {
    for (const EndpointStats& s : client.Stats()) {
      if (s.endpoint == endpoint) return s;
    }
    ADD_FAILURE() << "no stats for " << endpoint;
    return EndpointStats();
  }

  FakeTransport transport_;
  FakeClock clock_;
  std::string content_;
  FileLocation file_;
};

}  // namespace hfm
