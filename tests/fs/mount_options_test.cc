#include "fs/mount_options.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

namespace hfm {
namespace {

class MountOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"HF_ENDPOINT", "HFMIRROR_ENDPOINTS", "HFMIRROR_CACHE", "HF_HUB_OFFLINE"}) unsetenv(v);
  }
  Result<MountOptions> Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "mount.hfmirror");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return ParseMountOptions(static_cast<int>(argv.size()), argv.data());
  }
};

TEST_F(MountOptionsTest, OptionsBeforeOrAfterTheMountPoint) {
  auto a = Parse({"/mnt/m", "-o", "cache=/c,timeout=7", "-f"});
  auto b = Parse({"-f", "-o", "cache=/c,timeout=7", "/mnt/m"});
  ASSERT_TRUE(a.ok() && b.ok());
  for (const auto& o : {*a, *b}) {
    EXPECT_EQ(o.mountpoint, "/mnt/m");
    EXPECT_EQ(o.cache_dir, "/c");
    EXPECT_EQ(o.timeout, 7);
    EXPECT_TRUE(o.foreground);
  }
}

TEST_F(MountOptionsTest, MemoryBudgetAndBackgroundPatterns) {
  auto d = Parse({"/m"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->max_memory, 32u << 20);
  EXPECT_FALSE(d->prefetch_patterns.has_value()) << "unset: the weight-file defaults";
  auto o = Parse({"/m", "-o", "max_memory=256M,prefetch=*.gguf;*.safetensors"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->max_memory, 256u << 20);
  EXPECT_EQ(*o->prefetch_patterns, (std::vector<std::string>{"*.gguf", "*.safetensors"}));
  auto none = Parse({"/m", "-o", "prefetch=none"});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->prefetch_patterns->empty());
  EXPECT_FALSE(Parse({"/m", "-o", "max_memory=1M"}).ok()) << "too small to hold a fetch";
  EXPECT_FALSE(Parse({"/m", "-o", "max_memory=lots"}).ok());
}

TEST_F(MountOptionsTest, FetchSizeAndThreads) {
  auto d = Parse({"/m"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->fetch_size, 1u << 20);
  EXPECT_EQ(d->fetch_threads, 16);
  auto o = Parse({"/m", "-o", "fetch_size=8M,fetch_threads=32"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->fetch_size, 8u << 20);
  EXPECT_EQ(o->fetch_threads, 32);
  EXPECT_FALSE(Parse({"/m", "-o", "fetch_size=512K"}).ok()) << "less than one block";
  EXPECT_FALSE(Parse({"/m", "-o", "fetch_threads=0"}).ok());
  EXPECT_FALSE(Parse({"/m", "-o", "fetch_threads=many"}).ok());
}

TEST_F(MountOptionsTest, EndpointListInPriorityOrder) {
  auto o = Parse({"/m", "-o", "endpoint=https://a.example/;http://b.example"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->endpoints, (std::vector<std::string>{"https://a.example", "http://b.example"}));
}

TEST_F(MountOptionsTest, EndpointFromEnvironmentAndDefault) {
  EXPECT_EQ(Parse({"/m"})->endpoints, std::vector<std::string>{"https://huggingface.co"});
  setenv("HF_ENDPOINT", "https://hf-mirror.com", 1);
  EXPECT_EQ(Parse({"/m"})->endpoints, std::vector<std::string>{"https://hf-mirror.com"});
  setenv("HFMIRROR_ENDPOINTS", "http://x;http://y", 1);
  EXPECT_EQ(Parse({"/m"})->endpoints, (std::vector<std::string>{"http://x", "http://y"}));
  EXPECT_EQ(Parse({"/m", "-o", "endpoint=http://z"})->endpoints, std::vector<std::string>{"http://z"});
}

TEST_F(MountOptionsTest, SourceFromMountHelperForm) {
  auto url = Parse({"http://hub.local", "/m", "-o", "ro,nodev,nosuid,_netdev,nofail,x-systemd.automount"});
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  EXPECT_EQ(url->endpoints, std::vector<std::string>{"http://hub.local"});
  EXPECT_TRUE(Parse({"hfmirror", "/m"}).ok());
  EXPECT_FALSE(Parse({"nonsense", "/m"}).ok());
}

TEST_F(MountOptionsTest, RefusesWhatItCannotHonour) {
  EXPECT_FALSE(Parse({"/m", "-o", "rw"}).ok());
  EXPECT_FALSE(Parse({"/m", "-o", "token=hf_secret"}).ok());
  EXPECT_FALSE(Parse({"/m", "-o", "no_such_option"}).ok());
  EXPECT_FALSE(Parse({"/m", "-o", "endpoint=ftp://x"}).ok());
  EXPECT_FALSE(Parse({"/m", "-o", "verify=sometimes"}).ok());
  EXPECT_FALSE(Parse({"/m", "-o", "timeout=abc"}).ok());
  EXPECT_FALSE(Parse({}).ok());
}

TEST_F(MountOptionsTest, TokenRefusalDoesNotEchoTheToken) {
  auto o = Parse({"/m", "-o", "token=hf_secret"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().message().find("hf_secret"), std::string::npos);
}

TEST_F(MountOptionsTest, Sizes) {
  EXPECT_EQ(*ParseSize("50G"), 50ull << 30);
  EXPECT_EQ(*ParseSize("512M"), 512ull << 20);
  EXPECT_EQ(*ParseSize("1TiB"), 1ull << 40);
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_FALSE(ParseSize("G").ok());
  EXPECT_FALSE(ParseSize("12X").ok());
  EXPECT_FALSE(ParseSize("99999999999999999999G").ok());
  auto o = Parse({"/m", "-o", "cache_size=2G"});
  EXPECT_EQ(o->cache_size, 2ull << 30);
}

TEST_F(MountOptionsTest, OfflineFromEnvironment) {
  setenv("HF_HUB_OFFLINE", "1", 1);
  EXPECT_TRUE(Parse({"/m"})->offline);
  setenv("HF_HUB_OFFLINE", "0", 1);
  EXPECT_FALSE(Parse({"/m"})->offline);
}

}  // namespace
}  // namespace hfm
