// EndpointClient's rules for where the token and credentials may go: never
// in clear text to a host that is not loopback or admin-named, never from a
// URL's userinfo, never after an https -> http redirect, and never a signed
// query string in a log line.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "fetch/endpoint_client.h"
#include "tests/fetch/hub_test_util.h"

namespace hfm {
namespace {

const RepoId kRepo{RepoKind::kModel, "ns/name"};
const std::string kSha = R"({"sha":"0123456789abcdef0123456789abcdef01234567"})";

class EndpointTokenTest : public ::testing::Test {
 protected:
  EndpointTokenTest() { transport_.set_clock(&clock_); }

  std::unique_ptr<EndpointClient> Client(const std::string& endpoint, std::vector<std::string> http_hosts = {}) {
    EndpointClientOptions o;
    o.endpoint = endpoint;
    o.token = kToken;
    o.token_http_hosts = std::move(http_hosts);
    o.transport = &transport_;
    o.clock = &clock_;
    return std::make_unique<EndpointClient>(o);
  }
  TimePoint Deadline() { return clock_.Now() + std::chrono::seconds(60); }

  // Resolves "main" at `endpoint`; whether the one request carried the token.
  bool TokenSentTo(const std::string& endpoint, std::vector<std::string> http_hosts = {}) {
    transport_.On(endpoint + "/api/models/ns/name/revision/main", Reply(200, kSha));
    auto client = Client(endpoint, std::move(http_hosts));
    AttemptInfo info;
    const size_t before = transport_.requests().size();
    auto commit = client->ResolveRevision(kRepo, "main", Deadline(), &info);
    EXPECT_TRUE(commit.ok()) << commit.status().ToString();
    const auto requests = transport_.requests();
    EXPECT_EQ(requests.size(), before + 1);
    return RequestHeader(requests.back(), "Authorization").has_value();
  }

  FakeTransport transport_;
  FakeClock clock_;
};

TEST_F(EndpointTokenTest, PlainHttpToAForeignHostGetsNoTokenAndOneWarning) {
  testing::internal::CaptureStderr();
  EXPECT_FALSE(TokenSentTo("http://mirror.example"));
  EXPECT_FALSE(TokenSentTo("http://10.1.2.3:8080"));
  EXPECT_FALSE(TokenSentTo("http://127.evil.example"));  // a name, not a loopback address
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("endpoint http://mirror.example is plain http"), std::string::npos) << log;
  EXPECT_NE(log.find("endpoint http://10.1.2.3:8080 is plain http"), std::string::npos) << log;
  EXPECT_EQ(log.find(kToken), std::string::npos) << log;
}

TEST_F(EndpointTokenTest, LoopbackHttpsAndAdminNamedHostsGetTheToken) {
  EXPECT_TRUE(TokenSentTo("http://127.0.0.1:8080"));
  EXPECT_TRUE(TokenSentTo("http://127.4.5.6"));
  EXPECT_TRUE(TokenSentTo("http://localhost:9"));
  EXPECT_TRUE(TokenSentTo("http://[::1]:9"));
  EXPECT_TRUE(TokenSentTo("https://mirror.example"));
  EXPECT_TRUE(TokenSentTo("http://mirror.example", {"other.example", "MIRROR.example"}));
  EXPECT_TRUE(Client("http://mirror.example", {"mirror.example"})->sends_token());
  EXPECT_FALSE(Client("http://mirror.example", {"other.example"})->sends_token());
}

TEST_F(EndpointTokenTest, UserinfoInTheEndpointIsRefusedWithoutEchoingIt) {
  testing::internal::CaptureStderr();
  auto client = Client("http://user:s3cret@127.0.0.1:8080");
  AttemptInfo info;
  auto commit = client->ResolveRevision(kRepo, "main", Deadline(), &info);
  const std::string log = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(client->init_status().ok());
  EXPECT_TRUE(client->init_status().code() == Status::Code::kInvalidArgument);
  EXPECT_NE(client->init_status().message().find("user name or password"), std::string::npos);
  EXPECT_EQ(client->init_status().message().find("s3cret"), std::string::npos) << client->init_status().message();
  ASSERT_FALSE(commit.ok());
  EXPECT_EQ(commit.status().message().find("s3cret"), std::string::npos);
  EXPECT_EQ(log.find("s3cret"), std::string::npos) << log;
  EXPECT_TRUE(transport_.requests().empty());
}

TEST_F(EndpointTokenTest, ApiRedirectFromHttpsToHttpIsRefusedNotRetried) {
  const std::string url = std::string(kEndpoint) + "/api/models/ns/name/revision/main";
  transport_.On(url, Reply(302).Header("location", "http://hub.test/api/models/ns/name/revision/main"));
  transport_.On("http://hub.test/api/models/ns/name/revision/main", Reply(200, kSha));
  auto client = Client(kEndpoint);
  AttemptInfo info;
  auto commit = client->ResolveRevision(kRepo, "main", Deadline(), &info);
  ASSERT_FALSE(commit.ok());
  EXPECT_TRUE(commit.status().IsDataLoss()) << commit.status().ToString();
  EXPECT_NE(commit.status().message().find("https down to http"), std::string::npos);
  EXPECT_FALSE(info.retryable);
  EXPECT_EQ(transport_.requests().size(), 1u);
}

TEST_F(EndpointTokenTest, ResolveRedirectFromHttpsToHttpIsRefused) {
  const std::string content = PseudoRandomBytes(100);
  const std::string resolve = std::string(kEndpoint) + "/ns/name/resolve/" + kCommit + "/w.bin";
  transport_.On(resolve, Reply(302).Header("location", "http://cdn.test/w.bin?X-Amz-Signature=abc"));
  transport_.OnAny([&](const HttpRequest& r) -> std::optional<FakeResponse> {
    if (r.url.starts_with("http://cdn.test/")) return ServeContent(content, r);
    return std::nullopt;
  });
  FileLocation file{kRepo, kCommit, "w.bin", content.size()};
  StringRangeSink sink;
  AttemptInfo info;
  Status s = Client(kEndpoint)->FetchRange(file, 0, content.size(), &sink, Deadline(), &info);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsDataLoss()) << s.ToString();
  EXPECT_FALSE(info.retryable);
  EXPECT_EQ(transport_.CountForHost("cdn.test"), 0);
  EXPECT_EQ(s.message().find("X-Amz-Signature"), std::string::npos) << s.message();
}

TEST_F(EndpointTokenTest, SignedQueryStringsNeverReachALogLine) {
  const std::string content = PseudoRandomBytes(100);
  const std::string resolve = std::string(kEndpoint) + "/ns/name/resolve/" + kCommit + "/w.bin";
  const std::string signed_url = "https://cdn.test/w.bin?Expires=1&Policy=p0l1cy&Signature=s1gn&token=t0k";
  transport_.On(resolve, Reply(302).Header("location", signed_url));
  transport_.Then(signed_url, ServeContent(content, HttpRequest{}));
  transport_.On(signed_url, Reply(403));  // the cached location expires: logged, then resolved again
  FileLocation file{kRepo, kCommit, "w.bin", content.size()};
  auto client = Client(kEndpoint);
  testing::internal::CaptureStderr();
  for (int i = 0; i < 2; ++i) {
    StringRangeSink sink;
    AttemptInfo info;
    Status s = client->FetchRange(file, 0, content.size(), &sink, Deadline(), &info);
    for (const char* secret : {"p0l1cy", "s1gn", "t0k", "Expires="}) {
      EXPECT_EQ(s.message().find(secret), std::string::npos) << s.message();
    }
  }
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("https://cdn.test/w.bin"), std::string::npos) << "the log names host and path: " << log;
  for (const char* secret : {"p0l1cy", "s1gn", "t0k", "Expires="}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << log;
  }
}

}  // namespace
}  // namespace hfm
