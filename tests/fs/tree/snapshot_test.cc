// Snapshot and SnapshotSource within the daemon's listing memory budget.
#include "fs/tree/snapshot.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <string>
#include <vector>

#include "fs/tree/snapshot_source.h"
#include "tests/fs/fake_hub.h"

namespace hfm {
namespace {

// glibc's bytes in use, blocks from the heap and big ones mapped alone.
size_t HeapInUse() {
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

const std::string kCommit = std::string(40, 'c');

std::vector<TreeEntry> Files(int count, size_t path_bytes, const std::string& prefix = "f") {
  std::vector<TreeEntry> out;
  for (int i = 0; i < count; ++i) {
    TreeEntry e;
    e.path = prefix + std::to_string(i);
    e.path.resize(std::max(e.path.size(), path_bytes), 'x');
    e.size = 1;
    out.push_back(std::move(e));
  }
  return out;
}

TEST(SnapshotTest, RefusedPastTheBudgetAndGivesItBackWhenGone) {
  ListingMemory budget(64 << 10);
  const RepoId repo{RepoKind::kModel, "org/model"};
  auto big = Snapshot::Make(repo, kCommit, Files(1000, 20), 0, &budget, budget.limit());
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Status::Code::kResourceExhausted) << big.status().ToString();
  EXPECT_EQ(budget.used(), 0u);

  auto small = Snapshot::Make(repo, kCommit, Files(10, 20), 0, &budget, budget.limit());
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ((*small)->file_count(), 10u);
  EXPECT_GT(budget.used(), 0u);
  EXPECT_EQ(budget.used(), (*small)->charged_bytes());
  small = Status::NotFound("gone");
  EXPECT_EQ(budget.used(), 0u);
}

TEST(SnapshotTest, ParentsOfACachedListingAreChargedToo) {
  // A listing read back from the cache is validated again: its missing
  // parents count before they are made.
  std::string deep = "d";
  for (int i = 0; i < 120; ++i) deep += "/segment-" + std::to_string(i);
  std::vector<TreeEntry> entries;
  for (int i = 0; i < 30; ++i) {
    TreeEntry e;
    e.path = "r" + std::to_string(i) + "/" + deep;
    e.is_dir = true;
    entries.push_back(std::move(e));
  }
  ListingMemory budget(256 << 10);
  auto snap = Snapshot::Make({RepoKind::kModel, "org/deep"}, kCommit, entries, 0, &budget, budget.limit());
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.status().code(), Status::Code::kResourceExhausted);
}

TEST(SnapshotTest, KeepsEachPathOnce) {
  constexpr int kCount = 2000;
  constexpr size_t kPathBytes = 1000;
  // Long folder names, short file names: only the paths are long.
  const std::string dir(kPathBytes - 10, 'd');
  std::vector<TreeEntry> entries = Files(kCount, 0, dir + "/f");
  TreeEntry folder;
  folder.path = dir;
  folder.is_dir = true;
  entries.push_back(folder);
  const size_t before = HeapInUse();
  {
    const Snapshot snap({RepoKind::kModel, "org/model"}, kCommit, std::move(entries), 0);
    const size_t held = HeapInUse() - before;
    // The listing's paths move in; a second copy of each would add 2 MB.
    EXPECT_LT(held, kCount * kPathBytes / 2) << held;
    ASSERT_NE(snap.Find(dir + "/f7"), nullptr);
    ASSERT_NE(snap.Find(dir), nullptr);
    EXPECT_EQ(snap.Children(*snap.Find(dir)).size(), static_cast<size_t>(kCount));
  }
}

class SnapshotSourceBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::map<std::string, FakeHub::File> files;
    for (int i = 0; i < 100; ++i) files["file-" + std::to_string(i) + std::string(100, 'x')] = {"x"};
    hub_.AddCommit("org/a", kCommit, files);
    hub_.AddCommit("org/b", kCommit, files);
  }

  Result<std::shared_ptr<const Snapshot>> Load(SnapshotSource* source, const std::string& repo) {
    return source->Current({RepoKind::kModel, repo}, kCommit);
  }

  FakeHub hub_;
  Cache cache_ = NewMemoryCache(64 << 10);
  FakeClock clock_;
};

TEST_F(SnapshotSourceBudgetTest, RecentSnapshotsMakeRoomForANewOne) {
  // Room for one of the two snapshots, not both.
  const uint64_t one = 100 * ListedPathFootprint(110);
  ListingMemory budget(one * 3 / 2);
  SnapshotSourceOptions options;
  options.listing_memory = &budget;
  options.listing_cap = budget.limit();
  SnapshotSource source(&hub_, cache_.meta.get(), &clock_, options);
  ASSERT_TRUE(Load(&source, "org/a").ok());  // kept alive only by the recent list
  auto b = Load(&source, "org/b");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  // While b is held by a node, a returning a is refused, not a crash.
  auto a = Load(&source, "org/a");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), Status::Code::kResourceExhausted);
  EXPECT_NE(a.status().message().find("org/a"), std::string::npos) << a.status().ToString();
}

}  // namespace
}  // namespace hfm
