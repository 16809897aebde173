// HubFilesystem driven without a mount, on FakeHub and the in-memory cache.
#include "fs/tree/hub_filesystem.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "tests/fs/fake_hub.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/recording_store.h"

namespace hfm {
namespace {

using testing::Pattern;

constexpr uint32_t kBlock = 64 * 1024;
const std::string kCommitA = std::string(40, 'a');
const std::string kCommitB = std::string(40, 'b');

class HubFilesystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    big_ = Pattern(5 * kBlock + 1234, 1);
    hub_.AddCommit("org/model", kCommitA,
                   {{"config.json", {"{\"a\": 1}"}},
                    {"weights.bin", {big_, true}},
                    {"sub/dir/deep.txt", {"deep"}},
                    {"empty.txt", {""}}});
    hub_.AddCommit("org/model", kCommitB,
                   {{"config.json", {"{\"b\": 2}"}}, {"weights.bin", {Pattern(3 * kBlock, 2), true}}});
    hub_.SetRef("org/model", "main", kCommitA);
    hub_.AddCommit("org/corrupt", kCommitA,
                   {{"bad.bin", {big_, true, Pattern(big_.size(), 9)}},
                    {"bad-small.txt", {"hello", false, "jello"}}});
    hub_.SetRef("org/corrupt", "main", kCommitA);
    hub_.AddCommit("org/gated", kCommitA, {{"w.bin", {big_, true}}});
    hub_.SetRef("org/gated", "main", kCommitA);
    hub_.SetGated("org/gated");
    cache_ = NewMemoryCache(kBlock);
    Start();
  }

  void Start() {
    fs_.reset();
    fs_ = std::make_unique<HubFilesystem>(&hub_, cache_.blocks.get(), cache_.meta.get(), options_);
  }

  uint64_t Walk(const std::string& path) { return testing::WalkPath(*fs_, path); }

  Result<std::string> ReadAll(const std::string& path, size_t chunk = 128 * 1024) {
    uint64_t ino = Walk(path);
    if (!ino) return Status::NotFound(path);
    auto f = fs_->Open(ino);
    if (!f.ok()) return f.status();
    std::string out;
    std::string buf(chunk, '\0');
    for (;;) {
      auto n = fs_->Read(f->handle, out.size(), std::span<char>(buf.data(), buf.size()));
      if (!n.ok()) {
        fs_->Release(f->handle);
        return n.status();
      }
      if (*n == 0) break;
      out.append(buf.data(), *n);
    }
    fs_->Release(f->handle);
    return out;
  }

  FakeHub hub_;
  Cache cache_;
  FilesystemOptions options_;
  std::unique_ptr<HubFilesystem> fs_;
  std::string big_;
};

TEST_F(HubFilesystemTest, LookupGivesSizesModesAndLinkCounts) {
  auto org = fs_->Lookup(kRootInode, "org");
  ASSERT_TRUE(org.ok());
  EXPECT_TRUE(org->attr.is_dir);
  auto repo = fs_->Lookup(org->attr.ino, "model");
  ASSERT_TRUE(repo.ok());
  ASSERT_NE(repo->attr.ino, 0u);
  EXPECT_EQ(repo->attr.nlink, 3u);  // . and .. and sub/
  auto file = fs_->Lookup(repo->attr.ino, "weights.bin");
  ASSERT_TRUE(file.ok());
  EXPECT_FALSE(file->attr.is_dir);
  EXPECT_EQ(file->attr.size, big_.size());
  EXPECT_EQ(file->attr.nlink, 1u);
  EXPECT_EQ(hub_.fetches.load(), 0) << "stat must not download file data";
}

TEST_F(HubFilesystemTest, MissingNamesAreNegativeEntries) {
  auto org = fs_->Lookup(kRootInode, "org");
  ASSERT_TRUE(org.ok());
  auto missing = fs_->Lookup(org->attr.ino, "nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->attr.ino, 0u);
  auto bad_rev = fs_->Lookup(org->attr.ino, "model@no-such-branch");
  ASSERT_TRUE(bad_rev.ok());
  EXPECT_EQ(bad_rev->attr.ino, 0u);
  EXPECT_EQ(Walk("org/model/not-there.txt"), 0u);
  EXPECT_EQ(Walk(".Trash-0"), 0u);
}

TEST_F(HubFilesystemTest, AnOperationOnTheWrongKindOfNodeSaysWhichKind) {
  const uint64_t file = Walk("org/model/config.json");
  const uint64_t dir = Walk("org/model/sub");
  ASSERT_NE(file, 0u);
  ASSERT_NE(dir, 0u);
  auto lookup = fs_->Lookup(file, "x");
  ASSERT_FALSE(lookup.ok());
  EXPECT_EQ(lookup.status().code(), Status::Code::kNotADirectory) << lookup.status().ToString();
  auto listing = fs_->OpenDir(file);
  ASSERT_FALSE(listing.ok());
  EXPECT_EQ(listing.status().code(), Status::Code::kNotADirectory) << listing.status().ToString();
  auto opened = fs_->Open(dir);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Status::Code::kIsADirectory) << opened.status().ToString();
  auto link = fs_->ReadLink(file);
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.status().code(), Status::Code::kNotASymlink) << link.status().ToString();
  const uint64_t control = Walk(".hfmirror/stats.json");
  ASSERT_NE(control, 0u);
  EXPECT_EQ(fs_->Lookup(control, "x").status().code(), Status::Code::kNotADirectory);
  EXPECT_EQ(fs_->Open(Walk(".hfmirror")).status().code(), Status::Code::kIsADirectory);
}

TEST_F(HubFilesystemTest, UptimeAndControlFileTimesFollowTheFilesystemsClock) {
  FakeClock clock;
  options_.clock = &clock;
  Start();
  EXPECT_EQ(fs_->Stats().uptime_seconds, 0);
  clock.Advance(std::chrono::seconds(90));
  EXPECT_EQ(fs_->Stats().uptime_seconds, 90);
  const uint64_t stats = Walk(".hfmirror/stats.json");
  ASSERT_NE(stats, 0u);
  auto attr = fs_->GetAttr(stats);
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->attr.mtime, clock.WallSeconds()) << "a control file is rendered now";
  auto folder = fs_->GetAttr(Walk(".hfmirror"));
  ASSERT_TRUE(folder.ok());
  EXPECT_EQ(folder->attr.mtime, clock.WallSeconds() - 90) << "the folder is as old as the mount";
}

TEST_F(HubFilesystemTest, ReadsEveryByteAtRandomOffsets) {
  uint64_t ino = Walk("org/model/weights.bin");
  ASSERT_NE(ino, 0u);
  auto f = fs_->Open(ino);
  ASSERT_TRUE(f.ok());
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    uint64_t off = rng() % (big_.size() + 10);
    size_t len = 1 + rng() % (3 * kBlock);
    std::string buf(len, '\0');
    auto n = fs_->Read(f->handle, off, std::span<char>(buf.data(), len));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    size_t want = off >= big_.size() ? 0 : std::min<size_t>(len, big_.size() - off);
    ASSERT_EQ(*n, want);
    ASSERT_EQ(buf.substr(0, *n), big_.substr(std::min<size_t>(off, big_.size()), want)) << "offset " << off;
  }
  fs_->Release(f->handle);
}

TEST_F(HubFilesystemTest, SequentialReadVerifiesCompletesAndIsFetchedOnce) {
  auto bytes = ReadAll("org/model/weights.bin");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, big_);
  auto hash = HashBytes(ContentHash::Kind::kSha256, big_);
  auto complete = cache_.blocks->IsComplete(hash);
  ASSERT_TRUE(complete.ok());
  EXPECT_TRUE(*complete);
  const uint64_t fetched = hub_.fetched_bytes.load();
  EXPECT_EQ(fetched, big_.size()) << "each byte fetched exactly once";
  EXPECT_EQ(hub_.aborted_transfers.load(), 0) << "a completed range must not abort its transfer";
  auto again = ReadAll("org/model/weights.bin");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, big_);
  EXPECT_EQ(hub_.fetched_bytes.load(), fetched) << "a second read must come from the cache";
}

TEST_F(HubFilesystemTest, SmallAndEmptyFilesRead) {
  auto small = ReadAll("org/model/config.json");
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(*small, "{\"a\": 1}");
  auto deep = ReadAll("org/model/sub/dir/deep.txt");
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(*deep, "deep");
  auto empty = ReadAll("org/model/empty.txt");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST_F(HubFilesystemTest, CorruptLargeFileFailsBeforeEofAndNeverCompletes) {
  for (int reader = 0; reader < 2; ++reader) {
    auto bytes = ReadAll("org/corrupt/bad.bin");
    ASSERT_FALSE(bytes.ok()) << "reader " << reader << " saw EOF on corrupt bytes";
    EXPECT_TRUE(bytes.status().IsDataLoss()) << bytes.status().ToString();
  }
  auto complete = cache_.blocks->IsComplete(HashBytes(ContentHash::Kind::kSha256, big_));
  ASSERT_TRUE(complete.ok());
  EXPECT_FALSE(*complete);
  auto stats = cache_.blocks->Stats();
  EXPECT_EQ(stats.blocks, 0u) << "corrupt blocks must be dropped";
}

TEST_F(HubFilesystemTest, AReaderThatGotBytesOfAFailedRoundGetsEioFromThenOn) {
  // Without the background fetch of *.bin files, which could reach the
  // verdict before this reader's first read.
  options_.background_patterns.clear();
  Start();
  uint64_t ino = Walk("org/corrupt/bad.bin");
  ASSERT_NE(ino, 0u);
  auto f = fs_->Open(ino);
  ASSERT_TRUE(f.ok());
  std::string buf(kBlock, '\0');
  ASSERT_TRUE(fs_->Read(f->handle, 0, std::span<char>(buf.data(), buf.size())).ok());
  std::string rest(big_.size(), '\0');
  auto tail = fs_->Read(f->handle, kBlock, std::span<char>(rest.data(), rest.size()));
  ASSERT_FALSE(tail.ok());
  EXPECT_TRUE(tail.status().IsDataLoss());
  hub_.SetServed("org/corrupt", kCommitA, "bad.bin", "");  // the mirror is fixed
  auto again = fs_->Read(f->handle, kBlock, std::span<char>(rest.data(), rest.size()));
  ASSERT_FALSE(again.ok()) << "this reader already holds wrong bytes of block 0";
  fs_->Release(f->handle);
  auto fresh = ReadAll("org/corrupt/bad.bin");
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(*fresh, big_);
}

TEST_F(HubFilesystemTest, BlocksStoredAfterAMismatchAreNotTrustedByTheNextMount) {
  // A mount sees bad.bin fail verification, then stores blocks of its next
  // try, from the same bad source, before that try fails too. The mirror is
  // fixed and the cache mounted again: built from those blocks, the file
  // would be served wrong and fail its reader at the end.
  options_.background_patterns.clear();
  Start();
  const ContentHash hash = HashBytes(ContentHash::Kind::kSha256, big_);
  auto first = ReadAll("org/corrupt/bad.bin");
  ASSERT_TRUE(first.status().IsDataLoss()) << first.status().ToString();
  hub_.FailFetchesAt(3 * kBlock);
  auto second = ReadAll("org/corrupt/bad.bin");
  ASSERT_FALSE(second.ok());
  fs_.reset();  // drains the cache writer
  auto stored = cache_.blocks->CachedBytes(hash);
  ASSERT_TRUE(stored.ok());
  ASSERT_GT(*stored, 0u) << "the second try stored none of its blocks: nothing to test";

  hub_.StopFailingFetches();
  hub_.SetServed("org/corrupt", kCommitA, "bad.bin", "");
  Start();
  auto fresh = ReadAll("org/corrupt/bad.bin");
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_EQ(*fresh, big_);
  EXPECT_TRUE(testing::Eventually([&] {
    auto complete = cache_.blocks->IsComplete(hash);
    return complete.ok() && *complete;
  }));
  auto failed = cache_.blocks->FailedVerification(hash);
  ASSERT_TRUE(failed.ok());
  EXPECT_FALSE(*failed) << "the file verified: its mark must go";
}

TEST_F(HubFilesystemTest, CorruptSmallFileServesNoByte) {
  uint64_t ino = Walk("org/corrupt/bad-small.txt");
  ASSERT_NE(ino, 0u);
  auto f = fs_->Open(ino);
  ASSERT_TRUE(f.ok());
  std::string buf(2, '\0');
  auto n = fs_->Read(f->handle, 0, std::span<char>(buf.data(), buf.size()));
  ASSERT_FALSE(n.ok());
  EXPECT_TRUE(n.status().IsDataLoss());
  fs_->Release(f->handle);
}

TEST_F(HubFilesystemTest, StrictModeServesNothingUnverified) {
  options_.read_path.strict = true;
  Start();
  uint64_t ino = Walk("org/corrupt/bad.bin");
  ASSERT_NE(ino, 0u);
  auto f = fs_->Open(ino);
  ASSERT_TRUE(f.ok());
  std::string buf(100, '\0');
  auto n = fs_->Read(f->handle, 0, std::span<char>(buf.data(), buf.size()));
  ASSERT_FALSE(n.ok());
  EXPECT_TRUE(n.status().IsDataLoss());
  fs_->Release(f->handle);
  auto good = ReadAll("org/model/weights.bin");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, big_);
}

TEST_F(HubFilesystemTest, GatedRepoReadIsPermissionDenied) {
  auto bytes = ReadAll("org/gated/w.bin");
  ASSERT_FALSE(bytes.ok());
  EXPECT_TRUE(bytes.status().IsPermissionDenied()) << bytes.status().ToString();
}

TEST_F(HubFilesystemTest, PinnedCommitNeedsNoNetworkAfterRemount) {
  const std::string path = "org/model@" + kCommitA + "/weights.bin";
  auto first = ReadAll(path);
  ASSERT_TRUE(first.ok());
  Start();  // a new mount on the same cache
  const int resolves = hub_.resolves, listings = hub_.listings, fetches = hub_.fetches;
  auto second = ReadAll(path);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, big_);
  EXPECT_EQ(hub_.resolves.load(), resolves);
  EXPECT_EQ(hub_.listings.load(), listings);
  EXPECT_EQ(hub_.fetches.load(), fetches);
}

TEST_F(HubFilesystemTest, ABranchResolvedByAnEarlierMountCountsUntilItsTtl) {
  ASSERT_TRUE(ReadAll("org/model/config.json").ok());
  const int resolves = hub_.resolves;
  Start();  // a remount on the same cache, well within revision_ttl (60 s)
  ASSERT_TRUE(ReadAll("org/model/config.json").ok());
  EXPECT_EQ(hub_.resolves.load(), resolves) << "resolved again at once after a remount";

  options_.snapshots.revision_ttl = std::chrono::seconds(0);
  Start();  // with no TTL, every mount asks
  ASSERT_TRUE(ReadAll("org/model/config.json").ok());
  EXPECT_GT(hub_.resolves.load(), resolves);
}

TEST_F(HubFilesystemTest, OpenFileKeepsItsCommitWhenTheBranchMoves) {
  options_.snapshots.revision_ttl = std::chrono::seconds(0);
  Start();
  uint64_t ino = Walk("org/model/weights.bin");
  ASSERT_NE(ino, 0u);
  auto f = fs_->Open(ino);
  ASSERT_TRUE(f.ok());
  hub_.SetRef("org/model", "main", kCommitB);
  std::string buf(big_.size(), '\0');
  auto n = fs_->Read(f->handle, 0, std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(buf.substr(0, *n), big_);
  fs_->Release(f->handle);
  auto moved = ReadAll("org/model/config.json");
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, "{\"b\": 2}");
}

TEST_F(HubFilesystemTest, UnreachableHubFallsBackToLastKnownCommit) {
  options_.snapshots.revision_ttl = std::chrono::seconds(0);
  Start();
  ASSERT_TRUE(ReadAll("org/model/config.json").ok());
  Start();
  hub_.SetOffline(true);
  auto bytes = ReadAll("org/model/config.json");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, "{\"a\": 1}");
}

TEST_F(HubFilesystemTest, ConcurrentReadersShareOneFetchPerBlock) {
  std::vector<std::thread> readers;
  std::atomic<int> good{0};
  for (int i = 0; i < 8; ++i) {
    readers.emplace_back([&, i] {
      auto bytes = ReadAll("org/model/weights.bin", 4096 * (i + 1));
      if (bytes.ok() && *bytes == big_) good++;
    });
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(good.load(), 8);
  EXPECT_EQ(hub_.fetched_bytes.load(), big_.size());
}

TEST_F(HubFilesystemTest, ListingShowsKnownReposAndSnapshotEntries) {
  ASSERT_NE(Walk("org/model"), 0u);
  auto root = fs_->OpenDir(kRootInode);
  ASSERT_TRUE(root.ok());
  std::vector<std::string> names;
  for (const auto& e : *fs_->DirEntries(*root)) names.push_back(e.name);
  fs_->ReleaseDir(*root);
  EXPECT_EQ(names, (std::vector<std::string>{"datasets", "spaces", "org"}));
  auto repo = fs_->OpenDir(Walk("org/model"));
  ASSERT_TRUE(repo.ok());
  names.clear();
  for (const auto& e : *fs_->DirEntries(*repo)) names.push_back(e.name);
  fs_->ReleaseDir(*repo);
  EXPECT_EQ(names, (std::vector<std::string>{"config.json", "empty.txt", "sub", "weights.bin"}));
}

TEST_F(HubFilesystemTest, ReadsFromTheCacheCountAsUseForEviction) {
  auto first = ReadAll("org/model/weights.bin");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const ContentHash hash = HashBytes(ContentHash::Kind::kSha256, big_);
  ASSERT_TRUE(testing::Eventually([&] {
    auto c = cache_.blocks->IsComplete(hash);
    return c.ok() && *c;
  }));
  // A later mount reads the file from the cache only.
  testing::RecordingStore store(cache_.blocks.get());
  fs_ = std::make_unique<HubFilesystem>(&hub_, &store, cache_.meta.get(), options_);
  const int fetches = hub_.fetches.load();
  auto again = ReadAll("org/model/weights.bin");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(hub_.fetches.load(), fetches);
  EXPECT_GT(store.touches(hash), 0) << "a file read only from the cache would look unused and go first";
  fs_.reset();
}

TEST_F(HubFilesystemTest, AFileEvictedByAnotherProcessIsVerifiedAgainBeforeItIsServed) {
  const ContentHash hash = HashBytes(ContentHash::Kind::kSha256, big_);
  auto complete = [&] {
    auto c = cache_.blocks->IsComplete(hash);
    return c.ok() && *c;
  };
  uint64_t ino = Walk("org/model/weights.bin");
  auto f = fs_->Open(ino);
  ASSERT_TRUE(f.ok());
  std::string all(big_.size(), '\0');
  ASSERT_TRUE(fs_->Read(f->handle, 0, std::span<char>(all.data(), all.size())).ok());
  ASSERT_TRUE(testing::Eventually(complete));
  // Another process (hfmirror cache gc) drops the file; the mirror now
  // serves other bytes for it.
  ASSERT_TRUE(cache_.blocks->DropFile(hash, big_.size()).ok());
  hub_.SetServed("org/model", kCommitA, "weights.bin", Pattern(big_.size(), 5));
  std::string buf(100, '\0');
  auto bad = fs_->Read(f->handle, 3 * kBlock, std::span<char>(buf.data(), buf.size()));
  ASSERT_FALSE(bad.ok()) << "served bytes fetched again without verifying them";
  EXPECT_TRUE(bad.status().IsDataLoss()) << bad.status().ToString();
  EXPECT_FALSE(complete());
  // The mirror is fixed: the file is fetched, verified and complete again.
  hub_.SetServed("org/model", kCommitA, "weights.bin", "");
  auto good = fs_->Read(f->handle, 3 * kBlock, std::span<char>(buf.data(), buf.size()));
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(buf, big_.substr(3 * kBlock, 100));
  EXPECT_TRUE(testing::Eventually(complete));
  fs_->Release(f->handle);
}

}  // namespace
}  // namespace hfm
