// /.hf-cache/hub driven without a mount, on FakeHub and the in-memory cache:
// files are found exactly as the official client's offline path finds them
// (refs/REV, then snapshots/COMMIT/PATH, then the symlink into blobs/).
#include <gtest/gtest.h>

#include "fs/tree/hub_filesystem.h"
#include "tests/fs/fake_hub.h"
#include "tests/fs/fs_test_util.h"

namespace hfm {
namespace {

using testing::Pattern;

const std::string kMain = std::string(40, 'a');
const std::string kPr = std::string(40, 'b');
const std::string kRepoDir = ".hf-cache/hub/models--org--model";

class HfCacheViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    weights_ = Pattern(200 * 1024 + 3, 9);
    hub_.AddCommit("org/model", kMain,
                   {{"config.json", {"{\"a\": 1}"}},
                    {"model.safetensors", {weights_, true}},
                    {"sub/dir/deep.txt", {"deep"}}});
    hub_.AddCommit("org/model", kPr, {{"config.json", {"{\"pr\": 1}"}}});
    hub_.SetRef("org/model", "main", kMain);
    hub_.SetRef("org/model", "refs/pr/1", kPr);
    hub_.AddCommit("org/data", kMain, {{"train.csv", {"a,b\n1,2\n"}}});
    hub_.SetRef("org/data", "main", kMain);
    cache_ = NewMemoryCache(64 * 1024);
    fs_ = std::make_unique<HubFilesystem>(&hub_, cache_.blocks.get(), cache_.meta.get(), options_);
  }

  uint64_t Walk(const std::string& path) { return testing::WalkPath(*fs_, path); }

  std::string ReadFile(uint64_t ino) {
    auto f = fs_->Open(ino);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (!f.ok()) return "<open failed>";
    std::string buf(1 << 20, '\0');
    auto n = fs_->Read(f->handle, 0, std::span<char>(buf.data(), buf.size()));
    fs_->Release(f->handle);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? buf.substr(0, *n) : "<read failed>";
  }

  // What huggingface_hub does offline: read refs/REV for the commit, then
  // open snapshots/COMMIT/PATH, which the kernel resolves through the
  // relative symlink. Returns the bytes, or "" with a test failure.
  std::string ResolveLikeTheOfficialClient(const std::string& repo_dir, const std::string& revision,
                                           const std::string& path) {
    const uint64_t ref = Walk(repo_dir + "/refs/" + revision);
    EXPECT_NE(ref, 0u) << "refs/" << revision;
    if (!ref) return "";
    const std::string commit = ReadFile(ref);
    EXPECT_EQ(commit.size(), 40u) << "no newline, just the commit";
    const std::string link_path = repo_dir + "/snapshots/" + commit + "/" + path;
    const uint64_t link = Walk(link_path);
    EXPECT_NE(link, 0u) << link_path;
    if (!link) return "";
    auto attr = fs_->GetAttr(link);
    EXPECT_TRUE(attr.ok() && attr->attr.is_symlink) << link_path << " is not a symlink";
    auto target = fs_->ReadLink(link);
    EXPECT_TRUE(target.ok()) << target.status().ToString();
    if (!target.ok()) return "";
    EXPECT_EQ(attr->attr.size, target->size());
    // Join the link's folder and its target, folding the "..": a relative
    // link resolves from the folder that holds it.
    std::vector<std::string> parts;
    std::string folder = link_path.substr(0, link_path.rfind('/'));
    for (size_t start = 0; start <= folder.size();) {
      size_t end = folder.find('/', start);
      if (end == std::string::npos) end = folder.size();
      parts.push_back(folder.substr(start, end - start));
      start = end + 1;
    }
    for (size_t start = 0; start <= target->size();) {
      size_t end = target->find('/', start);
      if (end == std::string::npos) end = target->size();
      const std::string part = target->substr(start, end - start);
      if (part == "..") {
        parts.pop_back();
      } else {
        parts.push_back(part);
      }
      start = end + 1;
    }
    std::string resolved;
    for (const auto& p : parts) resolved += (resolved.empty() ? "" : "/") + p;
    EXPECT_EQ(resolved.rfind(repo_dir + "/blobs/", 0), 0u) << "the link leaves its repo: " << resolved;
    const uint64_t blob = Walk(resolved);
    EXPECT_NE(blob, 0u) << resolved;
    return blob ? ReadFile(blob) : "";
  }

  FakeHub hub_;
  Cache cache_;
  FilesystemOptions options_;
  std::unique_ptr<HubFilesystem> fs_;
  std::string weights_;
};

TEST_F(HfCacheViewTest, FilesResolveThroughRefsSnapshotsAndBlobs) {
  EXPECT_EQ(ResolveLikeTheOfficialClient(kRepoDir, "main", "config.json"), "{\"a\": 1}");
  EXPECT_EQ(ResolveLikeTheOfficialClient(kRepoDir, "main", "model.safetensors"), weights_);
  EXPECT_EQ(ResolveLikeTheOfficialClient(kRepoDir, "main", "sub/dir/deep.txt"), "deep");
  EXPECT_EQ(ResolveLikeTheOfficialClient(kRepoDir, "refs/pr/1", "config.json"), "{\"pr\": 1}");
  EXPECT_EQ(ResolveLikeTheOfficialClient(".hf-cache/hub/datasets--org--data", "main", "train.csv"), "a,b\n1,2\n");
}

TEST_F(HfCacheViewTest, LinksPointAtBlobsNamedByEtag) {
  const uint64_t lfs = Walk(kRepoDir + "/snapshots/" + kMain + "/model.safetensors");
  EXPECT_EQ(fs_->ReadLink(lfs).value(),
            "../../blobs/" + HashBytes(ContentHash::Kind::kSha256, weights_).ToHex());
  const uint64_t nested = Walk(kRepoDir + "/snapshots/" + kMain + "/sub/dir/deep.txt");
  EXPECT_EQ(fs_->ReadLink(nested).value(),
            "../../../../blobs/" + HashBytes(ContentHash::Kind::kGitSha1, "deep").ToHex());
  EXPECT_FALSE(fs_->ReadLink(Walk(kRepoDir + "/refs/main")).ok()) << "only links have targets";
}

TEST_F(HfCacheViewTest, FilesAndLinksOfTheViewAreNotDirectories) {
  const uint64_t ref = Walk(kRepoDir + "/refs/main");
  const uint64_t link = Walk(kRepoDir + "/snapshots/" + kMain + "/config.json");
  ASSERT_NE(ref, 0u);
  ASSERT_NE(link, 0u);
  EXPECT_EQ(fs_->ReadLink(ref).status().code(), Status::Code::kNotASymlink);
  EXPECT_EQ(fs_->Lookup(ref, "x").status().code(), Status::Code::kNotADirectory);
  EXPECT_EQ(fs_->Lookup(link, "x").status().code(), Status::Code::kNotADirectory);
  EXPECT_EQ(fs_->OpenDir(link).status().code(), Status::Code::kNotADirectory);
  EXPECT_EQ(fs_->Open(Walk(kRepoDir + "/snapshots")).status().code(), Status::Code::kIsADirectory);
}

TEST_F(HfCacheViewTest, ABlobIsFoundByEtagWithoutGoingThroughSnapshots) {
  const std::string etag = HashBytes(ContentHash::Kind::kSha256, weights_).ToHex();
  const uint64_t blob = Walk(kRepoDir + "/blobs/" + etag);
  ASSERT_NE(blob, 0u);
  EXPECT_EQ(ReadFile(blob), weights_);
  EXPECT_EQ(Walk(kRepoDir + "/blobs/" + std::string(64, '0')), 0u);
}

TEST_F(HfCacheViewTest, NamesTheHubDoesNotHaveAreMissing) {
  EXPECT_EQ(Walk(".hf-cache/hub/models--org--nothing"), 0u);
  EXPECT_EQ(Walk(".hf-cache/hub/models-org-model"), 0u);
  EXPECT_EQ(Walk(".hf-cache/hub/weights--org--model"), 0u);
  EXPECT_EQ(Walk(kRepoDir + "/refs/no-such-branch"), 0u);
  EXPECT_EQ(Walk(kRepoDir + "/snapshots/main"), 0u) << "snapshots are named by full commit only";
  EXPECT_EQ(Walk(kRepoDir + "/snapshots/" + std::string(40, 'f')), 0u);
  EXPECT_EQ(Walk(kRepoDir + "/snapshots/" + kMain + "/nope.json"), 0u);
}

TEST_F(HfCacheViewTest, ListingsShowTheLayoutAndItsLinks) {
  auto names = [&](const std::string& path) {
    auto h = fs_->OpenDir(Walk(path));
    EXPECT_TRUE(h.ok());
    std::vector<std::string> out;
    for (const auto& e : *fs_->DirEntries(*h)) {
      out.push_back(e.name + (e.is_dir ? "/" : e.is_symlink ? "@" : ""));
    }
    fs_->ReleaseDir(*h);
    return out;
  };
  ASSERT_NE(Walk(kRepoDir), 0u);
  EXPECT_EQ(names(".hf-cache"), std::vector<std::string>{"hub/"});
  const auto hub = names(".hf-cache/hub");
  EXPECT_NE(std::find(hub.begin(), hub.end(), "models--org--model/"), hub.end());
  EXPECT_EQ(names(kRepoDir), (std::vector<std::string>{"blobs/", "refs/", "snapshots/"}));
  EXPECT_EQ(names(kRepoDir + "/snapshots/" + kMain),
            (std::vector<std::string>{"config.json@", "model.safetensors@", "sub/"}));
  EXPECT_EQ(names(kRepoDir + "/blobs").size(), 2u) << "the blobs of the files listed so far";
  // The view is not listed in the mount root.
  const auto root = names("");
  EXPECT_EQ(std::find(root.begin(), root.end(), ".hf-cache/"), root.end());
}

}  // namespace
}  // namespace hfm
