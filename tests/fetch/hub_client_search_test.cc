// HubClient::Search: the URL, parsing the Hub's answer, and bad answers.
#include <gtest/gtest.h>

#include "tests/fetch/hub_test_util.h"

namespace hfm {
namespace {

const std::string kSearchUrl = std::string(kEndpoint) + "/api/models?search=llama%203&limit=5";

TEST_F(HubClientTest, SearchAsksTheKindsListAndParsesIt) {
  transport_.On(kSearchUrl, Reply(200, R"([
      {"_id":"x","id":"meta/llama-3","modelId":"meta/llama-3","private":false,"gated":"manual",
       "downloads":12,"likes":3},
      {"id":"me/llama-3-fork","private":true,"gated":false},
      {"no_id":1}, 7])"));
  auto found = Client()->Search(RepoKind::kModel, "llama 3", 5, Deadline());
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 2u) << "items without an id are skipped";
  EXPECT_EQ((*found)[0].id, "meta/llama-3");
  EXPECT_TRUE((*found)[0].gated);
  EXPECT_FALSE((*found)[0].is_private);
  EXPECT_EQ((*found)[0].downloads, 12u);
  EXPECT_EQ((*found)[0].likes, 3u);
  EXPECT_EQ((*found)[1].id, "me/llama-3-fork");
  EXPECT_TRUE((*found)[1].is_private);
  EXPECT_FALSE((*found)[1].gated);
  ExpectTokenOnlyToHub();
}

TEST_F(HubClientTest, SearchOfDatasetsAndBadAnswers) {
  transport_.On(std::string(kEndpoint) + "/api/datasets?search=x&limit=1", Reply(200, "[]"));
  auto none = Client()->Search(RepoKind::kDataset, "x", 1, Deadline());
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
  transport_.On(kSearchUrl, Reply(200, R"({"error":"not a list"})"));
  EXPECT_TRUE(Client()->Search(RepoKind::kModel, "llama 3", 5, Deadline()).status().IsDataLoss());
  EXPECT_FALSE(Client()->Search(RepoKind::kModel, "llama 3", 0, Deadline()).ok()) << "limit 0";
}

}  // namespace
}  // namespace hfm
