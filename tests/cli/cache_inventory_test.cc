// TakeInventory, EvictRepo and PurgeCache over an in-memory cache filled the
// way a mount fills it: listings and resolutions in the MetaStore (as
// SnapshotSource writes them), bytes in the BlockStore.
#include "cli/cache_inventory.h"

#include <gtest/gtest.h>

#include "fs/tree/meta_records.h"
#include "tests/fs/fs_test_util.h"

namespace hfm {
namespace {

using testing::Pattern;

constexpr uint32_t kBlock = 4096;
const std::string kOld = std::string(40, '1');
const std::string kNew = std::string(40, '2');

class CacheInventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_ = NewMemoryCache(kBlock);
    config_ = "{\"a\": 1}";
    weights_old_ = Pattern(3 * kBlock + 7, 1);
    weights_new_ = Pattern(2 * kBlock, 2);
    data_ = Pattern(kBlock + 1, 3);
    // org/model at two commits sharing config.json; org/fork shares the new weights.
    AddListing(Model("org/model"), kOld, {{"config.json", config_}, {"w.bin", weights_old_}});
    AddListing(Model("org/model"), kNew, {{"config.json", config_}, {"w.bin", weights_new_}, {"empty.txt", ""}});
    AddListing(Model("org/fork"), kNew, {{"w.bin", weights_new_}});
    AddListing({RepoKind::kDataset, "org/table"}, kOld, {{"data/part-0.parquet", data_}});
    Resolved(Model("org/model"), "", kNew);  // the default branch, by no name
    Resolved(Model("org/model"), "main", kNew);
    Resolved(Model("org/model"), "refs/pr/1", kOld);
  }

  static RepoId Model(const std::string& name) { return {RepoKind::kModel, name}; }

  void AddListing(const RepoId& repo, const std::string& commit,
                  const std::vector<std::pair<std::string, std::string>>& files) {
    std::vector<TreeEntry> entries;
    for (const auto& [path, bytes] : files) {
      TreeEntry e;
      e.path = path;
      e.size = bytes.size();
      e.hash = Hash(bytes);
      e.is_lfs = true;
      entries.push_back(e);
    }
    Snapshot snap(repo, commit, std::move(entries), 1'700'000'000);
    ASSERT_TRUE(cache_.meta->Put(TreeMetaKey(repo, commit), EncodeListing(snap)).ok());
  }
  void Resolved(const RepoId& repo, const std::string& revision, const std::string& commit) {
    ASSERT_TRUE(cache_.meta->Put(RevisionMetaKey(repo, revision), EncodeRevisionRecord({commit, 1})).ok());
  }
  static ContentHash Hash(const std::string& bytes) { return HashBytes(ContentHash::Kind::kSha256, bytes); }

  // Stores the first `blocks` blocks of `bytes`; the whole file marks it complete.
  void Store(const std::string& bytes, uint64_t blocks = ~0ull) {
    uint64_t i = 0;
    for (; i * kBlock < bytes.size() && i < blocks; ++i) {
      ASSERT_TRUE(cache_.blocks->PutBlock(Hash(bytes), i, std::string_view(bytes).substr(i * kBlock, kBlock)).ok());
    }
    if (i * kBlock >= bytes.size()) {
      auto epoch = cache_.blocks->FileEpoch(Hash(bytes));
      ASSERT_TRUE(epoch.ok());
      ASSERT_TRUE(cache_.blocks->MarkComplete(Hash(bytes), bytes.size(), *epoch).ok());
    }
  }
  bool Stored(const std::string& bytes) {
    auto r = cache_.blocks->HasBlock(Hash(bytes), 0);
    return r.ok() && *r;
  }
  const CachedRevision* Find(const CacheInventory& inv, const std::string& name, const std::string& commit) {
    for (const auto& r : inv.revisions) {
      if (r.repo.name == name && r.commit == commit) return &r;
    }
    return nullptr;
  }

  Cache cache_;
  std::string config_, weights_old_, weights_new_, data_;
};

TEST_F(CacheInventoryTest, EachRevisionCountsWhatIsCachedOfItsFiles) {
  Store(config_);
  Store(weights_new_);
  Store(weights_old_, /*blocks=*/2);  // partial
  const std::string stray = Pattern(100, 9);
  Store(stray);  // named by no listing (its listing was lost, say)

  auto inv = TakeInventory(cache_.blocks.get(), cache_.meta.get());
  ASSERT_TRUE(inv.ok()) << inv.status().ToString();
  ASSERT_EQ(inv->revisions.size(), 4u);
  const CachedRevision* old_rev = Find(*inv, "org/model", kOld);
  ASSERT_NE(old_rev, nullptr);
  EXPECT_EQ(old_rev->files, 2u);
  EXPECT_EQ(old_rev->bytes, config_.size() + weights_old_.size());
  EXPECT_EQ(old_rev->cached_files, 2u);
  EXPECT_EQ(old_rev->complete_files, 1u);
  EXPECT_EQ(old_rev->cached_bytes, config_.size() + 2 * kBlock);
  EXPECT_EQ(old_rev->revisions, std::vector<std::string>{"refs/pr/1"});
  const CachedRevision* new_rev = Find(*inv, "org/model", kNew);
  ASSERT_NE(new_rev, nullptr);
  EXPECT_EQ(new_rev->files, 3u);
  EXPECT_EQ(new_rev->complete_files, 3u) << "an empty file is always whole";
  EXPECT_EQ(new_rev->cached_bytes, new_rev->bytes);
  EXPECT_EQ(new_rev->revisions, (std::vector<std::string>{kDefaultBranchName, "main"}));
  const CachedRevision* table = Find(*inv, "org/table", kOld);
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->repo.kind, RepoKind::kDataset);
  EXPECT_EQ(table->cached_files, 0u);
  EXPECT_EQ(inv->unlisted_files, 1u);
  EXPECT_EQ(inv->unlisted_bytes, stray.size());
  EXPECT_EQ(inv->stored_files, 4u);
  EXPECT_EQ(inv->stored_bytes, config_.size() + weights_new_.size() + 2 * kBlock + stray.size());
}

TEST_F(CacheInventoryTest, EvictingOneRevisionKeepsFilesOtherListingsShare) {
  Store(config_);
  Store(weights_old_);
  Store(weights_new_);
  auto commit = RecordedCommit(cache_.meta.get(), Model("org/model"), "refs/pr/1");
  ASSERT_TRUE(commit.ok()) << commit.status().ToString();
  EXPECT_EQ(*commit, kOld);
  auto out = EvictRepo(cache_.blocks.get(), cache_.meta.get(), Model("org/model"), *commit);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->revisions, 1u);
  EXPECT_EQ(out->dropped_files, 1u);
  EXPECT_EQ(out->freed_bytes, weights_old_.size());
  EXPECT_EQ(out->shared_files, 1u) << "config.json is in the other commit too";
  EXPECT_FALSE(Stored(weights_old_));
  EXPECT_TRUE(Stored(config_));
  EXPECT_TRUE(Stored(weights_new_));
  // The listing stays: the revision still lists offline.
  auto inv = TakeInventory(cache_.blocks.get(), cache_.meta.get());
  ASSERT_TRUE(inv.ok());
  EXPECT_NE(Find(*inv, "org/model", kOld), nullptr);
}

TEST_F(CacheInventoryTest, EvictingARepoKeepsWhatAnotherRepoShares) {
  Store(config_);
  Store(weights_old_);
  Store(weights_new_);
  auto out = EvictRepo(cache_.blocks.get(), cache_.meta.get(), Model("org/model"), "");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->revisions, 2u);
  EXPECT_EQ(out->dropped_files, 2u);
  EXPECT_EQ(out->shared_files, 1u) << "org/fork lists the new weights";
  EXPECT_FALSE(Stored(config_));
  EXPECT_FALSE(Stored(weights_old_));
  EXPECT_TRUE(Stored(weights_new_));
}

TEST_F(CacheInventoryTest, UnknownRepoOrRevisionIsNotFound) {
  auto none = EvictRepo(cache_.blocks.get(), cache_.meta.get(), Model("org/nope"), "");
  EXPECT_TRUE(none.status().IsNotFound());
  auto other = EvictRepo(cache_.blocks.get(), cache_.meta.get(), Model("org/model"), std::string(40, '3'));
  EXPECT_TRUE(other.status().IsNotFound());
  auto rev = RecordedCommit(cache_.meta.get(), Model("org/model"), "dev");
  EXPECT_TRUE(rev.status().IsNotFound());
}

TEST_F(CacheInventoryTest, PurgeLeavesNothing) {
  Store(config_);
  Store(weights_new_);
  auto out = PurgeCache(cache_.blocks.get(), cache_.meta.get());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->dropped_files, 2u);
  EXPECT_EQ(out->revisions, 4u);
  EXPECT_EQ(cache_.blocks->Stats().blocks, 0u);
  auto inv = TakeInventory(cache_.blocks.get(), cache_.meta.get());
  ASSERT_TRUE(inv.ok());
  EXPECT_TRUE(inv->revisions.empty());
  EXPECT_EQ(inv->stored_files, 0u);
  for (const char* prefix : {"rev/", "tree/", "repo/"}) {
    auto keys = cache_.meta->KeysWithPrefix(prefix);
    ASSERT_TRUE(keys.ok());
    EXPECT_TRUE(keys->empty()) << prefix;
  }
}

}  // namespace
}  // namespace hfm
