// /.hfmirror/stats.json and /.hfmirror/metrics: the renderings on their own,
// then the control folder through HubFilesystem on FakeHub as files are read.
#include "fs/read/mount_stats.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <sstream>

#include "fs/tree/hub_filesystem.h"
#include "tests/fs/fake_hub.h"
#include "tests/fs/fs_test_util.h"

namespace hfm {
namespace {

using testing::Pattern;

MountStats Sample() {
  MountStats s;
  s.version = "9.9.9";
  s.reads = 10;
  s.bytes_served = 1000;
  s.blocks_from_cache = 3;
  s.blocks_fetched = 1;
  s.bytes_fetched = 4096;
  s.open_files = 2;
  s.endpoints = {{"https://a.example", 5, 1, 4096, "HTTP 503", "backing-off"},
                 {"https://b\"x.example", 1, 0, 0, "", "healthy"}};
  return s;
}

TEST(MountStatsTest, JsonHasTheFiguresAndTheEndpointsHealth) {
  auto j = nlohmann::json::parse(StatsJson(Sample()));
  EXPECT_EQ(j["version"], "9.9.9");
  EXPECT_EQ(j["bytes_served"], 1000);
  EXPECT_EQ(j["bytes_fetched"], 4096);
  EXPECT_DOUBLE_EQ(j["cache_hit_ratio"].get<double>(), 0.75);
  EXPECT_EQ(j["open_files"], 2);
  ASSERT_EQ(j["endpoints"].size(), 2u);
  EXPECT_EQ(j["endpoints"][0]["url"], "https://a.example");
  EXPECT_EQ(j["endpoints"][0]["healthy"], false);
  EXPECT_EQ(j["endpoints"][0]["last_error"], "HTTP 503");
  EXPECT_EQ(j["endpoints"][1]["healthy"], true);
  EXPECT_TRUE(j["cache"].contains("quota_bytes"));
  EXPECT_TRUE(j["memory"].contains("limit_bytes"));
  EXPECT_TRUE(j["memory"].contains("ceiling_bytes"));
  EXPECT_TRUE(j["link"].contains("round_trip_ms"));
  EXPECT_TRUE(j["link"].contains("readahead_get_bytes"));
}

TEST(MountStatsTest, PrometheusTextTypesEverySampleAndEscapesLabels) {
  const std::string text = PrometheusText(Sample());
  std::set<std::string> typed;
  std::istringstream lines(text);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      EXPECT_TRUE(type == "counter" || type == "gauge") << line;
      typed.insert(name);
      continue;
    }
    if (line.rfind("#", 0) == 0) continue;
    ++samples;
    const std::string name = line.substr(0, line.find_first_of("{ "));
    EXPECT_EQ(name.rfind("hfmirror_", 0), 0u) << line;
    EXPECT_TRUE(typed.count(name)) << "no # TYPE before " << line;
  }
  EXPECT_GT(samples, 10);
  EXPECT_NE(text.find("hfmirror_served_bytes_total 1000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("hfmirror_endpoint_up{endpoint=\"https://a.example\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("endpoint=\"https://b\\\"x.example\""), std::string::npos) << "a quote is escaped";
}

class ControlFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = Pattern(3 * 64 * 1024 + 5, 4);
    hub_.AddCommit("org/model", std::string(40, 'c'), {{"data.arrow", {data_, true}}});
    hub_.SetRef("org/model", "main", std::string(40, 'c'));
    cache_ = NewMemoryCache(64 * 1024);
    options_.version = "1.2.3";
    fs_ = std::make_unique<HubFilesystem>(&hub_, cache_.blocks.get(), cache_.meta.get(), options_);
  }

  std::string ReadAll(const std::string& path) {
    auto f = fs_->Open(testing::WalkPath(*fs_, path));
    EXPECT_TRUE(f.ok()) << path;
    if (!f.ok()) return "";
    std::string buf(1 << 20, '\0');
    auto n = fs_->Read(f->handle, 0, std::span<char>(buf.data(), buf.size()));
    fs_->Release(f->handle);
    return n.ok() ? buf.substr(0, *n) : "";
  }

  nlohmann::json Stats() { return nlohmann::json::parse(ReadAll(".hfmirror/stats.json")); }

  FakeHub hub_;
  Cache cache_;
  FilesystemOptions options_;
  std::unique_ptr<HubFilesystem> fs_;
  std::string data_;
};

TEST_F(ControlFolderTest, StatsCountWhatReadsDid) {
  auto before = Stats();
  EXPECT_EQ(before["version"], "1.2.3");
  EXPECT_EQ(before["bytes_fetched"], 0);
  EXPECT_EQ(ReadAll("org/model/data.arrow"), data_);
  auto cold = Stats();
  EXPECT_EQ(cold["bytes_served"], data_.size());
  EXPECT_EQ(cold["bytes_fetched"], data_.size());
  EXPECT_EQ(cold["blocks_fetched"], 4);
  EXPECT_EQ(cold["open_files"], 0);
  EXPECT_EQ(ReadAll("org/model/data.arrow"), data_);
  auto warm = Stats();
  EXPECT_EQ(warm["bytes_fetched"], data_.size()) << "the second read came from the cache";
  // (A cold read may already find a block it fetched moments ago in the cache.)
  EXPECT_EQ(warm["blocks_from_cache"].get<int>() - cold["blocks_from_cache"].get<int>(), 4);
  EXPECT_GT(warm["cache_hit_ratio"].get<double>(), cold["cache_hit_ratio"].get<double>());
  const std::string metrics = ReadAll(".hfmirror/metrics");
  EXPECT_NE(metrics.find("hfmirror_fetched_bytes_total " + std::to_string(data_.size()) + "\n"), std::string::npos)
      << metrics;
}

TEST_F(ControlFolderTest, TheFolderIsHiddenAndItsFilesAreFreshAtEachOpen) {
  auto root = fs_->OpenDir(kRootInode);
  ASSERT_TRUE(root.ok());
  for (const auto& e : *fs_->DirEntries(*root)) EXPECT_NE(e.name, ".hfmirror");
  fs_->ReleaseDir(*root);
  auto dir = fs_->OpenDir(testing::WalkPath(*fs_, ".hfmirror"));
  ASSERT_TRUE(dir.ok());
  std::set<std::string> names;
  for (const auto& e : *fs_->DirEntries(*dir)) names.insert(e.name);
  EXPECT_EQ(names, (std::set<std::string>{"metrics", "stats.json"}));
  auto opened = fs_->Open(testing::WalkPath(*fs_, ".hfmirror/stats.json"));
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->direct_io) << "a rendering that changes must bypass the page cache";
  fs_->Release(opened->handle);
  EXPECT_EQ(testing::WalkPath(*fs_, ".hfmirror/other"), 0u);
}

}  // namespace
}  // namespace hfm
