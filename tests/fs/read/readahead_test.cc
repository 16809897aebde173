// The read path's adaptive readahead, driven without a mount on FakeHub and
// the in-memory cache: how many bytes a pattern of reads makes it fetch.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "fs/tree/hub_filesystem.h"
#include "tests/fs/fake_hub.h"
#include "tests/fs/fs_test_util.h"

namespace hfm {
namespace {

using testing::Pattern;

constexpr uint32_t kBlock = 64 * 1024;
constexpr uint32_t kBlocks = 96;
const std::string kCommit = std::string(40, 'c');

class ReadaheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Not a weight file: no whole-file background fetch, only readahead.
    table_ = Pattern(kBlocks * kBlock, 7);
    hub_.AddCommit("org/data", kCommit, {{"table.arrow", {table_, true}}});
    hub_.SetRef("org/data", "main", kCommit);
    cache_ = NewMemoryCache(kBlock);
    options_.max_readahead_blocks = 32;
    fs_ = std::make_unique<HubFilesystem>(&hub_, cache_.blocks.get(), cache_.meta.get(), options_);
    auto opened = fs_->Open(testing::WalkPath(*fs_, "org/data/table.arrow"));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    handle_ = opened->handle;
  }

  void TearDown() override { fs_->Release(handle_); }

  void Read(uint64_t offset, size_t size) {
    std::string buf(size, '\0');
    auto n = fs_->Read(handle_, offset, std::span<char>(buf.data(), buf.size()));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(buf.substr(0, *n), table_.substr(offset, *n));
  }

  // Bytes fetched once every fetch started so far has finished.
  uint64_t FetchedWhenQuiet() {
    EXPECT_TRUE(testing::Eventually([&] { return fs_->memory_budget().used() == 0; }))
        << "fetches still running after 20 s";
    return hub_.fetched_bytes.load();
  }

  FakeHub hub_;
  Cache cache_;
  FilesystemOptions options_;
  std::unique_ptr<HubFilesystem> fs_;
  std::string table_;
  uint64_t handle_ = 0;
};

TEST_F(ReadaheadTest, AFirstReadFetchesOnlyItsOwnBlock) {
  Read(40 * kBlock + 100, kBlock / 2);
  EXPECT_EQ(FetchedWhenQuiet(), kBlock);
  EXPECT_EQ(hub_.fetches.load(), 1);
}

TEST_F(ReadaheadTest, AHeaderReadFetchesTheNextBlockWithIt) {
  // A safetensors header: 8 bytes at 0. What follows is read next: the next
  // block is read ahead, in a GET of its own.
  Read(0, 8);
  EXPECT_EQ(FetchedWhenQuiet(), 2u * kBlock);
  EXPECT_EQ(hub_.fetches.load(), 2);
}

TEST_F(ReadaheadTest, AHeaderReadFetchesExactlyOneBlockAheadWhateverTheFetchGroup) {
  // Fetch groups of 8 blocks (as -o fetch_size=8M makes of 1 MiB blocks):
  // a sliding window rounds up to them, a header read's next block does not.
  fs_->Release(handle_);
  options_.read_path.max_blocks_per_fetch = 8;
  fs_ = std::make_unique<HubFilesystem>(&hub_, cache_.blocks.get(), cache_.meta.get(), options_);
  auto opened = fs_->Open(testing::WalkPath(*fs_, "org/data/table.arrow"));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  handle_ = opened->handle;
  Read(0, 8);
  EXPECT_EQ(FetchedWhenQuiet(), 2u * kBlock);
}

TEST_F(ReadaheadTest, TheWindowGrowsWithTheBytesReadNotTheNumberOfReads) {
  // A header read, then the kernel's burst of small readahead requests:
  // eight reads that together cover half a block.
  Read(0, 8);
  for (uint64_t offset = 4096; offset < kBlock / 2; offset += 4096) Read(offset, 4096);
  // Twice the half block read, rounded up to a block, past the block being read.
  EXPECT_LE(FetchedWhenQuiet(), 2u * kBlock);
}

TEST_F(ReadaheadTest, ASequentialReaderGetsTwiceWhatItReadAhead) {
  for (uint32_t i = 0; i < 8; ++i) Read(uint64_t{i} * kBlock, kBlock);
  // After eight blocks, sixteen ahead of the last one read.
  const uint64_t fetched = FetchedWhenQuiet();
  EXPECT_GE(fetched, 20u * kBlock);
  EXPECT_LE(fetched, (8u + 16u) * kBlock);
}

TEST_F(ReadaheadTest, TheWindowStopsAtItsCap) {
  for (uint32_t i = 0; i < 40; ++i) Read(uint64_t{i} * kBlock, kBlock);
  EXPECT_EQ(FetchedWhenQuiet(), (40u + options_.max_readahead_blocks) * kBlock);
}

TEST_F(ReadaheadTest, AJumpForwardCountsOnlyTheBytesRead) {
  // Two small reads ten blocks apart look sequential (the kernel's requests
  // arrive out of order), but only two blocks' worth of reading was done:
  // the header read's block and the next, then block 10 and one ahead.
  Read(0, 4096);
  Read(10u * kBlock, 4096);
  EXPECT_LE(FetchedWhenQuiet(), 4u * kBlock) << "the skipped blocks opened the window";
}

TEST_F(ReadaheadTest, ASeekFetchesOnlyTheBlocksItTouches) {
  for (uint32_t i = 0; i < 4; ++i) Read(uint64_t{i} * kBlock, kBlock);
  const uint64_t before = FetchedWhenQuiet();
  Read(70u * kBlock + 100, kBlock / 2);
  Read(30u * kBlock + 100, kBlock / 2);
  EXPECT_EQ(FetchedWhenQuiet() - before, 2u * kBlock) << "random reads fetch nothing ahead";
  // Small ones fetch just their bytes the first time (fs/file_content_direct.cc).
  Read(50u * kBlock + 100, 4096);
  EXPECT_EQ(FetchedWhenQuiet() - before, 2u * kBlock + 4096);
}

}  // namespace
}  // namespace hfm
