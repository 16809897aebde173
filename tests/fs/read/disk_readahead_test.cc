// A sequential reader of a file the cache holds whole names the blocks it
// will want a few blocks ahead, so the store reads them from disk before the
// reader asks (FileContent::HintDiskReadahead).
#include <gtest/gtest.h>

#include <algorithm>

#include "fs/tree/hub_filesystem.h"
#include "tests/fs/fake_hub.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/recording_store.h"

namespace hfm {
namespace {

using testing::Pattern;

constexpr uint32_t kBlock = 64 * 1024;
constexpr uint32_t kBlocks = 20;
constexpr uint32_t kAhead = 8;
constexpr uint64_t kLastBlockOffset = uint64_t{kBlocks - 1} * kBlock;
const std::string kCommit = std::string(40, 'c');

class DiskReadaheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    content_ = Pattern(kBlocks * kBlock - 100, 21);  // a short last block
    hash_ = HashBytes(ContentHash::Kind::kSha256, content_);
    hub_.AddCommit("org/model", kCommit, {{"weights.bin", {content_, true}}});
    hub_.SetRef("org/model", "main", kCommit);
    cache_ = NewMemoryCache(kBlock);
  }

  void TearDown() override {
    hub_.ReleaseHeldAt(kLastBlockOffset);
    if (fs_ && handle_) fs_->Release(handle_);
  }

  // Fills the cache with the whole file, then mounts anew over a store that
  // records the hints.
  void CacheTheFileAndRemount() {
    Mount(cache_.blocks.get());
    std::string all(content_.size(), '\0');
    ASSERT_TRUE(fs_->Read(handle_, 0, std::span<char>(all.data(), all.size())).ok());
    ASSERT_TRUE(testing::Eventually([&] {
      auto c = cache_.blocks->IsComplete(hash_);
      return c.ok() && *c;
    }));
    fs_->Release(handle_);
    store_ = std::make_unique<testing::RecordingStore>(cache_.blocks.get());
    Mount(store_.get());
  }

  void Mount(BlockStore* store) {
    fs_ = std::make_unique<HubFilesystem>(&hub_, store, cache_.meta.get(), FilesystemOptions());
    auto opened = fs_->Open(testing::WalkPath(*fs_, "org/model/weights.bin"));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    handle_ = opened->handle;
  }

  void ExpectRead(uint64_t offset, size_t size) {
    std::string buf(size, '\0');
    auto n = fs_->Read(handle_, offset, std::span<char>(buf.data(), buf.size()));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    buf.resize(*n);
    EXPECT_EQ(buf, content_.substr(offset, size));
  }

  FakeHub hub_;
  Cache cache_;
  std::string content_;
  ContentHash hash_;
  std::unique_ptr<testing::RecordingStore> store_;
  std::unique_ptr<HubFilesystem> fs_;
  uint64_t handle_ = 0;
};

// kAhead.. the last block, in order, each once.
std::vector<uint32_t> EveryBlockFromAhead() {
  std::vector<uint32_t> want;
  for (uint32_t b = kAhead; b < kBlocks; ++b) want.push_back(b);
  return want;
}

TEST_F(DiskReadaheadTest, ASequentialReaderNamesEachBlockOnceAFewAhead) {
  CacheTheFileAndRemount();
  const int fetches = hub_.fetches.load();
  for (uint64_t offset = 0; offset < content_.size(); offset += kBlock) ExpectRead(offset, kBlock);
  EXPECT_EQ(store_->hints(hash_), EveryBlockFromAhead());
  EXPECT_EQ(hub_.fetches.load(), fetches) << "read from the cache alone";
}

TEST_F(DiskReadaheadTest, ReadsAcrossBlockEndsNameEachBlockOnce) {
  CacheTheFileAndRemount();
  // Half a block, then whole blocks from the middle of one to the middle of
  // the next: each read reaches one block's end.
  ExpectRead(0, kBlock / 2);
  for (uint64_t offset = kBlock / 2; offset < content_.size(); offset += kBlock) ExpectRead(offset, kBlock);
  EXPECT_EQ(store_->hints(hash_), EveryBlockFromAhead());
}

TEST_F(DiskReadaheadTest, SeeksNameNothing) {
  CacheTheFileAndRemount();
  for (uint32_t b : {15u, 3u, 11u, 6u}) ExpectRead(uint64_t{b} * kBlock + 100, 4096);
  EXPECT_TRUE(store_->hints(hash_).empty());
}

TEST_F(DiskReadaheadTest, AFileNotYetCompleteNamesNothing) {
  // The last block's GET is held, so the file cannot complete (and rightly
  // start naming blocks) while every other block is read in order.
  hub_.HoldFetchAt(kLastBlockOffset);
  store_ = std::make_unique<testing::RecordingStore>(cache_.blocks.get());
  Mount(store_.get());
  for (uint64_t offset = 0; offset < kLastBlockOffset; offset += kBlock) ExpectRead(offset, kBlock);
  EXPECT_TRUE(store_->hints(hash_).empty()) << "its blocks come from the network, not the disk";
}

}  // namespace
}  // namespace hfm
