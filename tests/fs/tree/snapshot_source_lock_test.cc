// SnapshotSource with a lock file: a locked repo resolves to its locked
// commit with no request, only at the locked revision, and a listing that
// disagrees with the lock (a mirror's lie, or a stale cache) refuses the repo.
#include <gtest/gtest.h>

#include "cache/block_store.h"
#include "fetch/lock_file.h"
#include "fs/tree/meta_records.h"
#include "fs/tree/snapshot_source.h"
#include "tests/fs/fake_hub.h"

namespace hfm {
namespace {

const std::string kLockedCommit = std::string(40, 'c');
const RepoId kRepo{RepoKind::kModel, "org/model"};

class SnapshotSourceLockTest : public ::testing::Test {
 protected:
  SnapshotSourceLockTest() : cache_(NewMemoryCache(1 << 20)) {
    hub_.AddCommit(kRepo.name, kLockedCommit, {{"a.txt", FakeHub::File("hello")}});
    hub_.SetRef(kRepo.name, "main", kLockedCommit);
    TreeEntry a;
    a.path = "a.txt";
    a.size = 5;
    a.hash = HashBytes(ContentHash::Kind::kGitSha1, "hello");
    locked_entries_ = {a};
  }

  std::unique_ptr<SnapshotSource> Source() {
    auto lock = LockFile::Parse(LockFile::Serialize({LockRepo(kRepo, "", kLockedCommit, locked_entries_)}), "test");
    EXPECT_TRUE(lock.ok()) << lock.status().ToString();
    SnapshotSourceOptions options;
    options.lock = std::make_shared<const LockFile>(std::move(*lock));
    return std::make_unique<SnapshotSource>(&hub_, cache_.meta.get(), &clock_, options);
  }

  FakeHub hub_;
  Cache cache_;
  FakeClock clock_;
  std::vector<TreeEntry> locked_entries_;
};

TEST_F(SnapshotSourceLockTest, ALockedRepoResolvesToItsCommitWithNoRequest) {
  hub_.SetRef(kRepo.name, "main", std::string(40, 'd'));  // the branch moved on: the lock holds
  auto snap = Source()->Current(kRepo, "");
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ((*snap)->commit(), kLockedCommit);
  // The branch is never resolved; the one call allowed is the access gate
  // learning the repo's visibility at the locked commit (kept afterwards).
  EXPECT_LE(hub_.resolves, 1);
}

TEST_F(SnapshotSourceLockTest, OtherRevisionsOfALockedRepoAreRefused) {
  auto snap = Source()->Current(kRepo, "dev");
  EXPECT_EQ(snap.status().code(), Status::Code::kUnavailable) << snap.status().ToString();
  EXPECT_TRUE(Source()->Current(kRepo, kLockedCommit).ok());
  EXPECT_LE(hub_.resolves, 1);  // the access gate's visibility check only
}

TEST_F(SnapshotSourceLockTest, AListingThatDisagreesWithTheLockRefusesTheRepo) {
  hub_.AddCommit(kRepo.name, kLockedCommit, {{"a.txt", FakeHub::File("HELLO")}});  // same size, other hash
  auto snap = Source()->Current(kRepo, "");
  EXPECT_EQ(snap.status().code(), Status::Code::kDataLoss) << snap.status().ToString();
  EXPECT_NE(snap.status().message().find("disagrees with the lock file"), std::string::npos);
}

TEST_F(SnapshotSourceLockTest, ACachedListingThatDisagreesIsListedAgain) {
  ASSERT_TRUE(cache_.meta->Put(TreeMetaKey(kRepo, kLockedCommit), R"({"v":1,"first_seen":1,"entries":[]})").ok());
  auto snap = Source()->Current(kRepo, "");
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(hub_.listings, 1);
  // The listing stored now agrees: served from the cache.
  ASSERT_TRUE(Source()->Current(kRepo, "").ok());
  EXPECT_EQ(hub_.listings, 1);
}

TEST_F(SnapshotSourceLockTest, ReposTheLockDoesNotNameAreServedAsWithoutIt) {
  const RepoId other{RepoKind::kModel, "org/other"};
  hub_.AddCommit(other.name, std::string(40, 'e'), {{"b.txt", FakeHub::File("b")}});
  hub_.SetRef(other.name, "main", std::string(40, 'e'));
  EXPECT_TRUE(Source()->Current(other, "").ok());
  EXPECT_EQ(hub_.resolves, 1);
}

}  // namespace
}  // namespace hfm
