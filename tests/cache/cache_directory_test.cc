// The cache directory's safety checks (issue 14, probe 6): what root (or any
// user) refuses to open, so no other user can steer its writes.
#include "cache/cache_directory.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "cache/block_store.h"
#include "tests/cache/cache_test_util.h"

namespace hfm {
namespace {

using testing::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Result<Cache> OpenAt(const std::string& dir) {
  CacheOptions o;
  o.directory = dir;
  o.max_bytes = 8 << 20;
  o.block_size = 64 << 10;
  return OpenLmdbCache(o);
}

TEST(CacheDirectoryTest, AMissingDirectoryIsCreatedPrivate) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/a/b/cache";
  uid_t owner = 1;
  ASSERT_TRUE(PrepareCacheDirectory(dir, &owner).ok());
  struct stat st;
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(owner, ::geteuid());
}

TEST(CacheDirectoryTest, ADirectoryWritableByOthersIsRefused) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/cache";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  uid_t owner;
  for (mode_t bad : {0770, 0707, 0777}) {
    ASSERT_EQ(::chmod(dir.c_str(), bad), 0);
    Status s = PrepareCacheDirectory(dir, &owner);
    EXPECT_TRUE(s.IsPermissionDenied()) << bad << ": " << s.ToString();
  }
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  EXPECT_TRUE(PrepareCacheDirectory(dir, &owner).ok());
}

TEST(CacheDirectoryTest, ASymlinkedDirectoryIsRefused) {
  TempDir tmp;
  const std::string real = tmp.path() + "/real", link = tmp.path() + "/link";
  ASSERT_EQ(::mkdir(real.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  uid_t owner;
  Status s = PrepareCacheDirectory(link, &owner);
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  EXPECT_NE(s.message().find("symlink"), std::string::npos);
}

TEST(CacheDirectoryTest, AnotherUsersDirectoryIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the directory away";
  TempDir tmp;
  const std::string dir = tmp.path() + "/cache";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
  uid_t owner;
  Status s = PrepareCacheDirectory(dir, &owner);
  EXPECT_TRUE(s.IsPermissionDenied()) << s.ToString();
  EXPECT_NE(s.message().find("owned by uid 65534"), std::string::npos) << s.ToString();
}

TEST(CacheDirectoryTest, LmdbFilesThatAreSymlinksAreNeverOpened) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/cache", victim = tmp.path() + "/victim";
  std::ofstream(victim) << "precious";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  for (const char* name : {"/lock.mdb", "/data.mdb"}) {
    ASSERT_EQ(::symlink(victim.c_str(), (dir + name).c_str()), 0);
    auto cache = OpenAt(dir);
    ASSERT_FALSE(cache.ok()) << name;
    EXPECT_TRUE(cache.status().IsPermissionDenied()) << cache.status().ToString();
    EXPECT_EQ(ReadAll(victim), "precious");
    ASSERT_EQ(::unlink((dir + name).c_str()), 0);
  }
  // A hard link to someone's file is refused too.
  ASSERT_EQ(::link(victim.c_str(), (dir + "/lock.mdb").c_str()), 0);
  EXPECT_FALSE(OpenAt(dir).ok());
  EXPECT_EQ(ReadAll(victim), "precious");
  ASSERT_EQ(::unlink((dir + "/lock.mdb").c_str()), 0);
  EXPECT_TRUE(OpenAt(dir).ok());
}

TEST(CacheDirectoryTest, FilesOpenedInItNeverFollowSymlinks) {
  TempDir tmp;
  const std::string victim = tmp.path() + "/victim", link = tmp.path() + "/write.lock";
  std::ofstream(victim) << "precious";
  ASSERT_EQ(::symlink(victim.c_str(), link.c_str()), 0);
  EXPECT_LT(OpenInCacheDirectory(link, O_RDWR | O_CREAT), 0);
  EXPECT_EQ(errno, ELOOP);
}

}  // namespace
}  // namespace hfm
