// SnapshotSource with a trusted endpoint: cached resolutions and listings
// record who answered, one that did not come from the trusted endpoint (or
// from a cache written before the record said so) is asked again of it, and
// when it cannot answer the revision is refused rather than served from an
// untrusted record.
#include <gtest/gtest.h>

#include "cache/block_store.h"
#include "fs/tree/meta_records.h"
#include "fs/tree/snapshot_source.h"
#include "tests/fs/fake_hub.h"

namespace hfm {
namespace {

const std::string kTrusted = "https://trusted.test";
const std::string kCommitA = std::string(40, 'a');
const RepoId kRepo{RepoKind::kModel, "org/model"};

// A FakeHub whose answers come from a trusted endpoint while `trusted_up`,
// else (as with trust_fallback) from an untrusted mirror.
class TrustingFakeHub : public FakeHub {
 public:
  Result<std::string> ResolveRevisionFrom(const RepoId& repo, std::string_view revision, TimePoint deadline,
                                          MetadataOrigin* origin) override {
    *origin = Origin();
    return ResolveRevision(repo, revision, deadline);
  }
  Result<std::vector<TreeEntry>> ListTreeFrom(const RepoId& repo, std::string_view commit, TimePoint deadline,
                                              MetadataOrigin* origin) override {
    *origin = Origin();
    return ListTree(repo, commit, deadline);
  }
  const std::string& trusted_endpoint() const override { return kTrusted; }

  std::atomic<bool> trusted_up{true};

 private:
  MetadataOrigin Origin() const {
    return trusted_up ? MetadataOrigin{kTrusted, true} : MetadataOrigin{"https://mirror.test", false};
  }
};

class SnapshotSourceTrustTest : public ::testing::Test {
 protected:
  SnapshotSourceTrustTest() : cache_(NewMemoryCache(1 << 20)) {
    hub_.AddCommit(kRepo.name, kCommitA, {{"a.txt", FakeHub::File("hello")}});
    hub_.SetRef(kRepo.name, "main", kCommitA);
  }
  std::unique_ptr<SnapshotSource> Source() {
    return std::make_unique<SnapshotSource>(&hub_, cache_.meta.get(), &clock_, SnapshotSourceOptions());
  }

  TrustingFakeHub hub_;
  Cache cache_;
  FakeClock clock_;
};

TEST_F(SnapshotSourceTrustTest, AListingFromTheTrustedEndpointIsServedFromTheCache) {
  ASSERT_TRUE(Source()->Current(kRepo, kCommitA).ok());
  hub_.SetOffline(true);
  EXPECT_TRUE(Source()->Current(kRepo, kCommitA).ok());
  EXPECT_EQ(hub_.listings, 1);
}

TEST_F(SnapshotSourceTrustTest, AnUntrustedCachedListingIsListedAgainFromTheTrustedEndpoint) {
  hub_.trusted_up = false;  // as with trust_fallback: a mirror answered
  ASSERT_TRUE(Source()->Current(kRepo, kCommitA).ok());
  hub_.trusted_up = true;
  ASSERT_TRUE(Source()->Current(kRepo, kCommitA).ok());
  EXPECT_EQ(hub_.listings, 2);
  // Now the record is the trusted endpoint's: no more requests.
  ASSERT_TRUE(Source()->Current(kRepo, kCommitA).ok());
  EXPECT_EQ(hub_.listings, 2);
}

TEST_F(SnapshotSourceTrustTest, AnUntrustedCachedListingIsRefusedWhenTheTrustedEndpointIsDown) {
  hub_.trusted_up = false;
  ASSERT_TRUE(Source()->Current(kRepo, kCommitA).ok());
  hub_.SetOffline(true);
  auto snap = Source()->Current(kRepo, kCommitA);
  EXPECT_EQ(snap.status().code(), Status::Code::kUnavailable) << snap.status().ToString();
}

TEST_F(SnapshotSourceTrustTest, AListingCachedByAnOlderVersionIsNotTrusted) {
  // An older version wrote the listing without saying where it came from.
  ASSERT_TRUE(cache_.meta->Put(TreeMetaKey(kRepo, kCommitA), R"({"v":1,"first_seen":1,"entries":[]})").ok());
  auto snap = Source()->Current(kRepo, kCommitA);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(hub_.listings, 1);
  EXPECT_NE((*snap)->ToTreeEntries().size(), 0u);
}

TEST_F(SnapshotSourceTrustTest, AnUntrustedRecordedResolutionIsNotTheLastKnownCommit) {
  hub_.trusted_up = false;
  ASSERT_TRUE(Source()->Current(kRepo, "main").ok());
  hub_.trusted_up = true;
  hub_.SetOffline(true);
  clock_.Advance(std::chrono::minutes(5));  // past revision_ttl
  auto snap = Source()->Current(kRepo, "main");
  EXPECT_FALSE(snap.ok());
}

TEST_F(SnapshotSourceTrustTest, ATrustedRecordedResolutionServesWhileTheTrustedEndpointIsDown) {
  ASSERT_TRUE(Source()->Current(kRepo, "main").ok());
  hub_.SetOffline(true);
  clock_.Advance(std::chrono::minutes(5));
  auto snap = Source()->Current(kRepo, "main");
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ((*snap)->commit(), kCommitA);
}

TEST(MetaRecordsOriginTest, OriginRoundTripsAndOldRecordsDecodeUntrusted) {
  auto rec = DecodeRevisionRecord(EncodeRevisionRecord({kCommitA, 5, {kTrusted, true}}));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->origin.endpoint, kTrusted);
  EXPECT_TRUE(rec->origin.trusted);
  auto old = DecodeRevisionRecord(R"({"commit":")" + kCommitA + R"(","at":5})");
  ASSERT_TRUE(old);
  EXPECT_FALSE(old->origin.trusted);
  EXPECT_EQ(old->origin.endpoint, "");
  auto mistyped = DecodeRevisionRecord(R"({"commit":")" + kCommitA + R"(","at":5,"trusted":"yes","from":1})");
  ASSERT_TRUE(mistyped);
  EXPECT_FALSE(mistyped->origin.trusted);
}

}  // namespace
}  // namespace hfm
