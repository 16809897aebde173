// The trusted-metadata options: trusted_endpoint (bare: the official Hub),
// trust_fallback, and lock=FILE (read and checked when the option is), and
// how they reach the Hub client and the snapshot source.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "fs/mount/mount_setup.h"
#include "fs/mount/option_table.h"

namespace hfm {
namespace {

TEST(TrustOptionsTest, TrustedEndpointBareMeansTheOfficialHub) {
  MountOptions o;
  ASSERT_TRUE(ApplyMountOption("trusted_endpoint", &o).ok());
  EXPECT_EQ(o.trusted_endpoint, "https://huggingface.co");
  ASSERT_TRUE(ApplyMountOption("trusted_endpoint=https://hub.internal/", &o).ok());
  EXPECT_EQ(o.trusted_endpoint, "https://hub.internal");
  EXPECT_FALSE(ApplyMountOption("trusted_endpoint=ftp://x", &o).ok());
  EXPECT_FALSE(ApplyMountOption("trusted_endpoint=https://a;https://b", &o).ok());
  ASSERT_TRUE(ApplyMountOption("trust_fallback", &o).ok());
  o.endpoints = {"https://mirror.test"};
  const HubClientOptions h = MakeHubClientOptions(o, "", nullptr);
  EXPECT_EQ(h.trusted_endpoint, "https://hub.internal");
  EXPECT_TRUE(h.trust_fallback);
}

TEST(TrustOptionsTest, ALockFileIsReadWhenTheOptionIsAndReachesTheSnapshots) {
  const std::string path = (std::filesystem::temp_directory_path() / "hfm_trust_options_test.lock").string();
  {
    std::ofstream f(path);
    f << LockFile::Serialize({LockRepo(RepoId{RepoKind::kModel, "o/n"}, "", std::string(40, 'a'), {})});
  }
  MountOptions o;
  ASSERT_TRUE(ApplyMountOption("lock=" + path, &o).ok());
  ASSERT_NE(o.lock, nullptr);
  EXPECT_NE(MakeFilesystemOptions(o, "test").snapshots.lock, nullptr);
  {
    std::ofstream f(path);
    f << R"({"hfmirror_lock":1,"repos":[{"kind":"model"}]})";
  }
  const Status bad = ApplyMountOption("lock=" + path, &o);
  EXPECT_EQ(bad.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.message().find(path), std::string::npos) << bad.ToString();
  std::remove(path.c_str());
  EXPECT_FALSE(ApplyMountOption("lock=" + path, &o).ok());
  EXPECT_FALSE(ApplyMountOption("lock", &o).ok());
}

}  // namespace
}  // namespace hfm
