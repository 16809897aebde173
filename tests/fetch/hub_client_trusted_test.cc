// HubClient with a trusted endpoint: commits and listings come only from it,
// bytes from the mirrors; a hostile mirror's listing is never asked for, so
// its bytes fail verification against the trusted hash and it is demoted.
// When the trusted endpoint is down, metadata is refused unless
// trust_fallback lets the mirrors answer.
#include <gtest/gtest.h>

#include "tests/fetch/mirror_test_util.h"
#include "util/content_hash.h"

namespace hfm {
namespace {

class TrustedMetadataTest : public MirrorTest {
 protected:
  TrustedMetadataTest() : flipped_(content_) {
    for (char& c : flipped_) c = static_cast<char>(c ^ 0x5a);
  }

  std::unique_ptr<HubClient> TrustingClient(std::vector<std::string> endpoints, std::string trusted,
                                            bool fallback = false) {
    HubClientOptions options;
    options.endpoints = std::move(endpoints);
    options.trusted_endpoint = std::move(trusted);
    options.trust_fallback = fallback;
    options.transport = &transport_;
    options.clock = &clock_;
    options.retry_backoff_base = Duration::zero();
    options.jitter_seed = 7;
    return NewHubClient(options);
  }

  // A listing of model.bin (LFS) whose hash is that of `bytes`.
  FakeResponse ListingOf(const std::string& bytes) const {
    const std::string sha = HashBytes(ContentHash::Kind::kSha256, bytes).ToHex();
    const std::string size = std::to_string(bytes.size());
    return Reply(200, R"([{"type":"file","oid":"fca794a5f07ff8f963fe8b61e3694b0fb7f955df","size":134,)"
                      R"("path":"model.bin","lfs":{"oid":")" + sha + R"(","size":)" + size +
                          R"(,"pointerSize":134}}])");
  }

  // hub-a, the primary, is hostile: it lists the hash of its flipped bytes and
  // serves them. hub-b is honest.
  void HostileAHonestB() {
    transport_.On(TreeUrl(kHubA), ListingOf(flipped_));
    transport_.On(TreeUrl(kHubB), ListingOf(content_));
    transport_.OnAny([this](const HttpRequest& r) -> std::optional<FakeResponse> {
      if (r.url != ResolveUrl(kHubA)) return std::nullopt;
      return ServeContent(flipped_, r);
    });
    ServeFile(kHubB);
  }

  // Reads the whole file as the read path does: fetch, check against the
  // listed hash, report a mismatch and fetch again (at most `tries` times).
  std::string ReadVerified(HubClient* client, const ContentHash& listed, int tries) {
    for (int i = 0; i < tries; ++i) {
      StringRangeSink sink;
      EXPECT_TRUE(client->FetchRange(file_, 0, file_.size, &sink, Deadline()).ok());
      if (HashBytes(ContentHash::Kind::kSha256, sink.bytes) == listed) return sink.bytes;
      client->ReportCorrupt(file_);
    }
    return "";
  }

  std::string flipped_;
};

TEST_F(TrustedMetadataTest, ListingsAndCommitsComeOnlyFromTheTrustedEndpoint) {
  HostileAHonestB();
  transport_.On(RevisionUrl(kHubB, "main"), ShaReply());
  auto client = TrustingClient({kHubA, kHubB}, kHubB);
  MetadataOrigin origin;
  auto entries = client->ListTreeFrom(kMirrorRepo, kCommit, Deadline(), &origin);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].hash, HashBytes(ContentHash::Kind::kSha256, content_));
  EXPECT_EQ(origin.endpoint, kHubB);
  EXPECT_TRUE(origin.trusted);
  auto commit = client->ResolveRevisionFrom(kMirrorRepo, "main", Deadline(), &origin);
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_TRUE(origin.trusted);
  EXPECT_EQ(CountTo(kHubA + "/api/"), 0);
  EXPECT_EQ(client->trusted_endpoint(), kHubB);
}

TEST_F(TrustedMetadataTest, HostileMirrorsBytesFailTheTrustedHashAndItIsDemoted) {
  HostileAHonestB();
  auto client = TrustingClient({kHubA, kHubB}, kHubB);
  auto entries = client->ListTree(kMirrorRepo, kCommit, Deadline());
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  // The first fetch goes to hub-a (the primary) and fails the trusted hash;
  // hub-a is demoted for the file and hub-b serves the true bytes.
  EXPECT_EQ(ReadVerified(client.get(), (*entries)[0].hash, 3), content_);
  EXPECT_EQ(CountTo(ResolveUrl(kHubA)), 1);
  EXPECT_EQ(StatsOf(*client, kHubA).failures, 1u);
}

// Today's behaviour without a trusted endpoint, for the record: the primary's
// listing is believed, and so are its flipped bytes, which match it.
TEST_F(TrustedMetadataTest, WithoutATrustedEndpointTheHostilePrimaryIsBelieved) {
  HostileAHonestB();
  auto client = Client({kHubA, kHubB});
  MetadataOrigin origin;
  auto entries = client->ListTreeFrom(kMirrorRepo, kCommit, Deadline(), &origin);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_FALSE(origin.trusted);
  EXPECT_EQ(ReadVerified(client.get(), (*entries)[0].hash, 1), flipped_);
}

TEST_F(TrustedMetadataTest, ATrustedEndpointNotConfiguredServesMetadataOnly) {
  transport_.On(TreeUrl(kHubC), ListingOf(content_));
  ServeFile(kHubA);
  ServeFile(kHubC);
  auto client = TrustingClient({kHubA}, kHubC + "/");
  ASSERT_TRUE(client->ListTree(kMirrorRepo, kCommit, Deadline()).ok());
  EXPECT_EQ(CountTo(TreeUrl(kHubA)), 0);
  // Bytes never go to it, even when the only mirror fails.
  transport_.On(ResolveUrl(kHubA), Fail(Status::Unavailable("connection refused")));
  StringRangeSink sink;
  EXPECT_FALSE(client->FetchRange(file_, 0, 10, &sink, Deadline()).ok());
  EXPECT_EQ(CountTo(ResolveUrl(kHubC)), 0);
  EXPECT_EQ(client->endpoint(), kHubA);
}

TEST_F(TrustedMetadataTest, TrustedEndpointDownRefusesMetadata) {
  HostileAHonestB();
  transport_.On(TreeUrl(kHubB), Fail(Status::Unavailable("connection refused")));
  transport_.On(RevisionUrl(kHubB, "main"), Fail(Status::Unavailable("connection refused")));
  transport_.On(RevisionUrl(kHubA, "main"), ShaReply());
  auto client = TrustingClient({kHubA, kHubB}, kHubB);
  auto entries = client->ListTree(kMirrorRepo, kCommit, Deadline());
  EXPECT_EQ(entries.status().code(), Status::Code::kUnavailable) << entries.status().ToString();
  EXPECT_NE(entries.status().message().find("trusted endpoint"), std::string::npos);
  EXPECT_FALSE(client->ResolveRevision(kMirrorRepo, "main", Deadline()).ok());
  EXPECT_EQ(CountTo(kHubA + "/api/"), 0);
}

TEST_F(TrustedMetadataTest, TrustFallbackTakesTheMirrorsAnswerMarkedUntrusted) {
  HostileAHonestB();
  transport_.On(TreeUrl(kHubB), Fail(Status::Unavailable("connection refused")));
  auto client = TrustingClient({kHubA, kHubB}, kHubB, /*fallback=*/true);
  MetadataOrigin origin;
  auto entries = client->ListTreeFrom(kMirrorRepo, kCommit, Deadline(), &origin);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_EQ(origin.endpoint, kHubA);
  EXPECT_FALSE(origin.trusted);
  // One try at the trusted endpoint, no rounds of backoff first.
  EXPECT_EQ(CountTo(TreeUrl(kHubB)), 1);
}

TEST_F(TrustedMetadataTest, NotFoundFromTheTrustedEndpointIsFinal) {
  transport_.On(RevisionUrl(kHubB, "main"), NotFoundReply("RevisionNotFound"));
  transport_.On(RevisionUrl(kHubA, "main"), ShaReply());
  auto r = TrustingClient({kHubA, kHubB}, kHubB, /*fallback=*/true)->ResolveRevision(kMirrorRepo, "main", Deadline());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_EQ(CountTo(kHubA), 0);
}

}  // namespace
}  // namespace hfm
