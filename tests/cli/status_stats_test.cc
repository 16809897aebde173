// `hfmirror status` on stats.json files another user's mount may serve: each
// hostile shape is a clear error (never an exception or abort), and strings
// shown on the terminal carry no control characters.
#include "cli/status_stats.h"

#include <gtest/gtest.h>

#include <string>

namespace hfm::cli {
namespace {

const char kGood[] = R"({"version":"1.0","uptime_seconds":61,"endpoints":[{"url":"https://hub.test","state":"healthy",
  "requests":3,"failures":0,"bytes":1024,"last_error":""}],"bytes_fetched":2048,"bytes_served":4096,
  "cache_hit_ratio":0.5,"open_files":1,"fetches_in_flight":0})";

TEST(StatusStatsTest, AWellFormedFileIsShown) {
  auto stats = ParseMountStats(kGood);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  const std::string text = FormatMountStats("/mnt/models", *stats);
  EXPECT_NE(text.find("/mnt/models  (hfmirror 1.0"), std::string::npos) << text;
  EXPECT_NE(text.find("endpoint https://hub.test  healthy  requests 3  failures 0"), std::string::npos) << text;
  EXPECT_NE(text.find("cache hit ratio 0.50  open files 1"), std::string::npos) << text;
}

TEST(StatusStatsTest, HostileShapesAreClearErrorsNotAborts) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string deep_in_object = R"({"endpoints":)" + std::string(20, '[') + std::string(20, ']') + "}";
  const std::string huge = R"({"version":")" + std::string(kMaxStatsBytes, 'x') + R"("})";
  const struct {
    std::string text;
    const char* says;
  } cases[] = {
      {"[1,2,3]", "not a JSON object"},
      {"\"just a string\"", "not a JSON object"},
      {"42", "not a JSON object"},
      {"null", "not a JSON object"},
      {"{not json", "not JSON"},
      {"", "not JSON"},
      {deep, "nests deeper"},
      {deep_in_object, "nests deeper"},
      {huge, "larger than 1 MiB"},
      {R"({"version":7})", "\"version\" has the wrong type"},
      {R"({"uptime_seconds":"long"})", "\"uptime_seconds\" has the wrong type"},
      {R"({"open_files":1.5})", "\"open_files\" has the wrong type"},
      {R"({"endpoints":{"url":"x"}})", "\"endpoints\" is not an array"},
      {R"({"endpoints":[7]})", "not an object"},
      {R"({"endpoints":[{"url":["x"]}]})", "\"endpoints[].url\" has the wrong type"},
      {R"({"endpoints":[{"requests":"many"}]})", "\"endpoints[].requests\" has the wrong type"},
      {R"({"endpoints":[{"bytes":null}]})", "\"endpoints[].bytes\" has the wrong type"},
  };
  for (const auto& c : cases) {
    auto stats = ParseMountStats(c.text);
    ASSERT_FALSE(stats.ok()) << c.text.substr(0, 80);
    EXPECT_NE(stats.status().message().find(c.says), std::string::npos)
        << c.text.substr(0, 80) << " -> " << stats.status().message();
  }
}

TEST(StatusStatsTest, MissingFieldsAndHugeNumbersStillFormat) {
  for (const char* text : {"{}", R"({"endpoints":[{}]})", R"({"open_files":18446744073709551615,
                              "uptime_seconds":1e308,"endpoints":[{"requests":18446744073709551615}]})"}) {
    auto stats = ParseMountStats(text);
    ASSERT_TRUE(stats.ok()) << text << " " << stats.status().ToString();
    EXPECT_FALSE(FormatMountStats("/m", *stats).empty());
  }
}

TEST(StatusStatsTest, StringsReachTheTerminalEscaped) {
  auto stats = ParseMountStats(R"({"version":"1\u001b[2J","endpoints":[{"url":"https://x\n/forged line",
    "state":"\u009b31m","last_error":"bad\r\u001b]0;title\u0007"}]})");
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  const std::string text = FormatMountStats("/mnt/evil\x1b[31m", *stats);
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_EQ(text.find('\a'), std::string::npos) << text;
  EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos) << text;
  EXPECT_EQ(text.find("\n/forged line"), std::string::npos) << text;
  EXPECT_NE(text.find("/mnt/evil\\x1b[31m"), std::string::npos) << text;
}

}  // namespace
}  // namespace hfm::cli
