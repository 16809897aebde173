// The token file checks: a secret is read only from a regular file of its
// owner's that nobody else may read, never through a symlink, never huge.
#include "fs/mount/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace hfm {
namespace {

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/hfm-credentials-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
    path_ = dir_ + "/token";
  }
  void TearDown() override {
    unlink(path_.c_str());
    unlink((dir_ + "/link").c_str());
    rmdir(dir_.c_str());
  }
  void Write(const std::string& text, mode_t mode) {
    std::ofstream(path_) << text;
    ASSERT_EQ(chmod(path_.c_str(), mode), 0);
  }

  std::string dir_;
  std::string path_;
};

TEST_F(TokenFileTest, ReadsAPrivateFileOfItsOwner) {
  Write("  hf_secret\n", 0600);
  auto token = ReadTokenFile(path_, geteuid(), true);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(*token, "hf_secret");
}

TEST_F(TokenFileTest, RefusesAGroupReadableFile) {
  Write("hf_secret", 0640);
  auto token = ReadTokenFile(path_, geteuid(), true);
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.status().message().find("chmod go-rwx"), std::string::npos);
  EXPECT_EQ(token.status().message().find("hf_secret"), std::string::npos);
}

TEST_F(TokenFileTest, RefusesAWorldReadableFile) {
  Write("hf_secret", 0604);
  EXPECT_FALSE(ReadTokenFile(path_, geteuid(), true).ok());
}

TEST_F(TokenFileTest, RefusesASymlinkEvenToAGoodFile) {
  Write("hf_secret", 0600);
  const std::string link = dir_ + "/link";
  ASSERT_EQ(symlink(path_.c_str(), link.c_str()), 0);
  auto token = ReadTokenFile(link, geteuid(), true);
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.status().message().find("symlink"), std::string::npos);
}

TEST_F(TokenFileTest, RefusesADirectory) {
  EXPECT_FALSE(ReadTokenFile(dir_, geteuid(), true).ok());
}

TEST_F(TokenFileTest, RefusesAFileOverTheSizeCap) {
  Write(std::string(kMaxTokenFileBytes + 1, 'x'), 0600);
  auto token = ReadTokenFile(path_, geteuid(), true);
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.status().message().find("not a token file"), std::string::npos);
}

TEST_F(TokenFileTest, RefusesAFileOwnedBySomeoneElse) {
  Write("hf_secret", 0600);
  if (geteuid() != 0) GTEST_SKIP() << "needs root to own a file as another user";
  ASSERT_EQ(chown(path_.c_str(), 1234, 1234), 0);
  auto token = ReadTokenFile(path_, 65534, true);
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.status().message().find("owned by uid 1234"), std::string::npos);
}

TEST_F(TokenFileTest, RootOwnedFileCountsAsTheOwners) {
  Write("hf_secret", 0600);
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  ASSERT_EQ(chown(path_.c_str(), 65534, 65534), 0);
  EXPECT_TRUE(ReadTokenFile(path_, 65534, true).ok());
  EXPECT_FALSE(ReadTokenFile(path_, 1234, true).ok());
}

TEST_F(TokenFileTest, AUsersOwnTokenMayNotBeRoots) {
  Write("hf_secret", 0600);
  if (geteuid() != 0) GTEST_SKIP() << "needs root to own a file as root";
  // A root-owned file in a user's home may be a hard link to root's token.
  auto token = ReadTokenFile(path_, 65534, true, /*root_may_own=*/false);
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.status().message().find("owned by uid 0"), std::string::npos);
}

TEST_F(TokenFileTest, AMissingOptionalFileIsNoToken) {
  auto token = ReadTokenFile(dir_ + "/absent", geteuid(), false);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "");
  EXPECT_FALSE(ReadTokenFile(dir_ + "/absent", geteuid(), true).ok());
}

}  // namespace
}  // namespace hfm
