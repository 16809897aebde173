#include "fs/mount/option_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "fetch/hub_client.h"
#include "fs/tree/hub_filesystem.h"

namespace hfm {
namespace {

// README.md, from this file's path (tests/fs/mount/ is three folders below the
// source root). A relative __FILE__, as ccache's base_dir leaves it, is
// relative to the build directory, which is where this test binary lives.
std::filesystem::path ReadmePath() {
  std::filesystem::path source = __FILE__;
  if (source.is_relative()) source = std::filesystem::read_symlink("/proc/self/exe").parent_path() / source;
  return source.parent_path().parent_path().parent_path().parent_path() / "README.md";
}

// The lines of the README section headed `heading`, up to the next heading
// ('#' in a code block, a comment there, is none).
std::vector<std::string> ReadmeSection(const std::string& heading) {
  std::ifstream in(ReadmePath());
  EXPECT_TRUE(in) << "cannot read " << ReadmePath();
  std::vector<std::string> lines;
  bool inside = false, in_code = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("```")) in_code = !in_code;
    if (line.starts_with("#") && !in_code && inside) break;
    if (inside) lines.push_back(line);
    if (line == heading) inside = true;
  }
  EXPECT_FALSE(lines.empty()) << "no section '" << heading << "' in the README";
  return lines;
}

std::string Trim(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s.substr(std::min(s.find_first_not_of(' '), s.size()));
}

// One row of the README's options table: the option names of its first cell
// (`cache_size=SIZE` names cache_size) and its default cell as written.
struct ReadmeRow {
  std::vector<std::string> names;
  std::string default_cell;
};

std::vector<ReadmeRow> ReadmeOptionRows() {
  std::vector<ReadmeRow> rows;
  for (const std::string& line : ReadmeSection("## Mount options")) {
    if (!line.starts_with("| `")) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    for (std::string cell; std::getline(ss, cell, '|');) cells.push_back(Trim(cell));
    if (cells.size() < 3) continue;
    ReadmeRow row;
    for (size_t open = cells[0].find('`'); open != std::string::npos;) {
      const size_t close = cells[0].find('`', open + 1);
      const std::string spelled = cells[0].substr(open + 1, close - open - 1);
      row.names.push_back(spelled.substr(0, spelled.find('=')));
      open = cells[0].find('`', close + 1);
    }
    row.default_cell = cells[1];
    rows.push_back(row);
  }
  return rows;
}

// What the README's default cell must say for `spec`, where the table knows.
std::optional<std::string> ExpectedDefaultCell(const OptionSpec& spec) {
  if (!spec.default_value.empty()) return "`" + std::string(spec.default_value) + "`";
  if (spec.operand.empty()) return "off";
  return std::nullopt;
}

TEST(OptionTableTest, TheReadmeTableDocumentsEveryOptionWithItsDefault) {
  const auto rows = ReadmeOptionRows();
  ASSERT_FALSE(rows.empty());
  std::set<std::string> documented;
  for (const ReadmeRow& row : rows) {
    for (const std::string& name : row.names) {
      documented.insert(name);
      const OptionSpec* spec = FindMountOption(name);
      if (!spec) {
        ADD_FAILURE() << "the README documents '" << name << "', which mount.hfmirror does not know";
        continue;
      }
      if (auto expected = ExpectedDefaultCell(*spec)) {
        EXPECT_EQ(row.default_cell, *expected) << "the README's default for " << name;
      }
    }
  }
  for (const OptionSpec& spec : MountOptionTable()) {
    EXPECT_TRUE(documented.count(std::string(spec.name))) << spec.name << " is missing from the README's table";
  }
}

TEST(OptionTableTest, TheReadmeExampleConfigFileApplies) {
  std::string text;
  bool inside = false;
  for (const std::string& line : ReadmeSection("### Configuration file and logging")) {
    if (line.starts_with("```")) {
      if (inside) break;
      inside = true;
      continue;
    }
    if (inside) text += line + "\n";
  }
  auto options = ParseConfigText(text, "README");
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  ASSERT_FALSE(options->empty());
  MountOptions out;
  for (const std::string& option : *options) {
    EXPECT_TRUE(ApplyMountOption(option, &out).ok()) << option;
  }
}

TEST(OptionTableTest, ThePrintedDefaultsAreTheDefaults) {
  std::set<std::string> with_default;
  MountOptions o;
  for (const OptionSpec& spec : MountOptionTable()) {
    if (spec.default_value.empty()) continue;
    with_default.insert(std::string(spec.name));
    const Status applied = ApplyMountOption(std::string(spec.name) + "=" + std::string(spec.default_value), &o);
    EXPECT_TRUE(applied.ok()) << spec.name << ": " << applied.ToString();
  }
  // An option that gains a printed default needs a line below.
  EXPECT_EQ(with_default, (std::set<std::string>{"revision_ttl", "timeout", "low_speed", "low_speed_time",
                                                 "max_memory", "prefetch", "fetch_size", "fetch_threads",
                                                 "log_level", "max_listing_memory"}));
  const MountOptions defaults;
  EXPECT_EQ(o.revision_ttl, defaults.revision_ttl);
  EXPECT_EQ(o.timeout, defaults.timeout);
  EXPECT_EQ(o.max_memory, defaults.max_memory);
  EXPECT_EQ(o.max_listing_memory, defaults.max_listing_memory);
  EXPECT_EQ(defaults.max_listing_memory, kDefaultListingMemory);
  EXPECT_EQ(o.fetch_size, defaults.fetch_size);
  EXPECT_EQ(o.fetch_threads, defaults.fetch_threads);
  EXPECT_EQ(o.log_level, defaults.log_level);
  // Unset, these are left to the Hub client and the filesystem, whose defaults the table prints.
  const HubClientOptions hub;
  EXPECT_EQ(o.low_speed, hub.low_speed_bytes_per_second);
  EXPECT_EQ(o.low_speed_time, hub.low_speed_seconds);
  ASSERT_TRUE(o.prefetch_patterns.has_value());
  EXPECT_EQ(*o.prefetch_patterns, FilesystemOptions().background_patterns);
}

TEST(OptionTableTest, HelpListsEveryOption) {
  const std::string usage = MountUsage();
  for (const OptionSpec& spec : MountOptionTable()) {
    EXPECT_NE(usage.find("  " + std::string(spec.name)), std::string::npos) << spec.name;
  }
}

TEST(OptionTableTest, AFlagGivenAValueIsUnknown) {
  MountOptions o;
  const Status s = ApplyMountOption("insecure=yes", &o);
  EXPECT_EQ(s.message(), "unknown option 'insecure'");
  EXPECT_FALSE(o.insecure);
  EXPECT_TRUE(ApplyMountOption("allow_other", &o).ok());
  EXPECT_EQ(o.fuse_options, std::vector<std::string>{"allow_other"});
}

}  // namespace
}  // namespace hfm
