// HubClient::ResolveRevision: URLs, the token, error mapping and retries.
#include <gtest/gtest.h>

#include <chrono>

#include "tests/fetch/hub_test_util.h"

namespace hfm {
namespace {

const RepoId kRepo{RepoKind::kModel, "ns/name"};
const std::string kInfoUrl = std::string(kEndpoint) + "/api/models/ns/name";
const std::string kMainUrl = kInfoUrl + "/revision/main";

std::string ShaJson(const std::string& sha) { return R"({"sha":")" + sha + R"(","siblings":[],"private":false})"; }

TEST_F(HubClientTest, ResolvesTheDefaultBranch) {
  transport_.On(kInfoUrl, Reply(200, ShaJson(kCommit)));
  auto commit = Client()->ResolveRevision(kRepo, "", Deadline());
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_EQ(*commit, kCommit);
  ExpectTokenOnlyToHub();
  ASSERT_EQ(transport_.requests().size(), 1u);
  EXPECT_EQ(transport_.requests()[0].method, "GET");
}

TEST_F(HubClientTest, RevisionIsOneEncodedSegment) {
  transport_.On(kInfoUrl + "/revision/refs%2Fpr%2F1", Reply(200, ShaJson(kCommit)));
  auto commit = Client()->ResolveRevision(kRepo, "refs/pr/1", Deadline());
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_EQ(*commit, kCommit);
}

TEST_F(HubClientTest, DatasetsAndSpacesUseTheirKind) {
  transport_.On(std::string(kEndpoint) + "/api/datasets/ns/data/revision/v1", Reply(200, ShaJson(kCommit)));
  transport_.On(std::string(kEndpoint) + "/api/spaces/ns/app", Reply(200, ShaJson(kCommit)));
  EXPECT_TRUE(Client()->ResolveRevision({RepoKind::kDataset, "ns/data"}, "v1", Deadline()).ok());
  EXPECT_TRUE(Client()->ResolveRevision({RepoKind::kSpace, "ns/app"}, "", Deadline()).ok());
}

TEST_F(HubClientTest, CommitIsLowerCased) {
  std::string upper = kCommit;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  transport_.On(kMainUrl, Reply(200, ShaJson(upper)));
  EXPECT_EQ(*Client()->ResolveRevision(kRepo, "main", Deadline()), kCommit);
}

TEST_F(HubClientTest, AnonymousSendsNoToken) {
  transport_.On(kMainUrl, Reply(200, ShaJson(kCommit)));
  ASSERT_TRUE(Client("")->ResolveRevision(kRepo, "main", Deadline()).ok());
  EXPECT_FALSE(RequestHeader(transport_.requests()[0], "Authorization"));
}

TEST_F(HubClientTest, BadAnswersAreDataLoss) {
  for (const char* body : {"", "not json", "[]", R"({"sha":5})", R"({"sha":"abc"})", R"({"id":"x"})",
                           R"({"sha":"0123456789abcdef0123456789abcdef0123456z"})"}) {
    transport_.On(kMainUrl, Reply(200, body));
    auto r = Client()->ResolveRevision(kRepo, "main", Deadline());
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_TRUE(r.status().IsDataLoss()) << body << " " << r.status().ToString();
  }
}

TEST_F(HubClientTest, BadRepoNamesNeverReachTheNetwork) {
  for (const char* name : {"", "a/b/c", "../x", "ns/..", "a b", "ns/name?x", "ns/name#", "/abs"}) {
    auto r = Client()->ResolveRevision({RepoKind::kModel, name}, "main", Deadline());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << name;
  }
  EXPECT_TRUE(transport_.requests().empty());
}

struct ErrorCase {
  int status;
  const char* error_code;
  const char* error_message;
  Status::Code expected;
};

class ResolveErrorTest : public HubClientTest, public ::testing::WithParamInterface<ErrorCase> {};

TEST_P(ResolveErrorTest, MapsStatusAndErrorCode) {
  const ErrorCase& c = GetParam();
  FakeResponse response = Reply(c.status, "{\"error\":\"x\"}");
  if (*c.error_code) response.Header("x-error-code", c.error_code);
  if (*c.error_message) response.Header("x-error-message", c.error_message);
  transport_.On(kMainUrl, response);
  auto r = Client()->ResolveRevision(kRepo, "main", Deadline());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), c.expected) << r.status().ToString();
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("ns/name"), std::string::npos) << m;
  EXPECT_NE(m.find("main"), std::string::npos) << m;
  EXPECT_NE(m.find(kEndpoint), std::string::npos) << m;
  EXPECT_EQ(m.find(kToken), std::string::npos) << m;
}

INSTANTIATE_TEST_SUITE_P(
    Hub, ResolveErrorTest,
    ::testing::Values(ErrorCase{404, "RepoNotFound", "", Status::Code::kNotFound},
                      ErrorCase{404, "RevisionNotFound", "Invalid rev id: main", Status::Code::kNotFound},
                      ErrorCase{404, "EntryNotFound", "", Status::Code::kNotFound},
                      ErrorCase{404, "", "", Status::Code::kNotFound},
                      ErrorCase{401, "RepoNotFound", "", Status::Code::kNotFound},
                      ErrorCase{401, "GatedRepo", "", Status::Code::kPermissionDenied},
                      ErrorCase{403, "GatedRepo", "", Status::Code::kPermissionDenied},
                      ErrorCase{403, "", "Access to this resource is disabled.", Status::Code::kPermissionDenied},
                      ErrorCase{401, "", "Invalid credentials in Authorization header",
                                Status::Code::kPermissionDenied},
                      ErrorCase{408, "", "", Status::Code::kUnavailable},
                      ErrorCase{429, "", "", Status::Code::kUnavailable},
                      ErrorCase{500, "", "", Status::Code::kUnavailable},
                      ErrorCase{503, "", "", Status::Code::kUnavailable}));

TEST_F(HubClientTest, RetriesTransientErrorsThenSucceeds) {
  transport_.Then(kMainUrl, Reply(503));
  transport_.Then(kMainUrl, Reply(429));
  transport_.Then(kMainUrl, Fail(Status::Unavailable("connection reset")));
  transport_.On(kMainUrl, Reply(200, ShaJson(kCommit)));
  auto r = Client()->ResolveRevision(kRepo, "main", Deadline());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(transport_.requests().size(), 4u);
}

TEST_F(HubClientTest, GivesUpAfterThreeRetries) {
  transport_.On(kMainUrl, Reply(502));
  auto r = Client()->ResolveRevision(kRepo, "main", Deadline());
  EXPECT_TRUE(r.status().IsUnavailable()) << r.status().ToString();
  EXPECT_EQ(transport_.requests().size(), 4u);
}

TEST_F(HubClientTest, DoesNotRetryPermanentErrors) {
  transport_.On(kMainUrl, Reply(404).Header("x-error-code", "RevisionNotFound"));
  EXPECT_TRUE(Client()->ResolveRevision(kRepo, "main", Deadline()).status().IsNotFound());
  EXPECT_EQ(transport_.requests().size(), 1u);
}

TEST_F(HubClientTest, NoBackoffSleepWhenTheDeadlineIsNear) {
  transport_.On(kMainUrl, Reply(503));
  // A 1 s backoff cannot fit in 500 ms: fail at once instead of sleeping.
  auto client = Client(kToken, std::chrono::seconds(1));
  const auto start = std::chrono::steady_clock::now();
  auto r = client->ResolveRevision(kRepo, "main", clock_.Now() + std::chrono::milliseconds(500));
  EXPECT_TRUE(r.status().IsUnavailable()) << r.status().ToString();
  EXPECT_EQ(transport_.requests().size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
}

TEST_F(HubClientTest, PassedDeadlineSendsNothing) {
  auto r = Client()->ResolveRevision(kRepo, "main", clock_.Now());
  EXPECT_TRUE(r.status().IsDeadlineExceeded());
  EXPECT_TRUE(transport_.requests().empty());
}

TEST_F(HubClientTest, FollowsARenamedRepoRedirectWithTheToken) {
  transport_.On(kMainUrl, Reply(307).Header("location", "/api/models/ns/new-name/revision/main"));
  transport_.On(std::string(kEndpoint) + "/api/models/ns/new-name/revision/main", Reply(200, ShaJson(kCommit)));
  auto r = Client()->ResolveRevision(kRepo, "main", Deadline());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(transport_.requests().size(), 2u);
  ExpectTokenOnlyToHub();
}

TEST_F(HubClientTest, ApiRedirectLoopIsUnavailable) {
  transport_.On(kMainUrl, Reply(302).Header("location", "/elsewhere"));
  transport_.On(std::string(kEndpoint) + "/elsewhere", Reply(302).Header("location", kMainUrl));
  EXPECT_TRUE(Client()->ResolveRevision(kRepo, "main", Deadline()).status().IsUnavailable());
}

TEST_F(HubClientTest, InvalidOptionsFailEveryCall) {
  HubClientOptions options;
  options.endpoint = "ftp://nope";
  options.transport = &transport_;
  EXPECT_EQ(NewHubClient(options)->ResolveRevision(kRepo, "", Deadline()).status().code(),
            Status::Code::kInvalidArgument);
  options.endpoint = kEndpoint;
  options.token = "bad\r\ntoken";
  auto r = NewHubClient(options)->ResolveRevision(kRepo, "", Deadline());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r.status().message().find("bad"), std::string::npos);
  options.token = "";
  options.transport = nullptr;
  EXPECT_EQ(NewHubClient(options)->ResolveRevision(kRepo, "", Deadline()).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_TRUE(transport_.requests().empty());
}

TEST_F(HubClientTest, EndpointTrailingSlashIsDropped) {
  HubClientOptions options;
  options.endpoint = std::string(kEndpoint) + "/";
  options.transport = &transport_;
  options.clock = &clock_;
  auto client = NewHubClient(options);
  EXPECT_EQ(client->endpoint(), kEndpoint);
  transport_.On(kInfoUrl, Reply(200, ShaJson(kCommit)));
  EXPECT_TRUE(client->ResolveRevision(kRepo, "", Deadline()).ok());
}

TEST(RepoKindTest, NamesAndPrefixes) {
  EXPECT_STREQ(RepoKindPlural(RepoKind::kModel), "models");
  EXPECT_STREQ(RepoKindPlural(RepoKind::kDataset), "datasets");
  EXPECT_STREQ(RepoKindPlural(RepoKind::kSpace), "spaces");
  EXPECT_STREQ(RepoKindUrlPrefix(RepoKind::kModel), "");
  EXPECT_STREQ(RepoKindUrlPrefix(RepoKind::kDataset), "datasets/");
  EXPECT_EQ(RepoDisplayName({RepoKind::kModel, "a/b"}), "a/b");
  EXPECT_EQ(RepoDisplayName({RepoKind::kSpace, "a/b"}), "spaces/a/b");
}

}  // namespace
}  // namespace hfm
