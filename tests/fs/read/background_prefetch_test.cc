// Whole-file background fetch of weight files and the memory budget, driven
// without a mount on FakeHub and the in-memory cache.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <random>
#include <thread>

#include "fs/tree/hub_filesystem.h"
#include "tests/fs/fake_hub.h"
#include "tests/fs/fs_test_util.h"

namespace hfm {
namespace {

using testing::Eventually;
using testing::Pattern;

constexpr uint32_t kBlock = 64 * 1024;
// Reads ending within it (a header and the kernel's readahead after it) do
// not start a whole-file fetch.
constexpr uint64_t kHeaderZone = 4 * kBlock;
const std::string kCommit = std::string(40, 'c');

class BackgroundPrefetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    weights_ = Pattern(40 * kBlock + 99, 1);
    other_weights_ = Pattern(24 * kBlock + 5, 2);
    table_ = Pattern(30 * kBlock + 7, 3);
    hub_.AddCommit("org/model", kCommit,
                   {{"model.safetensors", {weights_, true}},
                    {"pytorch_model.bin", {other_weights_, true}},
                    {"data/train.parquet", {table_, true}}});
    hub_.SetRef("org/model", "main", kCommit);
    cache_ = NewMemoryCache(kBlock);
  }

  void TearDown() override { hub_.HoldFetchesFrom(UINT64_MAX); }  // a failed test must not strand a GET

  void Start() {
    options_.background_after_bytes = kHeaderZone;
    fs_ = std::make_unique<HubFilesystem>(&hub_, cache_.blocks.get(), cache_.meta.get(), options_);
  }

  uint64_t Walk(const std::string& path) { return testing::WalkPath(*fs_, path); }

  uint64_t OpenFile(const std::string& path) {
    uint64_t ino = Walk(path);
    EXPECT_NE(ino, 0u) << path;
    auto f = fs_->Open(ino);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? f->handle : 0;
  }

  bool Complete(const std::string& content) {
    auto c = cache_.blocks->IsComplete(HashBytes(ContentHash::Kind::kSha256, content));
    return c.ok() && *c;
  }

  // Every fetch finished and every fetched block stored.
  bool Quiet() { return fs_->memory_budget().used() == 0; }

  // What a loader does after its header: read on past the header zone (a
  // large read: a small one standing alone would fetch only its own bytes).
  void ReadPastTheHeaderZone(uint64_t handle) {
    std::string part(kBlock / 2, '\0');
    auto n = fs_->Read(handle, kHeaderZone, std::span<char>(part.data(), part.size()));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
  }

  FakeHub hub_;
  Cache cache_;
  FilesystemOptions options_;
  std::unique_ptr<HubFilesystem> fs_;
  std::string weights_, other_weights_, table_;
};

TEST_F(BackgroundPrefetchTest, AWeightFileIsFetchedWholeOnceReadsGoPastItsHeaderZone) {
  Start();
  const uint64_t h = OpenFile("org/model/model.safetensors");
  std::string header(4096, '\0');  // a header read within the first block
  ASSERT_TRUE(fs_->Read(h, 0, std::span<char>(header.data(), header.size())).ok());
  ASSERT_TRUE(Eventually([&] { return Quiet(); }));
  EXPECT_EQ(hub_.fetched_bytes.load(), 2 * kBlock)
      << "a header read fetches its own block and the next, and nothing else";
  // The kernel's readahead after the header, still within the zone.
  std::string more(2 * kBlock, '\0');
  ASSERT_TRUE(fs_->Read(h, header.size(), std::span<char>(more.data(), more.size())).ok());
  ASSERT_TRUE(Eventually([&] { return Quiet(); }));
  // Readahead: twice the bytes read past the last block read.
  EXPECT_LE(hub_.fetched_bytes.load(), 8u * kBlock) << "reads within the header zone fetch only readahead";
  EXPECT_FALSE(Complete(weights_));
  ReadPastTheHeaderZone(h);
  ASSERT_TRUE(Eventually([&] { return Complete(weights_); })) << "fetched " << hub_.fetched_bytes.load();
  EXPECT_EQ(hub_.fetched_bytes.load(), weights_.size()) << "each byte once";
  std::string buf(weights_.size(), '\0');
  auto n = fs_->Read(h, 0, std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(buf.substr(0, *n), weights_.substr(0, *n));
  EXPECT_EQ(hub_.fetched_bytes.load(), weights_.size()) << "reads come from the cache";
  fs_->Release(h);
}

TEST_F(BackgroundPrefetchTest, OtherFilesFetchOnlyWhatIsRead) {
  Start();
  const uint64_t h = OpenFile("org/model/data/train.parquet");
  std::string footer(4, '\0');
  auto n = fs_->Read(h, table_.size() - 4, std::span<char>(footer.data(), footer.size()));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(footer, table_.substr(table_.size() - 4));
  ASSERT_TRUE(Eventually([&] { return Quiet(); }));
  EXPECT_EQ(hub_.fetched_bytes.load(), table_.size() % kBlock) << "only the last (partial) block";
  EXPECT_FALSE(Complete(table_));
  fs_->Release(h);
}

TEST_F(BackgroundPrefetchTest, TheBudgetBoundsBackgroundFetchesOfSeveralFiles) {
  options_.max_memory = 3 * kBlock;
  Start();
  const uint64_t a = OpenFile("org/model/model.safetensors");
  const uint64_t b = OpenFile("org/model/pytorch_model.bin");
  ReadPastTheHeaderZone(a);
  ReadPastTheHeaderZone(b);
  ASSERT_TRUE(Eventually([&] { return Complete(weights_) && Complete(other_weights_); }));
  // Prefetch takes at most three quarters of the budget; each first read
  // (a waiting reader) may add its blocks on top.
  EXPECT_LE(fs_->memory_budget().peak(), 3u * kBlock + 2 * 2 * kBlock);
  EXPECT_GT(fs_->memory_budget().peak(), 0u);
  EXPECT_EQ(hub_.fetched_bytes.load(), weights_.size() + other_weights_.size());
  fs_->Release(a);
  fs_->Release(b);
}

TEST_F(BackgroundPrefetchTest, ClosingTheFileStopsItsBackgroundFetch) {
  options_.max_memory = 4 * kBlock;  // prefetch may hold three quarters: 3 blocks
  Start();
  // GETs from block 8 on are held: the background fetches blocks 0-7, then
  // stalls with its share of the budget held, 29 blocks short of the end,
  // however fast the rest went.
  hub_.HoldFetchesFrom(8 * kBlock);
  const uint64_t h = OpenFile("org/model/model.safetensors");
  ReadPastTheHeaderZone(h);
  ASSERT_TRUE(Eventually([&] { return hub_.held() == 3; }))
      << hub_.held() << " GETs held; memory in use: " << fs_->memory_budget().used() / kBlock << " blocks";
  const uint64_t before_close = hub_.fetched_bytes.load();
  fs_->Release(h);
  hub_.HoldFetchesFrom(UINT64_MAX);
  ASSERT_TRUE(Eventually([&] { return Quiet(); }));
  EXPECT_EQ(hub_.fetched_bytes.load(), before_close + 3u * kBlock)
      << "the held GETs end, and nothing is fetched after them";
  EXPECT_FALSE(Complete(weights_));
}

TEST_F(BackgroundPrefetchTest, NoPatternsMeansNoBackgroundFetch) {
  options_.background_patterns.clear();
  Start();
  const uint64_t h = OpenFile("org/model/model.safetensors");
  ReadPastTheHeaderZone(h);
  ASSERT_TRUE(Eventually([&] { return Quiet(); }));
  EXPECT_LE(hub_.fetched_bytes.load(), 4u * kBlock) << "the first read and its readahead only";
  EXPECT_FALSE(Complete(weights_));
  fs_->Release(h);
}

TEST_F(BackgroundPrefetchTest, AReaderIsServedWhileTheBackgroundFetchRuns) {
  options_.max_memory = 2 * kBlock;
  Start();
  const uint64_t h = OpenFile("org/model/model.safetensors");
  // Read near the end while the background works from the start: the
  // reader's blocks are fetched at once, over the budget if need be.
  std::string tail(kBlock, '\0');
  const uint64_t at = weights_.size() - kBlock;
  auto n = fs_->Read(h, at, std::span<char>(tail.data(), tail.size()));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(tail, weights_.substr(at));
  ASSERT_TRUE(Eventually([&] { return Complete(weights_); }));
  EXPECT_EQ(hub_.fetched_bytes.load(), weights_.size());
  fs_->Release(h);
}

TEST_F(BackgroundPrefetchTest, OneSlowBlockDoesNotStopTheFetchesAfterIt) {
  // Prefetch may hold 12 blocks, blocks waiting for the hash frontier 4.
  options_.max_memory = 16 * kBlock;
  Start();
  // The GET of block 6 hangs, as one paced connection among many lags: the
  // hash frontier stops there while the blocks after it arrive.
  const uint64_t slow = 6 * kBlock;
  hub_.HoldFetchAt(slow);
  struct Unhold {
    FakeHub* hub;
    uint64_t at;
    ~Unhold() { hub->ReleaseHeldAt(at); }
  } unhold{&hub_, slow};
  const uint64_t h = OpenFile("org/model/model.safetensors");
  ReadPastTheHeaderZone(h);
  // Blocks that wait for the frontier would fill the budget after eleven
  // of them; past their share they wait in the cache instead.
  ASSERT_TRUE(Eventually([&] { return hub_.fetched_bytes.load() == weights_.size() - kBlock; }))
      << "fetched " << hub_.fetched_bytes.load() / kBlock << " blocks while block 6 hung";
  EXPECT_LE(fs_->memory_budget().held_ahead(), 4u * kBlock);
  EXPECT_FALSE(Complete(weights_));
  hub_.ReleaseHeldAt(slow);
  // The hash reads the blocks the stash turned away back from the cache.
  ASSERT_TRUE(Eventually([&] { return Complete(weights_); }));
  EXPECT_EQ(hub_.fetched_bytes.load(), weights_.size()) << "each byte once";
  ASSERT_TRUE(Eventually([&] { return Quiet(); }));
  EXPECT_EQ(fs_->memory_budget().held_ahead(), 0u);
  fs_->Release(h);
}

TEST(BackgroundPatternTest, MatchesTheFileNameOnly) {
  const auto patterns = FilesystemOptions::DefaultBackgroundPatterns();
  EXPECT_TRUE(MatchesBackgroundPattern(patterns, "model-00001-of-00002.safetensors"));
  EXPECT_TRUE(MatchesBackgroundPattern(patterns, "sub/dir/pytorch_model.bin"));
  EXPECT_TRUE(MatchesBackgroundPattern(patterns, "q4.gguf"));
  EXPECT_FALSE(MatchesBackgroundPattern(patterns, "data/train.parquet"));
  EXPECT_FALSE(MatchesBackgroundPattern(patterns, "weights.bin/README.md"));
  EXPECT_FALSE(MatchesBackgroundPattern({}, "model.safetensors"));
}

}  // namespace
}  // namespace hfm
