// FetchScheduler on its own: one fetch per block shared by its readers, the
// budget's bound on readahead, stored blocks, and a new verification round
// discarding what was in flight.
#include "fs/read/fetch_scheduler.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "tests/eventually.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/read/read_path_rig.h"

namespace hfm {
namespace {

using testing::Pattern;
using testing::ReadPathRig;

constexpr uint32_t kBlock = ReadPathRig::kBlock;

// Owns a scheduler the way FileContent does: queued jobs hold it.
struct Owner : std::enable_shared_from_this<Owner> {
  Owner(ReadPathRig& rig, const std::string& bytes)
      : scheduler(HashBytes(ContentHash::Kind::kSha256, bytes), bytes.size(), rig.env,
                  [this] { return std::shared_ptr<const void>(shared_from_this()); },
                  [this](const FileLocation&, uint64_t round, uint32_t index, std::shared_ptr<const std::string>) {
                    std::lock_guard<std::mutex> lock(mu);
                    published.push_back({round, index});
                  }) {}
  std::vector<std::pair<uint64_t, uint32_t>> Published() {
    std::lock_guard<std::mutex> lock(mu);
    return published;
  }
  FetchScheduler scheduler;
  std::mutex mu;
  std::vector<std::pair<uint64_t, uint32_t>> published;
};

TEST(FetchSchedulerTest, ReadersOfOneBlockShareOneFetchAndItsBytesAreStored) {
  ReadPathRig rig;
  const std::string bytes = Pattern(4 * kBlock, 1);
  const FileLocation where = rig.AddFile("w.bin", bytes);
  auto owner = std::make_shared<Owner>(rig, bytes);
  FetchScheduler& s = owner->scheduler;
  rig.hub.HoldFetches(true);
  std::shared_ptr<BlockFetch> first, second;
  s.Schedule(where, s.round(), 2, 2, 2, std::span(&first, 1));
  s.Schedule(where, s.round(), 2, 2, 2, std::span(&second, 1));
  ASSERT_TRUE(first);
  EXPECT_EQ(first, second) << "a second reader started a second fetch of the block";
  rig.hub.HoldFetches(false);
  std::string out(100, '\0');
  const auto deadline = SystemClock()->Now() + std::chrono::seconds(20);
  ASSERT_TRUE(s.CopyFromFetch(where, first, 2, 500, std::span(out.data(), out.size()), deadline).ok());
  EXPECT_EQ(out, bytes.substr(2 * kBlock + 500, 100));
  EXPECT_EQ(rig.hub.fetches.load(), 1);
  // The copy may have come from the block still filling: the store job is
  // queued once the whole block is in.
  EXPECT_TRUE(testing::Eventually([&] { return s.IsStored(2); }));
  EXPECT_FALSE(s.InFlight(2));
  EXPECT_EQ(owner->Published(), (std::vector<std::pair<uint64_t, uint32_t>>{{0, 2}}));
}

TEST(FetchSchedulerTest, ReadaheadStopsAtTheBudgetButAReadersBlocksDoNot) {
  ReadPathRig rig(/*max_memory=*/4 * kBlock);
  const std::string bytes = Pattern(16 * kBlock, 2);
  const FileLocation where = rig.AddFile("w.bin", bytes);
  auto owner = std::make_shared<Owner>(rig, bytes);
  FetchScheduler& s = owner->scheduler;
  rig.hub.HoldFetches(true);
  // Prefetch may take three quarters of the budget: three blocks.
  const uint32_t stopped = s.Schedule(where, s.round(), 0, 15, /*demand_last=*/-1);
  EXPECT_EQ(stopped, 3u);
  EXPECT_TRUE(s.InFlight(2));
  EXPECT_FALSE(s.InFlight(3));
  // A reader's own blocks are fetched past the budget.
  EXPECT_EQ(s.Schedule(where, s.round(), 8, 9, /*demand_last=*/9), 10u);
  EXPECT_TRUE(s.InFlight(9));
  rig.hub.HoldFetches(false);
  ASSERT_TRUE(testing::Eventually([&] { return rig.budget.used() == 0; }));
}

TEST(FetchSchedulerTest, ANewRoundFailsWhatIsInFlightAndKeepsItsBytesOut) {
  ReadPathRig rig;
  const std::string bytes = Pattern(4 * kBlock, 3);
  const FileLocation where = rig.AddFile("w.bin", bytes);
  auto owner = std::make_shared<Owner>(rig, bytes);
  FetchScheduler& s = owner->scheduler;
  rig.hub.HoldFetches(true);
  std::shared_ptr<BlockFetch> fetch;
  s.Schedule(where, s.round(), 1, 1, 1, std::span(&fetch, 1));
  ASSERT_TRUE(fetch);
  bool dropped = false;
  const uint64_t released = s.StartNewRound(Status::DataLoss("mismatch"), [&] { dropped = true; });
  rig.budget.Release(released);
  EXPECT_TRUE(dropped);
  EXPECT_EQ(s.round(), 1u);
  std::string out(10, '\0');
  const auto deadline = SystemClock()->Now() + std::chrono::seconds(20);
  EXPECT_EQ(s.CopyFromFetch(where, fetch, 1, 0, std::span(out.data(), out.size()), deadline).code(),
            Status::Code::kDataLoss);
  rig.hub.HoldFetches(false);
  ASSERT_TRUE(testing::Eventually([&] { return rig.counters.fetches_in_flight.load() == 0; }));
  rig.Drain();
  EXPECT_FALSE(s.IsStored(1)) << "a block of the failed round was recorded stored";
  auto has = rig.cache.blocks->HasBlock(HashBytes(ContentHash::Kind::kSha256, bytes), 1);
  EXPECT_TRUE(has.ok() && !*has) << "a block of the failed round reached the cache";
  EXPECT_TRUE(owner->Published().empty());
}

TEST(FetchSchedulerTest, AFailedGetAnswersItsReadersAndIsRemembered) {
  ReadPathRig rig;
  const std::string bytes = Pattern(4 * kBlock, 4);
  const FileLocation where = rig.AddFile("w.bin", bytes);
  auto owner = std::make_shared<Owner>(rig, bytes);
  FetchScheduler& s = owner->scheduler;
  rig.hub.HoldFetches(true);
  rig.hub.FailFetchesAt(kBlock);
  std::shared_ptr<BlockFetch> fetch;
  s.Schedule(where, s.round(), 1, 1, 1, std::span(&fetch, 1));
  rig.hub.HoldFetches(false);
  std::string out(10, '\0');
  const auto deadline = SystemClock()->Now() + std::chrono::seconds(20);
  EXPECT_EQ(s.CopyFromFetch(where, fetch, 1, 0, std::span(out.data(), out.size()), deadline).code(),
            Status::Code::kUnavailable);
  EXPECT_TRUE(s.any_fetch_failed());
  EXPECT_FALSE(s.InFlight(1)) << "a failed fetch stays in the table: the next reader would wait on it";
}

}  // namespace
}  // namespace hfm
