// CliContext::Create: the common flags reach the options as values, so a
// ',' or '=' in one cannot smuggle in another mount option (probe 7).
#include "cli/cli_context.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

namespace hfm::cli {
namespace {

class CliContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // No config file, no endpoint or cache from the environment.
    setenv("HFMIRROR_CONFIG", "/nonexistent/hfmirror-cli-context-test.conf", 1);
    for (const char* name : {"HFMIRROR_ENDPOINTS", "HF_ENDPOINT", "HFMIRROR_CACHE", "HF_HUB_OFFLINE"}) {
      unsetenv(name);
    }
  }
};

TEST_F(CliContextTest, CommaInACacheFlagCannotTurnTlsChecksOff) {
  CommonFlags flags;
  flags.cache = "/tmp/DIR,insecure";
  auto ctx = CliContext::Create(flags);
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_FALSE((*ctx)->options().insecure);
  EXPECT_EQ((*ctx)->options().cache_dir, "/tmp/DIR,insecure");
}

TEST_F(CliContextTest, CommaInACacheFlagCannotNameAnEndpoint) {
  CommonFlags flags;
  flags.cache = "/tmp/DIR,endpoint=http://evil";
  auto ctx = CliContext::Create(flags);
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_EQ((*ctx)->options().endpoints, std::vector<std::string>{"https://huggingface.co"});
  EXPECT_EQ((*ctx)->options().cache_dir, "/tmp/DIR,endpoint=http://evil");
}

TEST_F(CliContextTest, CommaInOtherFlagsStaysInTheirValue) {
  CommonFlags flags;
  flags.token_file = "/tmp/t,insecure,cache=/tmp/other";
  flags.endpoint = "https://mirror.example/x,insecure";
  auto ctx = CliContext::Create(flags);
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_FALSE((*ctx)->options().insecure);
  EXPECT_EQ((*ctx)->options().token_file, "/tmp/t,insecure,cache=/tmp/other");
  EXPECT_EQ((*ctx)->options().endpoints, std::vector<std::string>{"https://mirror.example/x,insecure"});
  EXPECT_NE((*ctx)->options().cache_dir, "/tmp/other");
}

TEST_F(CliContextTest, EndpointFlagWithAPasswordIsRefusedWithoutEchoingIt) {
  CommonFlags flags;
  flags.endpoint = "https://user:s3cret@mirror.example";
  auto ctx = CliContext::Create(flags);
  ASSERT_FALSE(ctx.ok());
  EXPECT_TRUE(ctx.status().code() == Status::Code::kInvalidArgument);
  EXPECT_EQ(ctx.status().message().find("s3cret"), std::string::npos) << ctx.status().message();
}

TEST_F(CliContextTest, FlagsStillWinOverTheEnvironment) {
  setenv("HFMIRROR_ENDPOINTS", "https://env.example", 1);
  setenv("HFMIRROR_CACHE", "/tmp/env-cache", 1);
  CommonFlags flags;
  flags.endpoint = "https://a.example;https://b.example";
  flags.cache = "/tmp/flag-cache";
  flags.timeout = 5;
  auto ctx = CliContext::Create(flags);
  unsetenv("HFMIRROR_ENDPOINTS");
  unsetenv("HFMIRROR_CACHE");
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  EXPECT_EQ((*ctx)->options().endpoints, (std::vector<std::string>{"https://a.example", "https://b.example"}));
  EXPECT_EQ((*ctx)->options().cache_dir, "/tmp/flag-cache");
  EXPECT_EQ((*ctx)->options().timeout, 5);
}

}  // namespace
}  // namespace hfm::cli
