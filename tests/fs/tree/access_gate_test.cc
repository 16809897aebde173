// The access gate through HubFilesystem: a gated or private repo is served,
// from the network or the cache, only after the Hub accepted this mount's
// token for it (probe 2 of issue 14: a cache filled with a token must not
// serve a mount without one).
#include "fs/tree/access_gate.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "fs/tree/hub_filesystem.h"
#include "tests/fs/fake_hub.h"
#include "tests/fs/fs_test_util.h"

namespace hfm {
namespace {

using testing::Pattern;

constexpr uint32_t kBlock = 64 * 1024;
const std::string kCommit = std::string(40, 'c');

class AccessGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    weights_ = Pattern(3 * kBlock + 17, 5);
    for (const std::string repo : {"org/gated", "org/private", "org/public"}) {
      hub_.AddCommit(repo, kCommit, {{"w.bin", {weights_, true}}, {"small.txt", {"hello"}}});
      hub_.SetRef(repo, "main", kCommit);
    }
    hub_.SetVisibility("org/gated", RepoVisibility::kGated);
    hub_.SetVisibility("org/private", RepoVisibility::kPrivate);
    hub_.SetVisibility("org/public", RepoVisibility::kPublic);
    hub_.SetHasToken(true);
    cache_ = NewMemoryCache(kBlock);
    options_.clock = &clock_;
    options_.snapshots.revision_ttl = std::chrono::seconds(60);
    Start();
  }

  void Start() {
    fs_.reset();
    fs_ = std::make_unique<HubFilesystem>(&hub_, cache_.blocks.get(), cache_.meta.get(), options_);
  }

  // Looks `path` up from the root: the inode (0 for a missing name) or the error.
  Result<uint64_t> Walk(const std::string& path, std::optional<Caller> caller = std::nullopt) {
    uint64_t ino = kRootInode;
    size_t start = 0;
    while (start < path.size()) {
      size_t end = path.find('/', start);
      if (end == std::string::npos) end = path.size();
      auto e = fs_->Lookup(ino, path.substr(start, end - start), caller);
      if (!e.ok()) return e.status();
      if (e->attr.ino == 0) return uint64_t{0};
      ino = e->attr.ino;
      start = end + 1;
    }
    return ino;
  }

  Result<std::string> ReadAll(uint64_t ino, std::optional<Caller> caller = std::nullopt) {
    auto f = fs_->Open(ino, caller);
    if (!f.ok()) return f.status();
    std::string out;
    std::string buf(kBlock, '\0');
    for (;;) {
      auto n = fs_->Read(f->handle, out.size(), std::span<char>(buf.data(), buf.size()));
      if (!n.ok() || *n == 0) {
        fs_->Release(f->handle);
        if (!n.ok()) return n.status();
        return out;
      }
      out.append(buf.data(), *n);
    }
  }

  Result<std::string> ReadPath(const std::string& path, std::optional<Caller> caller = std::nullopt) {
    auto ino = Walk(path, caller);
    if (!ino.ok()) return ino.status();
    if (*ino == 0) return Status::NotFound(path + " is missing");
    return ReadAll(*ino, caller);
  }

  // Reads every file of `repo` with this mount's token accepted: the cache
  // then holds every block, as after `hfmirror prefetch`.
  void FillCache(const std::string& repo) {
    ASSERT_EQ(*ReadPath(repo + "/w.bin"), weights_);
    ASSERT_EQ(*ReadPath(repo + "/small.txt"), "hello");
  }

  FakeHub hub_;
  FakeClock clock_;
  Cache cache_;
  FilesystemOptions options_;
  std::unique_ptr<HubFilesystem> fs_;
  std::string weights_;
};

TEST_F(AccessGateTest, GatedRepoWithoutTokenIsRefusedEvenWithEveryBlockCached) {
  FillCache("org/gated");
  hub_.SetHasToken(false);
  Start();  // a new mount of the same cache, within revision_ttl of the fill
  const int resolves = hub_.resolves, fetches = hub_.fetches, listings = hub_.listings;

  const std::vector<std::string> paths = {"org/gated", "org/gated@" + kCommit, "org/gated@" + kCommit + "/w.bin",
                                          ".hf-cache/hub/models--org--gated",
                                          ".hf-cache/hub/models--org--gated/snapshots"};
  for (const std::string& path : paths) {
    auto ino = Walk(path);
    ASSERT_FALSE(ino.ok()) << path << " was served";
    EXPECT_TRUE(ino.status().IsPermissionDenied()) << path << ": " << ino.status().ToString();
  }
  EXPECT_EQ(hub_.resolves.load(), resolves);
  EXPECT_EQ(hub_.fetches.load(), fetches) << "a mount without a token never asks for a gated repo's bytes";
  EXPECT_EQ(hub_.listings.load(), listings);
  // Public repos are unaffected.
  EXPECT_EQ(*ReadPath("org/public/small.txt"), "hello");
}

TEST_F(AccessGateTest, PrivateRepoWithoutAcceptanceIsMissingAsWithAnEmptyCache) {
  FillCache("org/private");
  hub_.SetHasToken(false);
  Start();
  EXPECT_EQ(*Walk("org/private"), 0u);
  EXPECT_EQ(*Walk("org/private@" + kCommit), 0u);

  // Another token, which the Hub does not accept: pinned paths ask once.
  hub_.SetHasToken(true);
  hub_.HideRepo("org/private");
  Start();
  EXPECT_EQ(*Walk("org/private@" + kCommit), 0u);
  EXPECT_EQ(*Walk(".hf-cache/hub/models--org--private"), 0u);
}

TEST_F(AccessGateTest, OpenAndListingAreCheckedAgainAfterRevisionTtl) {
  const auto file = Walk("org/gated@" + kCommit + "/w.bin");
  ASSERT_TRUE(file.ok() && *file != 0) << file.status().ToString();
  const auto dir = Walk("org/gated@" + kCommit);
  ASSERT_TRUE(dir.ok());
  ASSERT_EQ(*ReadAll(*file), weights_);

  hub_.SetGated("org/gated");  // the Hub revokes this token's access
  clock_.Advance(std::chrono::seconds(59));
  EXPECT_TRUE(ReadAll(*file).ok()) << "the acceptance holds for revision_ttl";
  clock_.Advance(std::chrono::seconds(2));
  EXPECT_TRUE(fs_->Open(*file).status().IsPermissionDenied()) << "a kept inode is checked again at open";
  EXPECT_TRUE(fs_->OpenDir(*dir).status().IsPermissionDenied());
  EXPECT_TRUE(fs_->Lookup(*dir, "small.txt").status().IsPermissionDenied());

  hub_.AllowRepo("org/gated");
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_EQ(*ReadAll(*file), weights_);
}

TEST_F(AccessGateTest, WhenNoEndpointAnswersAGatedRepoIsRefusedUnlessOptedIn) {
  FillCache("org/gated");
  hub_.SetOffline(true);
  clock_.Advance(std::chrono::seconds(61));
  Start();
  auto refused = Walk("org/gated@" + kCommit);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().IsPermissionDenied()) << refused.status().ToString();

  options_.snapshots.serve_gated_offline = true;
  Start();
  EXPECT_EQ(*ReadPath("org/gated@" + kCommit + "/w.bin"), weights_);
  EXPECT_EQ(*ReadPath("org/gated/small.txt"), "hello") << "the last known commit, from the cache";
}

TEST_F(AccessGateTest, VisibilityOutlivesTheMountInTheCache) {
  FillCache("org/gated");
  Start();
  AccessGate gate(&hub_, cache_.meta.get(), &clock_, AccessGateOptions());
  EXPECT_EQ(gate.Visibility({RepoKind::kModel, "org/gated"}), RepoVisibility::kGated);
  EXPECT_EQ(gate.Visibility({RepoKind::kModel, "org/never-seen"}), RepoVisibility::kUnknown);
}

TEST_F(AccessGateTest, PublicReposCostNoExtraRequest) {
  ASSERT_EQ(*ReadPath("org/public/small.txt"), "hello");
  EXPECT_EQ(hub_.resolves.load(), 1);
  EXPECT_EQ(hub_.fetches.load(), 1) << "the file's own bytes, no access probe";
  hub_.SetHasToken(false);
  Start();
  EXPECT_EQ(*ReadPath("org/public@" + kCommit + "/small.txt"), "hello");
  EXPECT_EQ(hub_.resolves.load(), 1);
  EXPECT_EQ(hub_.fetches.load(), 1);
}

TEST_F(AccessGateTest, PerUserTokenServesEachCallerByTheirOwnToken) {
  const Caller alice{1001}, bob{1002}, carol{1003};
  std::map<uint32_t, std::string> tokens = {{alice.uid, "tok-alice"}, {bob.uid, "tok-bob"}};
  int token_loads = 0;
  options_.snapshots.user_token = [&](uint32_t uid) -> Result<std::string> {
    ++token_loads;
    auto it = tokens.find(uid);
    return it == tokens.end() ? std::string() : it->second;
  };
  hub_.SetHasToken(false);  // a root mount with no token of its own
  hub_.SetGated("org/gated");
  hub_.AcceptCredential("org/gated", "tok-alice");
  Start();

  const auto org = fs_->Lookup(kRootInode, "org", alice);
  ASSERT_TRUE(org.ok());
  const auto repo = fs_->Lookup(org->attr.ino, "gated", alice);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->entry_timeout, 0) << "the kernel must ask again for each user";
  const auto file = Walk("org/gated/w.bin", alice);
  ASSERT_TRUE(file.ok() && *file != 0);
  EXPECT_EQ(*ReadAll(*file, alice), weights_);
  for (const std::string& credential : hub_.fetch_credentials()) {
    EXPECT_EQ(credential, "tok-alice") << "bytes are fetched with the token the Hub accepted";
  }

  const int fetches = hub_.fetches.load();
  EXPECT_TRUE(fs_->Lookup(org->attr.ino, "gated", bob).status().IsPermissionDenied());
  EXPECT_TRUE(fs_->Open(*file, bob).status().IsPermissionDenied()) << "an inode another user looked up";
  EXPECT_TRUE(fs_->OpenDir(repo->attr.ino, bob).status().IsPermissionDenied());
  EXPECT_TRUE(fs_->Open(*file, carol).status().IsPermissionDenied());
  EXPECT_TRUE(fs_->Open(*file).status().IsPermissionDenied()) << "the mount's own (absent) token";
  EXPECT_EQ(hub_.fetches.load(), fetches + 1) << "bob's probe; carol has no token to try";
  EXPECT_EQ(*ReadPath("org/public/small.txt", bob), "hello") << "public repos stay open to all";

  // Each verdict, and the token, holds for revision_ttl.
  const int loads = token_loads;
  EXPECT_EQ(*ReadAll(*file, alice), weights_);
  EXPECT_EQ(token_loads, loads);
  hub_.AcceptCredential("org/gated", "tok-bob");
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_EQ(*ReadAll(*file, bob), weights_);
}

TEST_F(AccessGateTest, PerUserVerdictsAreBoundedWhateverTheNumberOfCallers) {
  options_.snapshots.user_token = [](uint32_t uid) -> Result<std::string> { return "tok-" + std::to_string(uid); };
  options_.snapshots.max_caller_verdicts = 8;
  hub_.SetHasToken(false);
  hub_.SetGated("org/gated");
  hub_.AcceptCredential("org/gated", "tok-7");
  Start();
  AccessGate& gate = fs_->access_gate();
  // Every local uid may knock: the table of verdicts must not grow with them.
  for (uint32_t uid = 1000; uid < 1100; ++uid) {
    EXPECT_TRUE(Walk("org/gated/small.txt", Caller{uid}).status().IsPermissionDenied()) << uid;
    EXPECT_LE(gate.caller_verdicts(), 8u);
  }
  // A verdict pushed out is asked again, not lost: uid 7 still reads.
  EXPECT_EQ(*ReadPath("org/gated/small.txt", Caller{7}), "hello");
  EXPECT_LE(gate.caller_verdicts(), 8u);
}

}  // namespace
}  // namespace hfm
