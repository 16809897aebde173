// A read standing alone in a block nobody fetched gets its own bytes from a
// GET of just them; the second such read in a block also fetches the block
// (fs/file_content_direct.cc).
#include <gtest/gtest.h>

#include "fs/tree/hub_filesystem.h"
#include "tests/fs/fake_hub.h"
#include "tests/fs/fs_test_util.h"

namespace hfm {
namespace {

using testing::Pattern;

constexpr uint32_t kBlock = 64 * 1024;
constexpr uint32_t kBlocks = 16;
constexpr size_t kRead = 4096;
const std::string kCommit = std::string(40, 'c');

class DirectReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    table_ = Pattern(kBlocks * kBlock, 11);  // not a weight file: no background fetch
    hub_.AddCommit("org/data", kCommit, {{"table.arrow", {table_, true}}});
    hub_.SetRef("org/data", "main", kCommit);
    cache_ = NewMemoryCache(kBlock);
    fs_ = std::make_unique<HubFilesystem>(&hub_, cache_.blocks.get(), cache_.meta.get(), FilesystemOptions());
    handle_ = Open();
  }

  void TearDown() override {
    hub_.ReleaseStalled();
    for (uint64_t h : handles_) fs_->Release(h);
  }

  uint64_t Open() {
    auto opened = fs_->Open(testing::WalkPath(*fs_, "org/data/table.arrow"));
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    handles_.push_back(opened->handle);
    return opened->handle;
  }

  void ExpectRead(uint64_t handle, uint64_t offset, size_t size) {
    std::string buf(size, '\0');
    auto n = fs_->Read(handle, offset, std::span<char>(buf.data(), buf.size()));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(*n, size);
    EXPECT_EQ(buf, table_.substr(offset, size)) << offset;
  }

  uint64_t FetchedWhenQuiet() {
    EXPECT_TRUE(testing::Eventually([&] { return fs_->memory_budget().used() == 0; }));
    return hub_.fetched_bytes.load();
  }

  FakeHub hub_;
  Cache cache_;
  std::unique_ptr<HubFilesystem> fs_;
  std::string table_;
  uint64_t handle_ = 0;
  std::vector<uint64_t> handles_;
};

TEST_F(DirectReadTest, AFirstSeekIntoABlockFetchesJustItsBytes) {
  ExpectRead(handle_, 5 * kBlock + 3 * kBlock / 4, kRead);
  ExpectRead(Open(), 7 * kBlock + 100, kRead);  // in the first quarter too
  EXPECT_EQ(fs_->Stats().direct_reads, 2u);
  EXPECT_EQ(FetchedWhenQuiet(), 2 * kRead) << "no block is fetched for a read that lands in it once";
  EXPECT_EQ(*cache_.blocks->CachedBytes(HashBytes(ContentHash::Kind::kSha256, table_)), 0u);
}

TEST_F(DirectReadTest, ASecondSeekIntoTheBlockFetchesItForTheCache) {
  ExpectRead(handle_, 5 * kBlock + kBlock / 2, kRead);
  ExpectRead(Open(), 5 * kBlock + 3 * kBlock / 4, kRead);
  // The second read's bytes come by themselves or, if the block's GET got
  // there first, from the block.
  const uint64_t fetched = FetchedWhenQuiet();
  EXPECT_GE(fetched, kRead + kBlock);
  EXPECT_LE(fetched, 2 * kRead + kBlock);
  hub_.SetOffline(true);
  ExpectRead(Open(), 5 * kBlock, kBlock);
}

TEST_F(DirectReadTest, ASecondSeekIsServedWhileItsBlocksGetIsStillFarFromItsBytes) {
  const uint64_t at = 5 * kBlock + 3 * kBlock / 4;
  ExpectRead(handle_, 5 * kBlock + kBlock / 2, kRead);
  // Every GET stops after kRead bytes until released: the block's GET holds
  // the block's first kRead bytes only, the direct GET all it asked for.
  hub_.StallFetchesAfter(kRead);
  ExpectRead(Open(), at, kRead);
  EXPECT_EQ(fs_->Stats().direct_reads, 2u);
  hub_.ReleaseStalled();
  // The block itself still arrives, for the cache.
  EXPECT_EQ(FetchedWhenQuiet(), kBlock + 2 * kRead);
  hub_.SetOffline(true);
  ExpectRead(Open(), at, kRead);
  ExpectRead(handles_.back(), 5 * kBlock, kBlock);
}

TEST_F(DirectReadTest, ASecondSeekInTheFirstQuarterOfItsBlockWaitsForTheBlock) {
  ExpectRead(handle_, 5 * kBlock + kBlock / 8, kRead);
  EXPECT_EQ(fs_->Stats().direct_reads, 1u) << "the first read, anywhere in the block";
  ExpectRead(Open(), 5 * kBlock + kBlock / 16, kRead);
  EXPECT_EQ(fs_->Stats().direct_reads, 1u) << "the block's GET brings the first quarter about as soon";
  EXPECT_EQ(FetchedWhenQuiet(), kRead + kBlock);
}

TEST_F(DirectReadTest, ASeekIntoABlockAnEarlierMountCachedReadsTheCache) {
  ExpectRead(handle_, 5 * kBlock, kBlock);
  const uint64_t fetched = FetchedWhenQuiet();
  // A new filesystem on the same cache has not looked the block up yet.
  for (uint64_t h : handles_) fs_->Release(h);
  handles_.clear();
  fs_ = std::make_unique<HubFilesystem>(&hub_, cache_.blocks.get(), cache_.meta.get(), FilesystemOptions());
  ExpectRead(Open(), 5 * kBlock + 3 * kBlock / 4, kRead);
  EXPECT_EQ(fs_->Stats().direct_reads, 0u);
  EXPECT_EQ(FetchedWhenQuiet(), fetched);
}

TEST_F(DirectReadTest, AFirstSeekWhoseGetFailsFallsBackToTheBlockOnce) {
  hub_.SetOffline(true);
  std::string buf(kRead, '\0');
  auto n = fs_->Read(handle_, 5 * kBlock + 3 * kBlock / 4, std::span<char>(buf.data(), buf.size()));
  EXPECT_FALSE(n.ok());
  EXPECT_EQ(hub_.fetches.load(), 2) << "the direct GET, then the block's; no second direct GET";
}

TEST_F(DirectReadTest, ALargeReadWaitsForTheBlock) {
  ExpectRead(handle_, 5 * kBlock + kBlock / 2, kBlock / 2);
  EXPECT_EQ(fs_->Stats().direct_reads, 0u);
  EXPECT_EQ(FetchedWhenQuiet(), kBlock);
}

TEST_F(DirectReadTest, ASeekIntoACachedBlockReadsTheCache) {
  ExpectRead(handle_, 5 * kBlock, kBlock);
  const uint64_t fetched = FetchedWhenQuiet();
  ExpectRead(Open(), 5 * kBlock + 3 * kBlock / 4, kRead);
  EXPECT_EQ(fs_->Stats().direct_reads, 0u);
  EXPECT_EQ(FetchedWhenQuiet(), fetched);
}

TEST_F(DirectReadTest, ASeekIntoTheLastBlockWaitsForIt) {
  // Reads reaching the end get the file's verdict; that needs the block.
  ExpectRead(handle_, (kBlocks - 1) * kBlock + 3 * kBlock / 4, kRead);
  EXPECT_EQ(fs_->Stats().direct_reads, 0u);
}

TEST_F(DirectReadTest, ASequentialReaderFetchesEveryByteOnce) {
  for (uint64_t at = 0; at < table_.size(); at += kRead) ExpectRead(handle_, at, kRead);
  EXPECT_EQ(fs_->Stats().direct_reads, 0u);
  EXPECT_EQ(FetchedWhenQuiet(), table_.size());
}

}  // namespace
}  // namespace hfm
