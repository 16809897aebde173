// HubClient::ListTree: pagination, its guards, and listing validation.
#include <gtest/gtest.h>

#include "tests/fetch/hub_test_util.h"

namespace hfm {
namespace {

const RepoId kRepo{RepoKind::kModel, "ns/name"};
const std::string kSha1 = "fca794a5f07ff8f963fe8b61e3694b0fb7f955df";
const std::string kTreeUrl =
    std::string(kEndpoint) + "/api/models/ns/name/tree/" + kCommit + "?recursive=true&expand=false";

std::string File(const std::string& path, int size = 1) {
  return R"({"type":"file","oid":")" + kSha1 + R"(","size":)" + std::to_string(size) + R"(,"path":")" + path +
         R"("})";
}
std::string Dir(const std::string& path) {
  return R"({"type":"directory","oid":")" + kSha1 + R"(","size":0,"path":")" + path + R"("})";
}

TEST_F(HubClientTest, FollowsPaginationAcrossThreePages) {
  const std::string page2 = kTreeUrl + "&cursor=p2";
  const std::string page3_path = "/api/models/ns/name/tree/" + kCommit + "?recursive=true&expand=false&cursor=p3";
  transport_.On(kTreeUrl, Reply(200, "[" + Dir("a") + "," + File("a/1.txt") + "]")
                              .Header("link", "<" + page2 + ">; rel=\"next\""));
  // A relative link, next to another relation in a second Link header.
  transport_.On(page2, Reply(200, "[" + File("a/2.txt") + "," + File("top.bin", 7) + "]")
                           .Header("link", "</first>; rel=\"first\"")
                           .Header("link", "<" + page3_path + ">; rel=next"));
  transport_.On(std::string(kEndpoint) + page3_path, Reply(200, "[" + File("b/c/3.txt") + "]"));

  auto entries = Client()->ListTree(kRepo, kCommit, Deadline());
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  std::vector<std::string> paths;
  for (const auto& e : *entries) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"a", "a/1.txt", "a/2.txt", "b", "b/c", "b/c/3.txt", "top.bin"}));
  EXPECT_EQ(transport_.requests().size(), 3u);
  ExpectTokenOnlyToHub();
}

TEST_F(HubClientTest, RetryGoesOnFromThePageThatFailed) {
  const std::string page2 = kTreeUrl + "&cursor=p2";
  transport_.On(kTreeUrl, Reply(200, "[" + File("a.txt") + "]").Header("link", "<" + page2 + ">; rel=\"next\""));
  transport_.Then(page2, Reply(503));
  transport_.On(page2, Reply(200, "[" + File("b.txt") + "]"));
  auto entries = Client()->ListTree(kRepo, kCommit, Deadline());
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_EQ(entries->size(), 2u);
  // Page one is not fetched twice: each page counts against the rate limit.
  EXPECT_EQ(transport_.CountContaining("cursor=p2"), 2);
  EXPECT_EQ(transport_.requests().size(), 3u);
}

TEST_F(HubClientTest, PaginationLoopIsDataLoss) {
  const std::string page2 = kTreeUrl + "&cursor=p2";
  transport_.On(kTreeUrl, Reply(200, "[" + File("x") + "]").Header("link", "<" + page2 + ">; rel=\"next\""));
  transport_.On(page2, Reply(200, "[" + File("y") + "]").Header("link", "<" + kTreeUrl + ">; rel=\"next\""));
  auto r = Client()->ListTree(kRepo, kCommit, Deadline());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsDataLoss()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("loop"), std::string::npos);
  EXPECT_EQ(transport_.requests().size(), 2u);
}

TEST_F(HubClientTest, PaginationToAnotherHostIsRefused) {
  transport_.On(kTreeUrl, Reply(200, "[]").Header("link", "<https://evil.test/steal>; rel=\"next\""));
  EXPECT_TRUE(Client()->ListTree(kRepo, kCommit, Deadline()).status().IsDataLoss());
  EXPECT_EQ(transport_.CountForHost("evil.test"), 0);
}

TEST_F(HubClientTest, OversizedPageIsDataLoss) {
  transport_.set_chunk_size(1 << 20);
  transport_.On(kTreeUrl, Reply(200, std::string((64u << 20) + 1, ' ')));
  auto r = Client()->ListTree(kRepo, kCommit, Deadline());
  EXPECT_TRUE(r.status().IsDataLoss()) << r.status().ToString();
}

TEST_F(HubClientTest, MalformedPageIsDataLoss) {
  transport_.On(kTreeUrl, Reply(200, "{\"error\":\"not a list\"}"));
  EXPECT_TRUE(Client()->ListTree(kRepo, kCommit, Deadline()).status().IsDataLoss());
}

TEST_F(HubClientTest, HostileEntriesAreSkippedNotFatal) {
  transport_.On(kTreeUrl, Reply(200, "[" + File("../../etc/passwd") + "," + File("/abs") + "," + File("ok") +
                                         "," + File("ok") + "]"));
  auto entries = Client()->ListTree(kRepo, kCommit, Deadline());
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].path, "ok");
}

TEST_F(HubClientTest, ListingErrorsAreMapped) {
  transport_.On(kTreeUrl, Reply(404).Header("x-error-code", "RepoNotFound"));
  auto r = Client()->ListTree(kRepo, kCommit, Deadline());
  EXPECT_TRUE(r.status().IsNotFound());
  EXPECT_NE(r.status().message().find(kCommit), std::string::npos);
  EXPECT_NE(r.status().message().find(kEndpoint), std::string::npos);
}

TEST_F(HubClientTest, ListingNeedsACommit) {
  EXPECT_EQ(Client()->ListTree(kRepo, "main", Deadline()).status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(transport_.requests().empty());
}

}  // namespace
}  // namespace hfm

namespace hfm {
namespace {

// A listing is charged to the daemon's budget page by page, so one too
// big for it fails (and gives the budget back) whatever its entry count.
TEST_F(HubClientTest, ListingPastTheDaemonsBudgetIsResourceExhausted) {
  const std::string page2 = kTreeUrl + "&cursor=p2";
  std::string first = "[", second = "[";
  for (int i = 0; i < 200; ++i) {
    first += (i ? "," : "") + File("a/" + std::to_string(i) + std::string(200, 'x'));
    second += (i ? "," : "") + File("b/" + std::to_string(i) + std::string(200, 'x'));
  }
  transport_.On(kTreeUrl, Reply(200, first + "]").Header("link", "<" + page2 + ">; rel=\"next\""));
  transport_.On(page2, Reply(200, second + "]"));
  ListingMemory budget(200 * ListedPathFootprint(202) * 3 / 2);  // one page fits, not two
  HubClientOptions options;
  options.endpoint = kEndpoint;
  options.transport = &transport_;
  options.clock = &clock_;
  options.retry_backoff_base = Duration::zero();
  options.listing_memory = &budget;
  options.listing_cap = 64 << 20;  // the daemon's budget is what stops it
  auto r = NewHubClient(options)->ListTree(kRepo, kCommit, Deadline());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kResourceExhausted) << r.status().ToString();
  EXPECT_NE(r.status().message().find("ns/name"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find(kEndpoint), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("max_listing_memory="), std::string::npos) << r.status().ToString();
  EXPECT_EQ(budget.used(), 0u);
  // Within a budget it fits, the same listing is fine and held by nobody after.
  ListingMemory roomy(64 << 20);
  options.listing_memory = &roomy;
  auto ok = NewHubClient(options)->ListTree(kRepo, kCommit, Deadline());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->size(), 402u);
  EXPECT_EQ(roomy.used(), 0u);
}

}  // namespace
}  // namespace hfm
