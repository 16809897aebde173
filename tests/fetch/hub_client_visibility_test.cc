// HubClient::ResolveRevisionInfo: the repo's visibility comes from the same
// answer that names the commit, so knowing it costs no request.
#include <gtest/gtest.h>

#include "tests/fetch/hub_test_util.h"

namespace hfm {
namespace {

const RepoId kRepo{RepoKind::kModel, "ns/name"};
const std::string kInfoUrl = std::string(kEndpoint) + "/api/models/ns/name";

std::string InfoJson(const std::string& fields) {
  return R"({"sha":")" + kCommit + R"(","siblings":[])" + (fields.empty() ? "" : "," + fields) + "}";
}

class VisibilityTest : public HubClientTest {
 protected:
  // The visibility resolving the default branch gives when the answer holds `fields`.
  RepoVisibility VisibilityFor(const std::string& fields) {
    transport_.On(kInfoUrl, Reply(200, InfoJson(fields)));
    auto info = Client()->ResolveRevisionInfo(kRepo, "", Deadline(), nullptr);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    if (!info.ok()) return RepoVisibility::kUnknown;
    EXPECT_EQ(info->commit, kCommit);
    return info->visibility;
  }
};

TEST_F(VisibilityTest, VisibilityComesWithTheResolution) {
  EXPECT_EQ(VisibilityFor(R"("private":false,"gated":false)"), RepoVisibility::kPublic);
  EXPECT_EQ(VisibilityFor(R"("private":false,"gated":"manual")"), RepoVisibility::kGated);
  EXPECT_EQ(VisibilityFor(R"("private":false,"gated":"auto")"), RepoVisibility::kGated);
  EXPECT_EQ(VisibilityFor(R"("private":true,"gated":false)"), RepoVisibility::kPrivate);
  EXPECT_EQ(transport_.requests().size(), 4u) << "one request per resolution, visibility included";
}

TEST_F(VisibilityTest, VisibilityIsUnknownWhenTheAnswerDoesNotSay) {
  EXPECT_EQ(VisibilityFor(""), RepoVisibility::kUnknown);
  EXPECT_EQ(VisibilityFor(R"("private":"yes")"), RepoVisibility::kUnknown);
}

TEST_F(HubClientTest, ReportsWhetherItHoldsAToken) {
  EXPECT_TRUE(Client()->has_token());
  EXPECT_FALSE(Client("")->has_token());
}

TEST(RepoVisibilityNameTest, RoundTrips) {
  for (RepoVisibility v : {RepoVisibility::kPublic, RepoVisibility::kGated, RepoVisibility::kPrivate}) {
    EXPECT_EQ(RepoVisibilityFromName(RepoVisibilityName(v)), v);
  }
  EXPECT_EQ(RepoVisibilityFromName("nonsense"), RepoVisibility::kUnknown);
}

}  // namespace
}  // namespace hfm
