#include "fs/mount/mount_options.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace hfm {
namespace {

class MountOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"HF_ENDPOINT", "HFMIRROR_ENDPOINTS", "HFMIRROR_CACHE", "HF_HUB_OFFLINE"}) unsetenv(v);
    // Never the machine's own /etc/hfmirror.conf.
    setenv("HFMIRROR_CONFIG", "/nonexistent/hfmirror.conf", 1);
  }
  void TearDown() override {
    unsetenv("HFMIRROR_CONFIG");
    if (!config_.empty()) std::remove(config_.c_str());
  }
  // Writes `text` as the config file the next Parse reads.
  void Config(const std::string& text) {
    // One file per test process: ctest runs these tests in parallel.
    config_ = ::testing::TempDir() + "hfmirror-test-" + std::to_string(getpid()) + ".conf";
    std::FILE* f = std::fopen(config_.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
    setenv("HFMIRROR_CONFIG", config_.c_str(), 1);
  }
  std::string config_;
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
  EXPECT_EQ(d->max_memory, 192u << 20) << "the ceiling; the working limit starts at 32M";
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
  EXPECT_EQ(d->fetch_size, 16u << 20) << "the largest GET; GETs grow to it only on a far link";
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

TEST_F(MountOptionsTest, EndpointWithAPasswordIsRefusedWhereverItComesFrom) {
  auto from_option = Parse({"/m", "-o", "endpoint=https://hub.example;http://user:s3cret@mirror.example"});
  ASSERT_FALSE(from_option.ok());
  EXPECT_NE(from_option.status().message().find("http://mirror.example"), std::string::npos)
      << from_option.status().message();
  EXPECT_EQ(from_option.status().message().find("s3cret"), std::string::npos) << from_option.status().message();
  auto from_source = Parse({"https://me:s3cret@hub.example", "/m"});
  ASSERT_FALSE(from_source.ok());
  EXPECT_EQ(from_source.status().message().find("s3cret"), std::string::npos);
  setenv("HFMIRROR_ENDPOINTS", "https://me@hub.example", 1);
  EXPECT_FALSE(Parse({"/m"}).ok());
}

TEST_F(MountOptionsTest, TokenHttpHostsAreAList) {
  auto o = Parse({"/m", "-o", "token_http_hosts=mirror.lan;10.0.0.5;[fd00::5]"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->token_http_hosts, (std::vector<std::string>{"mirror.lan", "10.0.0.5", "[fd00::5]"}));
  EXPECT_TRUE(Parse({"/m"})->token_http_hosts.empty());
  EXPECT_FALSE(Parse({"/m", "-o", "token_http_hosts=http://mirror.lan"}).ok());
  EXPECT_FALSE(Parse({"/m", "-o", "token_http_hosts=mirror.lan:8080"}).ok());
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

TEST_F(MountOptionsTest, ConfigFileSetsOptionsTheCommandLineOverrides) {
  Config("# /etc/hfmirror.conf\n"
         "endpoint = https://mirror.example;https://huggingface.co\n"
         "cache = /srv/hfmirror   # shared\n"
         "\n"
         "timeout = 12\n"
         "allow_other\n"
         "log_level = warning\n");
  auto o = Parse({"/m"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->endpoints, (std::vector<std::string>{"https://mirror.example", "https://huggingface.co"}));
  EXPECT_EQ(o->cache_dir, "/srv/hfmirror");
  EXPECT_EQ(o->timeout, 12);
  EXPECT_EQ(o->log_level, "warning");
  EXPECT_EQ(o->fuse_options, std::vector<std::string>{"allow_other"});

  auto over = Parse({"/m", "-o", "timeout=3,endpoint=https://other.example,log_level=debug"});
  ASSERT_TRUE(over.ok()) << over.status().ToString();
  EXPECT_EQ(over->timeout, 3);
  EXPECT_EQ(over->endpoints, std::vector<std::string>{"https://other.example"});
  EXPECT_EQ(over->log_level, "debug");
}

TEST_F(MountOptionsTest, TheEnvironmentComesBetweenTheCommandLineAndTheConfigFile) {
  Config("endpoint = https://from-file.example\ncache = /from-file\n");
  setenv("HF_ENDPOINT", "https://from-env.example", 1);
  setenv("HFMIRROR_CACHE", "/from-env", 1);
  auto o = Parse({"/m"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->endpoints, std::vector<std::string>{"https://from-env.example"});
  EXPECT_EQ(o->cache_dir, "/from-env");
}

TEST_F(MountOptionsTest, ABadConfigLineNamesTheFileAndLine) {
  Config("timeout = 5\nthis is not an option\n");
  auto bad = Parse({"/m"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(config_ + ":2"), std::string::npos) << bad.status().message();
  Config("nonsense_option = 1\n");
  auto unknown = Parse({"/m"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("nonsense_option"), std::string::npos);
  EXPECT_NE(unknown.status().message().find(config_), std::string::npos);
}

TEST_F(MountOptionsTest, TheFlagsMountPassesToHelpersAreAccepted) {
  // /sbin/mount.TYPE spec dir [-sfnv] [-N namespace] [-o options] [-t type.subtype]
  auto o = Parse({"https://hub.example", "/m", "-n", "-s", "-v", "-o", "ro,_netdev", "-t", "hfmirror"});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->mountpoint, "/m");
  EXPECT_EQ(o->endpoints, std::vector<std::string>{"https://hub.example"});
  EXPECT_FALSE(Parse({"/m", "-x"}).ok());
  EXPECT_FALSE(Parse({"/m", "-t"}).ok());
}

TEST_F(MountOptionsTest, VersionHelpAndLogLevel) {
  EXPECT_TRUE(Parse({"--version"})->version);
  EXPECT_TRUE(Parse({"-V"})->version);
  EXPECT_TRUE(Parse({"--help"})->help);
  EXPECT_EQ(Parse({"/m"})->log_level, "info");
  EXPECT_FALSE(Parse({"/m", "-o", "log_level=loud"}).ok());
  for (const char* option : {"max_memory=", "prefetch=", "fetch_size=", "log_level=", "cache_size=", "timeout="}) {
    EXPECT_NE(std::string(MountUsage()).find(option), std::string::npos) << option;
  }
}

}  // namespace
}  // namespace hfm
