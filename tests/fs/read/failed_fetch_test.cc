// A reader's answer from a GET that failed is that failure: the reader does
// not start another GET for the same block, whenever the failure came.
// (Retries and other mirrors are the transport's business, within a GET.)
#include <gtest/gtest.h>

#include <thread>

#include "fs/tree/hub_filesystem.h"
#include "tests/fs/fake_hub.h"
#include "tests/fs/fs_test_util.h"

namespace hfm {
namespace {

constexpr uint32_t kBlock = 64 * 1024;
constexpr uint32_t kBlocks = 16;
const std::string kCommit = std::string(40, 'c');

class FailedFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_.AddCommit("org/data", kCommit, {{"table.arrow", {testing::Pattern(kBlocks * kBlock, 21), true}}});
    hub_.SetRef("org/data", "main", kCommit);
    cache_ = NewMemoryCache(kBlock);
    fs_ = std::make_unique<HubFilesystem>(&hub_, cache_.blocks.get(), cache_.meta.get(), FilesystemOptions());
    auto opened = fs_->Open(testing::WalkPath(*fs_, "org/data/table.arrow"));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    handle_ = opened->handle;
  }

  void TearDown() override {
    hub_.ReleaseHeldAt(5 * kBlock);
    if (reader_.joinable()) reader_.join();
    fs_->Release(handle_);
  }

  FakeHub hub_;
  Cache cache_;
  std::unique_ptr<HubFilesystem> fs_;
  uint64_t handle_ = 0;
  std::thread reader_;
};

TEST_F(FailedFetchTest, AReadOfTwoBlocksWhoseSecondGetFailsFirstFetchesNeitherAgain) {
  // A seek (no readahead) reading half of block 5 and half of block 6. Block
  // 6's GET fails and is wound down while the reader still waits for block 5.
  hub_.HoldFetchAt(5 * kBlock);
  hub_.FailFetchesAt(6 * kBlock);
  Result<size_t> got = size_t{0};
  reader_ = std::thread([&] {
    std::string buf(kBlock, '\0');
    got = fs_->Read(handle_, 5 * kBlock + kBlock / 2, std::span<char>(buf.data(), buf.size()));
  });
  ASSERT_TRUE(testing::Eventually([&] { return hub_.fetches.load() == 1 && fs_->Stats().fetches_in_flight == 1; }))
      << "block 6's GET did not fail while block 5's was held";
  hub_.ReleaseHeldAt(5 * kBlock);
  reader_.join();
  EXPECT_FALSE(got.ok()) << "the read got bytes from a GET after the one that failed";
  EXPECT_EQ(hub_.fetches.load(), 2) << "one GET per block; none again for the block whose GET failed";
}

}  // namespace
}  // namespace hfm
