// VerifyStore and ShrinkStore on an LMDB cache with a fake clock (for the
// least-recently-used order).
#include "cache/store_maintenance.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cache/lmdb_cache.h"
#include "tests/cache/cache_test_util.h"

namespace hfm {
namespace {

using testing::TempDir;

constexpr uint32_t kBlock = 4096;

class StoreMaintenanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cache = testing::OpenLmdbForTest(dir_.path() + "/cache", 64ull << 20, kBlock, &clock_);
    ASSERT_TRUE(cache.ok()) << cache.status().ToString();
    cache_ = std::move(cache).value();
  }
  BlockStore& blocks() { return *cache_.blocks; }

  // Stores `bytes` as a complete file and returns its hash; with `stored`,
  // those bytes are what the store holds instead (as if they rotted on disk:
  // stored blocks are never rewritten).
  ContentHash StoreComplete(const std::string& bytes, const std::string* stored = nullptr) {
    const ContentHash hash = HashBytes(ContentHash::Kind::kSha256, bytes);
    const std::string_view held = stored ? *stored : bytes;
    for (uint64_t i = 0; i * kBlock < bytes.size(); ++i) {
      EXPECT_TRUE(blocks().PutBlock(hash, i, held.substr(i * kBlock, kBlock)).ok());
    }
    EXPECT_TRUE(testing::MarkCompleteAsStored(blocks(), hash, bytes.size()).ok());
    return hash;
  }

  bool Stored(const ContentHash& hash) {
    auto r = blocks().HasBlock(hash, 0);
    return r.ok() && *r;
  }

  TempDir dir_;
  FakeClock clock_;
  Cache cache_;
};

TEST_F(StoreMaintenanceTest, VerifyDropsOnlyTheFileWhoseBytesChanged) {
  const std::string a = testing::BlockBytes(1, 0, 3 * kBlock + 5);
  const std::string b = testing::BlockBytes(2, 0, 2 * kBlock);
  const ContentHash good = StoreComplete(a);
  // Block 1 of the second file rots on disk: same length, other bytes.
  std::string rotten = b;
  rotten.replace(kBlock, kBlock, testing::BlockBytes(3, 1, kBlock));
  const ContentHash damaged = StoreComplete(b, &rotten);
  const ContentHash partial = testing::FileHash(9);
  ASSERT_TRUE(blocks().PutBlock(partial, 0, testing::BlockBytes(9, 0, kBlock)).ok());

  std::vector<std::pair<ContentHash, bool>> seen;
  auto outcome = VerifyStore(&blocks(), [&](const StoredFile& f, bool matched) { seen.emplace_back(f.hash, matched); });
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->checked_files, 2u);
  EXPECT_EQ(outcome->checked_bytes, a.size() + b.size());
  EXPECT_EQ(outcome->partial_files, 1u);
  ASSERT_EQ(outcome->dropped.size(), 1u);
  EXPECT_EQ(outcome->dropped[0].hash, damaged);
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_TRUE(Stored(good));
  EXPECT_FALSE(Stored(damaged)) << "a file that fails its hash must not stay cached";
  auto complete = blocks().IsComplete(damaged);
  ASSERT_TRUE(complete.ok());
  EXPECT_FALSE(*complete);
  EXPECT_TRUE(Stored(partial)) << "a partial file cannot be judged and is left";

  auto again = VerifyStore(&blocks(), nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->dropped.empty());
  EXPECT_EQ(again->checked_files, 1u);
}

TEST_F(StoreMaintenanceTest, ShrinkDropsLeastRecentlyUsedFilesUntilUnderTheTarget) {
  std::vector<ContentHash> files;
  for (int n = 0; n < 4; ++n) {
    files.push_back(StoreComplete(testing::BlockBytes(10 + n, 0, 4 * kBlock)));
    clock_.Advance(std::chrono::minutes(5));  // each later file is more recent
  }
  // Reading file 0 makes it the most recent.
  blocks().Touch(files[0]);
  auto outcome = ShrinkStore(&blocks(), 2 * 4 * kBlock + 1);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->dropped_files, 2u);
  EXPECT_EQ(outcome->freed_bytes, 2u * 4 * kBlock);
  EXPECT_EQ(outcome->remaining_bytes, 2u * 4 * kBlock);
  EXPECT_TRUE(Stored(files[0]));
  EXPECT_FALSE(Stored(files[1]));
  EXPECT_FALSE(Stored(files[2]));
  EXPECT_TRUE(Stored(files[3]));
  EXPECT_EQ(blocks().Stats().block_bytes, 2u * 4 * kBlock);

  auto none = ShrinkStore(&blocks(), 100ull << 20);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->dropped_files, 0u);

  auto all = ShrinkStore(&blocks(), 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->dropped_files, 2u);
  EXPECT_EQ(blocks().Stats().blocks, 0u);
  auto listed = blocks().ListFiles();
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());

  // Equal stamps: the larger file goes first, so a small one survives.
  const ContentHash small = StoreComplete(testing::BlockBytes(20, 0, 100));
  const ContentHash large = StoreComplete(testing::BlockBytes(21, 0, 3 * kBlock));
  auto some = ShrinkStore(&blocks(), blocks().Stats().block_bytes - 1);
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(some->dropped_files, 1u);
  EXPECT_FALSE(Stored(large));
  EXPECT_TRUE(Stored(small));
}

}  // namespace
}  // namespace hfm
