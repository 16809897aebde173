// Readers served from a block while its GET is still filling it, driven
// without a mount on FakeHub (which can stall a fetch part-way through) and
// the in-memory cache. Time is a FakeClock's: a read that must time out
// does so when the test advances the clock past its deadline.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "fs/tree/hub_filesystem.h"
#include "tests/fs/fake_hub.h"
#include "tests/fs/fs_test_util.h"

namespace hfm {
namespace {

using testing::Pattern;

constexpr uint32_t kBlock = 64 * 1024;
const std::string kCommit = std::string(40, 'c');
// The read timeout of tests that expect a read to time out; the others far
// longer, which the clock never reaches.
constexpr std::chrono::milliseconds kShortWait{1000};
constexpr std::chrono::milliseconds kLongWait{20000};

class PartialBlockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Long enough for reads far apart to count as seeks (no readahead).
    table_ = Pattern(40 * kBlock + 100, 11);
    hub_.AddCommit("org/data", kCommit, {{"table.arrow", {table_, true}}});
    hub_.SetRef("org/data", "main", kCommit);
    cache_ = NewMemoryCache(kBlock);
  }

  // `read_timeout`: how long a reader waits for bytes that never come.
  void Start(std::chrono::milliseconds read_timeout) {
    options_.clock = &clock_;
    options_.read_path.read_timeout = read_timeout;
    fs_ = std::make_unique<HubFilesystem>(&hub_, cache_.blocks.get(), cache_.meta.get(), options_);
    auto opened = fs_->Open(testing::WalkPath(*fs_, "org/data/table.arrow"));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    handle_ = opened->handle;
  }

  void TearDown() override {
    hub_.ReleaseStalled();
    if (fs_) fs_->Release(handle_);
  }

  Result<std::string> Read(uint64_t offset, size_t size) {
    std::string buf(size, '\0');
    auto n = fs_->Read(handle_, offset, std::span<char>(buf.data(), buf.size()));
    if (!n.ok()) return n.status();
    buf.resize(*n);
    return buf;
  }

  // A read that waits for bytes the hub never sends: it waits on the clock
  // until the test moves it past the read's deadline.
  Result<std::string> ReadTimingOut(uint64_t offset, size_t size) {
    auto read = std::async(std::launch::async, [&] { return Read(offset, size); });
    if (testing::Eventually([&] { return clock_.waiters() > 0; })) clock_.Advance(kShortWait);
    return read.get();
  }

  // A fetch has stopped at its stall point (false after 20 s).
  bool StalledSoon() {
    return testing::Eventually([&] { return hub_.stalled() != 0; });
  }

  // Every fetch finished and its block stored (false after 20 s).
  bool Quiet() {
    return testing::Eventually([&] { return fs_->memory_budget().used() == 0; });
  }

  bool Complete() {
    auto c = cache_.blocks->IsComplete(HashBytes(ContentHash::Kind::kSha256, table_));
    return c.ok() && *c;
  }

  FakeClock clock_;
  FakeHub hub_;
  Cache cache_;
  FilesystemOptions options_;
  std::unique_ptr<HubFilesystem> fs_;
  std::string table_;
  uint64_t handle_ = 0;
};

TEST_F(PartialBlockTest, AReaderGetsTheBytesAlreadyInWhileTheBlockIsStillFetched) {
  Start(kLongWait);
  hub_.StallFetchesAfter(kBlock / 2);
  // The GET of block 0 delivers half the block, then stalls until released.
  auto head = Read(0, 4096);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(*head, table_.substr(0, 4096));
  // Once the GET has stopped half way, the bytes before that point are served.
  ASSERT_TRUE(StalledSoon());
  auto more = Read(kBlock / 2 - 100, 100);
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_EQ(*more, table_.substr(kBlock / 2 - 100, 100));
  // (Block 1's readahead GET may be stalled beside it.)
  EXPECT_GE(hub_.stalled(), 1) << "the block's GET is still in flight";
}

TEST_F(PartialBlockTest, BytesNotYetInAreWaitedForNeverMadeUp) {
  Start(kShortWait);
  hub_.StallFetchesAfter(kBlock / 2);
  ASSERT_TRUE(Read(0, 10).ok());
  // Straddles the point the GET stalls at: no byte of it may be served yet.
  auto straddling = ReadTimingOut(kBlock / 2 - 10, 20);
  EXPECT_EQ(straddling.status().code(), Status::Code::kDeadlineExceeded) << "got bytes the hub never sent";
  hub_.ReleaseStalled();
  // The timed-out wait had used up the fetch's read timeout: let it finish
  // (its block stored) before reading again.
  ASSERT_TRUE(Quiet());
  auto after = Read(kBlock / 2 - 10, 20);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, table_.substr(kBlock / 2 - 10, 20));
}

TEST_F(PartialBlockTest, OnceItsGetFaltersABlockIsServedOnlyWhole) {
  Start(kShortWait);
  // The GET fails after a quarter of the block and a second attempt resumes;
  // it then stalls at half.
  hub_.FalterFetchesAt(kBlock / 4);
  hub_.StallFetchesAfter(kBlock / 2);
  // In before the stall, but from after the falter: served only with the
  // whole block.
  auto later = ReadTimingOut(kBlock / 4 + 100, 100);
  EXPECT_EQ(later.status().code(), Status::Code::kDeadlineExceeded) << "partial bytes served after a falter";
  hub_.ReleaseStalled();
  ASSERT_TRUE(Quiet());
  auto after = Read(kBlock / 4 + 100, 100);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, table_.substr(kBlock / 4 + 100, 100));
}

TEST_F(PartialBlockTest, AfterAGetFalteredBlocksAreServedWholeUntilAGetRunsClean) {
  Start(kShortWait);
  hub_.FalterFetchesAt(kBlock / 4);
  ASSERT_TRUE(Read(0, 10).ok());
  ASSERT_TRUE(Quiet());
  // Block 30 in a GET that runs cleanly, stalled half way: no sharing yet
  // after block 0's GET faltered, so its first bytes wait for the whole.
  hub_.FalterFetchesAt(0);
  hub_.StallFetchesAfter(kBlock / 2);
  // (Reads past a quarter block: a smaller seek gets its bytes by themselves.)
  auto early = ReadTimingOut(uint64_t{30} * kBlock, kBlock / 4 + 1);
  EXPECT_EQ(early.status().code(), Status::Code::kDeadlineExceeded) << "shared after a GET of the file faltered";
  hub_.ReleaseStalled();
  ASSERT_TRUE(Quiet());
  // That GET ran clean: block 10's first bytes are served while it stalls.
  hub_.StallFetchesAfter(kBlock / 2);
  auto shared = Read(uint64_t{10} * kBlock, kBlock / 4 + 1);
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  EXPECT_EQ(*shared, table_.substr(10 * kBlock, kBlock / 4 + 1));
  ASSERT_TRUE(StalledSoon());
  auto more = Read(uint64_t{10} * kBlock + kBlock / 2 - 10, 10);
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_EQ(*more, table_.substr(10 * kBlock + kBlock / 2 - 10, 10));
}

TEST_F(PartialBlockTest, AfterAGetFailsMidBlockTheRestComesFromANewGetAndTheFileVerifies) {
  Start(kLongWait);
  hub_.StallFetchesAfter(kBlock / 2, /*fail=*/true);
  auto head = Read(0, 4096);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(*head, table_.substr(0, 4096));
  hub_.ReleaseStalled();  // the GET ends in a reset half way through block 0
  // Whatever this read gets, it is never the failed GET's half block passed
  // off as whole: an error, or the right bytes from a new GET.
  auto straddling = Read(kBlock / 2 - 10, 20);
  if (straddling.ok()) {
    EXPECT_EQ(*straddling, table_.substr(kBlock / 2 - 10, 20));
  }
  // The failed GET ends on its own thread; until it does, a reader of the
  // blocks it covered is told of its failure. After it, reads fetch anew.
  ASSERT_TRUE(testing::Eventually([&] { return fs_->Stats().fetches_in_flight == 0; }));
  std::string all;
  for (uint64_t offset = 0; offset < table_.size(); offset += kBlock) {
    auto part = Read(offset, kBlock);
    ASSERT_TRUE(part.ok()) << part.status().ToString();
    all += *part;
  }
  EXPECT_EQ(all, table_);
  EXPECT_TRUE(testing::Eventually([&] { return Complete(); }))
      << "the whole-file hash did not match after a GET failed mid-block";
}

TEST_F(PartialBlockTest, AReaderAtTheEndGetsTheVerdictEvenIfTheLastBlockIsStillFilling) {
  // Three blocks, served wrong. A reader has blocks 0 and 1 (a first read in
  // block 0 fetches block 1 with it), then reads the first bytes of block 2,
  // whose GET then stalls: the reader has its bytes, but the hash cannot be
  // decided until block 2 is in. Answering now would let a reader at the end
  // of a corrupt file see success.
  const std::string good = Pattern(2 * kBlock + 100, 12);
  hub_.AddCommit("org/two", kCommit, {{"w.bin", {good, true, Pattern(good.size(), 13)}}});
  hub_.SetRef("org/two", "main", kCommit);
  options_.clock = &clock_;
  options_.read_path.read_timeout = kLongWait;
  fs_ = std::make_unique<HubFilesystem>(&hub_, cache_.blocks.get(), cache_.meta.get(), options_);
  auto opened = fs_->Open(testing::WalkPath(*fs_, "org/two/w.bin"));
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  handle_ = opened->handle;
  ASSERT_TRUE(Read(0, kBlock).ok());
  ASSERT_TRUE(Quiet());
  hub_.StallFetchesAfter(50);
  auto read = std::async(std::launch::async, [&] { return Read(2 * kBlock, 50); });
  ASSERT_TRUE(StalledSoon());
  hub_.ReleaseStalled();
  auto got = read.get();
  EXPECT_EQ(got.status().code(), Status::Code::kDataLoss) << "served the end of a file that fails its hash";
}

}  // namespace
}  // namespace hfm
