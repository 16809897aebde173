// A header read (a first read within a cold file's first block) hands the
// rest of that block to the kernel's page cache (fs/header_read.cc): what is
// stored, where, and when nothing is.
#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "fs/tree/hub_filesystem.h"
#include "tests/fs/fake_hub.h"
#include "tests/fs/fs_test_util.h"

namespace hfm {
namespace {

using testing::Pattern;

constexpr uint32_t kBlock = 64 * 1024;
constexpr uint64_t kPage = 4096;
const std::string kCommit = std::string(40, 'c');

struct Stored {
  uint64_t ino;
  uint64_t offset;
  std::string bytes;
};

class HeaderReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    big_ = Pattern(8 * kBlock + 123, 7);
    small_ = Pattern(kBlock / 2 + 1000, 9);
    hub_.AddCommit("org/data", kCommit, {{"big.arrow", {big_, true}}, {"small.arrow", {small_, false}}});
    hub_.SetRef("org/data", "main", kCommit);
    cache_ = NewMemoryCache(kBlock);
    fs_ = std::make_unique<HubFilesystem>(&hub_, cache_.blocks.get(), cache_.meta.get(), FilesystemOptions());
    fs_->SetPageCacheStore([this](uint64_t ino, uint64_t offset, std::span<const char> bytes) {
      std::lock_guard<std::mutex> lock(mu_);
      stored_.push_back(Stored{ino, offset, std::string(bytes.data(), bytes.size())});
    });
  }

  uint64_t Open(const std::string& name, uint64_t* ino = nullptr) {
    const uint64_t node = testing::WalkPath(*fs_, "org/data/" + name);
    if (ino) *ino = node;
    auto opened = fs_->Open(node);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    handles_.push_back(opened.ok() ? opened->handle : 0);
    return handles_.back();
  }

  Result<std::string> Read(uint64_t handle, uint64_t offset, size_t size) {
    std::string buf(size, '\0');
    auto n = fs_->Read(handle, offset, std::span<char>(buf.data(), buf.size()));
    if (!n.ok()) return n.status();
    buf.resize(*n);
    return buf;
  }

  std::vector<Stored> stored() {
    std::lock_guard<std::mutex> lock(mu_);
    return stored_;
  }

  void TearDown() override {
    for (uint64_t h : handles_) fs_->Release(h);
  }

  FakeHub hub_;
  Cache cache_;
  std::unique_ptr<HubFilesystem> fs_;
  std::string big_, small_;
  std::vector<uint64_t> handles_;
  std::mutex mu_;
  std::vector<Stored> stored_;
};

TEST_F(HeaderReadTest, TheRestOfTheFirstBlockGoesToThePageCache) {
  uint64_t ino = 0;
  const uint64_t h = Open("big.arrow", &ino);
  auto head = Read(h, 0, 8);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(*head, big_.substr(0, 8));
  const auto s = stored();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].ino, ino);
  EXPECT_EQ(s[0].offset, kPage) << "whole pages past the read's own page";
  EXPECT_EQ(s[0].bytes, big_.substr(kPage, kBlock - kPage));
  // The next block is still read ahead, once the first is in.
  EXPECT_TRUE(testing::Eventually([&] { return hub_.fetched_bytes.load() == 2u * kBlock; }))
      << hub_.fetched_bytes.load();
}

TEST_F(HeaderReadTest, StoringStartsAtTheFirstWholePagePastTheRead) {
  const uint64_t h = Open("big.arrow");
  auto got = Read(h, 100, 2 * kPage);  // ends within the third page
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, big_.substr(100, 2 * kPage));
  const auto s = stored();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].offset, 3 * kPage);
  EXPECT_EQ(s[0].bytes, big_.substr(3 * kPage, kBlock - 3 * kPage));
}

TEST_F(HeaderReadTest, OnlyAFirstReadWithinTheFirstBlockStores) {
  const uint64_t a = Open("big.arrow");
  ASSERT_TRUE(Read(a, 0, 8).ok());
  ASSERT_TRUE(Read(a, 8, 100).ok());  // a second read
  EXPECT_EQ(stored().size(), 1u);
  const uint64_t b = Open("big.arrow");
  ASSERT_TRUE(Read(b, 3 * kBlock + 5, 8).ok());  // a first read elsewhere
  const uint64_t c = Open("big.arrow");
  ASSERT_TRUE(Read(c, 0, kBlock).ok());  // the whole block: nothing left to store
  EXPECT_EQ(stored().size(), 1u);
}

TEST_F(HeaderReadTest, AFileSmallerThanABlockIsStoredToItsEnd) {
  const uint64_t h = Open("small.arrow");
  auto head = Read(h, 0, 8);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(*head, small_.substr(0, 8));
  const auto s = stored();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].offset, kPage);
  EXPECT_EQ(s[0].bytes, small_.substr(kPage)) << "the last page is partial";
}

TEST_F(HeaderReadTest, ACompleteFileStoresNothing) {
  const uint64_t a = Open("small.arrow");
  ASSERT_TRUE(Read(a, 0, small_.size()).ok());  // whole file: fetched and verified
  const uint64_t b = Open("small.arrow");
  auto head = Read(b, 0, 8);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, small_.substr(0, 8));
  EXPECT_TRUE(stored().empty()) << "the kernel keeps a verified file's pages: it reads them as usual";
}

TEST_F(HeaderReadTest, BytesThatFailVerificationAreNeverStored) {
  // One block: verified before anything of it is served.
  hub_.SetServed("org/data", kCommit, "small.arrow", Pattern(small_.size(), 3));
  const uint64_t h = Open("small.arrow");
  auto head = Read(h, 0, 8);
  EXPECT_FALSE(head.ok());
  EXPECT_TRUE(stored().empty());
}

TEST_F(HeaderReadTest, AFailedFetchStoresNothing) {
  const uint64_t h = Open("big.arrow");
  hub_.SetOffline(true);
  auto head = Read(h, 0, 8);
  EXPECT_FALSE(head.ok());
  EXPECT_TRUE(stored().empty());
}

}  // namespace
}  // namespace hfm
