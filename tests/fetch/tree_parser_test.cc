#include "fetch/tree_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "fetch/listing_memory.h"
#include "fetch/repo_path.h"

namespace hfm {
namespace {

const std::string kSha1 = "fca794a5f07ff8f963fe8b61e3694b0fb7f955df";
const std::string kSha256 = "a7a17d6d844b5de815ccab5f42cad6d24496db3850a2a43d8258221018ce87d2";

std::string FileJson(const std::string& path, const std::string& size = "10", const std::string& oid = kSha1) {
  return R"({"type":"file","oid":")" + oid + R"(","size":)" + size + R"(,"path":")" + path + R"("})";
}

std::vector<TreeEntry> ParseOk(const std::string& json) {
  auto r = ParseTreePage(json, "test");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<TreeEntry>{};
}

TEST(TreeParserTest, ParsesFilesDirectoriesAndLfs) {
  const std::string json = "[" R"({"type":"directory","oid":")" + kSha1 + R"(","size":0,"path":"sub"},)" +
                           FileJson("config.json", "313") + "," +
                           R"({"type":"file","oid":"9eb98c817f04b051b3bcca591bcd4e03cec88018","size":536063208,)"
                           R"("path":"sub/tf_model.h5","lfs":{"oid":")" + kSha256 +
                           R"(","size":536063208,"pointerSize":134},"xetHash":"879c"}])";
  auto entries = ParseOk(json);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_TRUE(entries[0].is_dir);
  EXPECT_EQ(entries[0].path, "sub");
  EXPECT_FALSE(entries[1].is_dir);
  EXPECT_EQ(entries[1].size, 313u);
  EXPECT_FALSE(entries[1].is_lfs);
  EXPECT_EQ(entries[1].hash.kind(), ContentHash::Kind::kGitSha1);
  EXPECT_EQ(entries[1].hash.ToHex(), kSha1);
  EXPECT_TRUE(entries[2].is_lfs);
  EXPECT_EQ(entries[2].size, 536063208u);
  EXPECT_EQ(entries[2].hash.kind(), ContentHash::Kind::kSha256);
  EXPECT_EQ(entries[2].hash.ToHex(), kSha256);
}

TEST(TreeParserTest, LfsSizeWinsAndTopSizeIsOptional) {
  auto entries = ParseOk(R"([{"type":"file","path":"a","oid":")" + kSha1 + R"(","lfs":{"oid":")" + kSha256 +
                         R"(","size":99}}])");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].size, 99u);
}

TEST(TreeParserTest, AcceptsUpperCaseHexAndLargeSizes) {
  std::string upper = kSha1;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  auto entries = ParseOk("[" + FileJson("a", "2199023255552", upper) + "]");  // 2^41 = 2 TiB
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].size, uint64_t{1} << 41);
  EXPECT_EQ(entries[0].hash.ToHex(), kSha1);
}

TEST(TreeParserTest, MalformedJsonOrNonArrayIsDataLoss) {
  for (const char* bad : {"", "[", "{\"a\":1}", "\"x\"", "42", "null", "[1,]", "[{\"type\":\"file\"}",
                          "\xff\xfe"}) {
    auto r = ParseTreePage(bad, "test");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_TRUE(r.status().IsDataLoss()) << bad;
  }
  EXPECT_TRUE(ParseOk("[]").empty());
}

TEST(TreeParserTest, SkipsHostileEntries) {
  const std::vector<std::string> hostile = {
      "1", "\"string\"", "null", "[]",
      R"({"type":"symlink","path":"a","oid":")" + kSha1 + R"(","size":1})",
      R"({"type":7,"path":"a"})",
      R"({"path":"a","oid":")" + kSha1 + R"(","size":1})",
      R"({"type":"file","oid":")" + kSha1 + R"(","size":1})",
      R"({"type":"file","path":5,"oid":")" + kSha1 + R"(","size":1})",
      FileJson(""), FileJson("/etc/passwd"), FileJson("../x"), FileJson("a/../../x"),
      FileJson("a/./b"), FileJson("."), FileJson("a//b"), FileJson("a/"), FileJson("a\\u0000b"),
      FileJson(std::string(256, 'x')), FileJson("d/" + std::string(256, 'y')),
      FileJson("a", "-1"), FileJson("a", "1.5"), FileJson("a", "1e3"), FileJson("a", "\"10\""),
      FileJson("a", "2199023255553"), FileJson("a", "1125899906842624"), FileJson("a", "18446744073709551615"),
      FileJson("a", "99999999999999999999999"), FileJson("a", "true"),
      R"({"type":"file","path":"a","oid":")" + kSha1 + R"("})",
      FileJson("a", "1", "xyz"), FileJson("a", "1", kSha1 + "00"), FileJson("a", "1", kSha256),
      FileJson("a", "1", "g" + kSha1.substr(1)),
      R"({"type":"file","path":"a","size":1})",
      R"({"type":"file","path":"a","size":1,"oid":")" + kSha1 + R"(","lfs":"yes"})",
      R"({"type":"file","path":"a","size":1,"lfs":{"oid":")" + kSha1 + R"(","size":1}})",
      R"({"type":"file","path":"a","size":1,"lfs":{"size":1}})",
      R"({"type":"file","path":"a","size":1,"lfs":{"oid":")" + kSha256 + R"(","size":-5}})",
      R"({"type":"file","path":"a","lfs":{"oid":")" + kSha256 + R"("}})",
  };
  for (const std::string& entry : hostile) {
    const std::string json = "[" + entry + "," + FileJson("good") + "]";
    auto entries = ParseOk(json);
    ASSERT_EQ(entries.size(), 1u) << entry;
    EXPECT_EQ(entries[0].path, "good") << entry;
  }
}

TEST(TreeParserTest, DeepAndHugeInputsStayBounded) {
  // A deeply nested document must not overflow the stack.
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  (void)ParseTreePage(deep, "test");
  // Many invalid entries: the log is capped, the call finishes, and the
  // page is broken rather than a listing of the one good entry.
  std::string many = "[";
  for (int i = 0; i < 5000; ++i) many += FileJson("../x" + std::to_string(i)) + ",";
  many += FileJson("ok") + "]";
  EXPECT_TRUE(ParseTreePage(many, "test").status().IsDataLoss());
}

TEST(TreeParserTest, SurvivesRandomMutations) {
  const std::string seed = "[" + FileJson("a/b.txt") + R"(,{"type":"directory","path":"a","oid":")" + kSha1 +
                           R"(","size":0},{"type":"file","path":"c","oid":")" + kSha1 +
                           R"(","size":3,"lfs":{"oid":")" + kSha256 + R"(","size":3,"pointerSize":1}}])";
  std::mt19937 rng(1);
  for (int i = 0; i < 5000; ++i) {
    std::string s = seed;
    for (int k = 0; k < 3; ++k) s[rng() % s.size()] = static_cast<char>(rng() % 256);
    auto r = ParseTreePage(s, "fuzz");
    if (r.ok()) {
      for (const auto& e : *r) EXPECT_EQ(RepoPathProblem(e.path), "") << e.path;
      (void)ValidateListing(*r, "fuzz");
    }
  }
}

TreeEntry File(std::string path) {
  TreeEntry e;
  e.path = std::move(path);
  e.size = 1;
  return e;
}

TreeEntry Dir(std::string path) {
  TreeEntry e;
  e.path = std::move(path);
  e.is_dir = true;
  return e;
}

std::vector<TreeEntry> Validated(std::vector<TreeEntry> entries, std::string_view context) {
  auto r = ValidateListing(std::move(entries), context);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<TreeEntry>{};
}

std::vector<std::string> Paths(const std::vector<TreeEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back((e.is_dir ? "d:" : "f:") + e.path);
  return out;
}

TEST(ValidateListingTest, SortsAndKeepsAConsistentListing) {
  auto out = Validated({File("b/c"), Dir("b"), File("a")}, "test");
  EXPECT_EQ(Paths(out), (std::vector<std::string>{"f:a", "d:b", "f:b/c"}));
}

TEST(ValidateListingTest, DropsDuplicatesKeepingTheFirst) {
  TreeEntry first = File("a");
  first.size = 1;
  TreeEntry second = File("a");
  second.size = 2;
  auto out = Validated({first, second, Dir("d"), Dir("d")}, "test");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].path, "a");
  EXPECT_EQ(out[0].size, 1u);
  EXPECT_EQ(Paths(out), (std::vector<std::string>{"f:a", "d:d"}));
}

TEST(ValidateListingTest, DropsAFileWhereADirectoryIs) {
  // Listed as both.
  EXPECT_EQ(Paths(Validated({File("x"), Dir("x")}, "test")), (std::vector<std::string>{"d:x"}));
  EXPECT_EQ(Paths(Validated({Dir("x"), File("x")}, "test")), (std::vector<std::string>{"d:x"}));
  // A file that is the parent of another entry.
  EXPECT_EQ(Paths(Validated({File("x"), File("x/y")}, "test")),
            (std::vector<std::string>{"d:x", "f:x/y"}));
}

TEST(ValidateListingTest, SynthesizesMissingParents) {
  auto out = Validated({File("a/b/c/d.txt"), File("a/b/e.txt"), Dir("a/x")}, "test");
  EXPECT_EQ(Paths(out), (std::vector<std::string>{"d:a", "d:a/b", "d:a/b/c", "f:a/b/c/d.txt", "f:a/b/e.txt",
                                                  "d:a/x"}));
}

TEST(ValidateListingTest, DropsUnsafePaths) {
  EXPECT_EQ(Paths(Validated({File("../x"), File("/abs"), File(""), File("ok")}, "test")),
            (std::vector<std::string>{"f:ok"}));
}

TEST(ValidateListingTest, DeepPathsAreBounded) {
  std::string deep;
  for (size_t i = 0; i < kMaxRepoPathDepth; ++i) deep += (i ? "/" : "") + std::string("d");
  auto out = Validated({File(deep), File(deep + "/too-deep")}, "test");
  EXPECT_EQ(out.size(), kMaxRepoPathDepth);  // 127 parents + the file
}

TEST(ValidateListingTest, AddsNoParentPastTheListingsCap) {
  // 20 files 100 segments deep imply ~2000 parents of ~100 bytes each:
  // they are charged before they exist, so a 64 KiB cap refuses them.
  std::vector<TreeEntry> deep;
  for (int f = 0; f < 20; ++f) {
    std::string path = "f" + std::to_string(f);
    for (int i = 0; i < 99; ++i) path += "/s" + std::to_string(i);
    deep.push_back(File(path));
  }
  ListingCharge charge(nullptr, 64 << 10, "test");
  auto r = ValidateListing(deep, "test", &charge);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kResourceExhausted) << r.status().ToString();
  EXPECT_NE(r.status().message().find("64 KiB"), std::string::npos) << r.status().ToString();
  // The same listing within a cap it fits: every parent is there.
  ListingCharge roomy(nullptr, 4 << 20, "test");
  auto ok = ValidateListing(deep, "test", &roomy);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->size(), 20u * 100u);
}

TEST(TreeParserTest, APageOverTheListingsCapIsResourceExhausted) {
  std::string page = "[";
  for (int i = 0; i < 1000; ++i) page += (i ? "," : "") + FileJson("file-" + std::to_string(i));
  page += "]";
  ListingCharge charge(nullptr, 32 << 10, "test");
  auto r = ParseTreePage(page, "test", &charge);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kResourceExhausted) << r.status().ToString();
  EXPECT_LE(charge.bytes(), 32u << 10);
}

TEST(TreeParserTest, APageOfOnlyUnusableEntriesIsBroken) {
  for (const char* page : {"[{}]", "[{},{},{}]", "[1,2]", R"([{"type":"file"}])"}) {
    auto r = ParseTreePage(page, "test");
    ASSERT_FALSE(r.ok()) << page;
    EXPECT_TRUE(r.status().IsDataLoss()) << page;
  }
  EXPECT_TRUE(ParseOk("[]").empty());  // an empty repo is not a broken one
}

TEST(TreeParserTest, MembersNobodyReadsAreNotKept) {
  // A page whose entries carry large unknown members still parses to the
  // same entries, and costs only what the entries cost.
  std::string junk = "[";
  for (int i = 0; i < 2000; ++i) junk += (i ? "," : "") + std::to_string(i);
  junk += "]";
  const std::string entry = R"({"type":"file","path":"a","size":1,"oid":")" + kSha1 +
                            R"(","junk":)" + junk + R"(,"lfs":null,"x":{"y":)" + junk + "}}";
  ListingCharge charge(nullptr, 1 << 20, "test");
  auto r = ParseTreePage("[" + entry + "]", "test", &charge);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(charge.bytes(), ListedPathFootprint(1));
}

TEST(RepoPathTest, NamesTheProblem) {
  EXPECT_EQ(RepoPathProblem("a/b.txt"), "");
  EXPECT_EQ(RepoPathProblem("with space/#hash%"), "");
  EXPECT_NE(RepoPathProblem(""), "");
  EXPECT_NE(RepoPathProblem("/a"), "");
  EXPECT_NE(RepoPathProblem("a/"), "");
  EXPECT_NE(RepoPathProblem("a//b"), "");
  EXPECT_NE(RepoPathProblem(".."), "");
  EXPECT_NE(RepoPathProblem(std::string("a\0b", 3)), "");
  EXPECT_NE(RepoPathProblem(std::string(4097, 'a')), "");
}

}  // namespace
}  // namespace hfm
