// The user.hfmirror.* attributes: FileXattrs on its own, then through
// HubFilesystem on FakeHub and the in-memory cache as a file is read.
#include "fs/tree/file_xattrs.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "fs/tree/hub_filesystem.h"
#include "tests/fs/fake_hub.h"
#include "tests/fs/fs_test_util.h"

namespace hfm {
namespace {

using testing::Pattern;

constexpr uint32_t kBlock = 64 * 1024;
const std::string kCommit = std::string(40, 'e');

TEST(FileXattrsTest, NamesTheHashByItsKindAndTheStateByWhatIsCached) {
  FileFacts f;
  f.commit = kCommit;
  f.hash = HashBytes(ContentHash::Kind::kSha256, "x");
  f.size = 1000;
  f.endpoints = {"https://a.example", "https://b.example"};
  auto x = FileXattrs(f);
  EXPECT_EQ(FindXattr(x, "user.hfmirror.commit"), kCommit);
  EXPECT_EQ(FindXattr(x, "user.hfmirror.sha256"), f.hash.ToHex());
  EXPECT_EQ(FindXattr(x, "user.hfmirror.git_sha1"), std::nullopt);
  EXPECT_EQ(FindXattr(x, "user.hfmirror.size"), "1000");
  EXPECT_EQ(FindXattr(x, "user.hfmirror.cached_bytes"), "0");
  EXPECT_EQ(FindXattr(x, "user.hfmirror.state"), "absent");
  EXPECT_EQ(FindXattr(x, "user.hfmirror.endpoint"), "https://a.example;https://b.example");
  EXPECT_EQ(FindXattr(x, "user.other"), std::nullopt);

  f.hash = HashBytes(ContentHash::Kind::kGitSha1, "x");
  f.cached_bytes = 10;
  x = FileXattrs(f);
  EXPECT_EQ(FindXattr(x, "user.hfmirror.git_sha1"), f.hash.ToHex());
  EXPECT_EQ(FindXattr(x, "user.hfmirror.sha256"), std::nullopt);
  EXPECT_EQ(FindXattr(x, "user.hfmirror.state"), "partial");

  f.complete = true;
  x = FileXattrs(f);
  EXPECT_EQ(FindXattr(x, "user.hfmirror.state"), "complete");
  EXPECT_EQ(FindXattr(x, "user.hfmirror.cached_bytes"), "1000");
}

TEST(FileXattrsTest, TheNameListIsNulTerminatedNames) {
  const std::string list = XattrNameList({{"user.a", "1"}, {"user.bc", "22"}});
  EXPECT_EQ(list, std::string("user.a\0user.bc\0", 15));
}

class FileXattrsMountlessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    weights_ = Pattern(3 * kBlock + 7, 5);
    hub_.AddCommit("org/model", kCommit, {{"data.arrow", {weights_, true}}, {"config.json", {"{}"}}});
    hub_.SetRef("org/model", "main", kCommit);
    cache_ = NewMemoryCache(kBlock);
    fs_ = std::make_unique<HubFilesystem>(&hub_, cache_.blocks.get(), cache_.meta.get(), options_);
  }

  std::string Get(uint64_t ino, const char* name) {
    auto x = fs_->Xattrs(ino);
    EXPECT_TRUE(x.ok()) << x.status().ToString();
    return x.ok() ? FindXattr(*x, name).value_or("<none>") : "<error>";
  }

  FakeHub hub_;
  Cache cache_;
  FilesystemOptions options_;
  std::unique_ptr<HubFilesystem> fs_;
  std::string weights_;
};

TEST_F(FileXattrsMountlessTest, StateGoesFromAbsentToPartialToComplete) {
  const uint64_t ino = testing::WalkPath(*fs_, "org/model/data.arrow");
  ASSERT_NE(ino, 0u);
  EXPECT_EQ(Get(ino, "user.hfmirror.commit"), kCommit);
  EXPECT_EQ(Get(ino, "user.hfmirror.sha256"), HashBytes(ContentHash::Kind::kSha256, weights_).ToHex());
  EXPECT_EQ(Get(ino, "user.hfmirror.size"), std::to_string(weights_.size()));
  EXPECT_EQ(Get(ino, "user.hfmirror.state"), "absent");
  EXPECT_EQ(Get(ino, "user.hfmirror.endpoint"), hub_.endpoint());

  auto f = fs_->Open(ino);
  ASSERT_TRUE(f.ok());
  std::string part(kBlock / 2, '\0');  // a smaller seek would fetch only its own bytes
  ASSERT_TRUE(fs_->Read(f->handle, 2 * kBlock, std::span<char>(part.data(), part.size())).ok());
  testing::Eventually([&] { return Get(ino, "user.hfmirror.cached_bytes") != "0"; });
  EXPECT_EQ(Get(ino, "user.hfmirror.cached_bytes"), std::to_string(kBlock));
  EXPECT_EQ(Get(ino, "user.hfmirror.state"), "partial");

  std::string all(weights_.size(), '\0');
  ASSERT_TRUE(fs_->Read(f->handle, 0, std::span<char>(all.data(), all.size())).ok());
  fs_->Release(f->handle);
  EXPECT_EQ(Get(ino, "user.hfmirror.state"), "complete") << "verified once read to the end";
  EXPECT_EQ(Get(ino, "user.hfmirror.cached_bytes"), std::to_string(weights_.size()));
}

TEST_F(FileXattrsMountlessTest, ARegularFileHasItsGitBlobIdAndADirectoryHasNone) {
  const uint64_t file = testing::WalkPath(*fs_, "org/model/config.json");
  EXPECT_EQ(Get(file, "user.hfmirror.git_sha1"), HashBytes(ContentHash::Kind::kGitSha1, "{}").ToHex());
  EXPECT_EQ(Get(file, "user.hfmirror.sha256"), "<none>");
  auto dir = fs_->Xattrs(testing::WalkPath(*fs_, "org/model"));
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(dir->empty());
}

}  // namespace
}  // namespace hfm
