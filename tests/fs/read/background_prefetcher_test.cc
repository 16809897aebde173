// BackgroundPrefetcher on its own: it fetches while a user wants the file,
// a window at a time within the budget, and stops after a GET fails.
#include "fs/read/background_prefetcher.h"

#include <gtest/gtest.h>

#include "tests/eventually.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/read/read_path_rig.h"

namespace hfm {
namespace {

using testing::Pattern;
using testing::ReadPathRig;

constexpr uint32_t kBlock = ReadPathRig::kBlock;

struct Units : std::enable_shared_from_this<Units> {
  Units(ReadPathRig& rig, const std::string& bytes)
      : scheduler(HashBytes(ContentHash::Kind::kSha256, bytes), bytes.size(), rig.env,
                  [this] { return std::shared_ptr<const void>(shared_from_this()); },
                  [](const FileLocation&, uint64_t, uint32_t, std::shared_ptr<const std::string>) {}),
        prefetcher(&scheduler, /*window_blocks=*/4, [] { return false; }) {}
  FetchScheduler scheduler;
  BackgroundPrefetcher prefetcher;
};

TEST(BackgroundPrefetcherTest, FetchesOnlyWhileAUserWantsTheFile) {
  ReadPathRig rig;
  const std::string bytes = Pattern(8 * kBlock, 1);
  const FileLocation where = rig.AddFile("w.bin", bytes);
  auto units = std::make_shared<Units>(rig, bytes);
  EXPECT_FALSE(units->prefetcher.active());
  units->prefetcher.Pump();
  EXPECT_EQ(rig.hub.fetches.load(), 0) << "fetched with no user";
  units->prefetcher.Start(where);
  EXPECT_TRUE(units->prefetcher.active());
  units->prefetcher.Stop();
  EXPECT_FALSE(units->prefetcher.active());
}

TEST(BackgroundPrefetcherTest, TakesWhatTheBudgetAllowsAndGoesOnWhenPumpedAgain) {
  ReadPathRig rig(/*max_memory=*/4 * kBlock);  // three blocks for prefetch
  const std::string bytes = Pattern(8 * kBlock, 2);
  const FileLocation where = rig.AddFile("w.bin", bytes);
  auto units = std::make_shared<Units>(rig, bytes);
  rig.hub.HoldFetches(true);
  units->prefetcher.Start(where);
  units->prefetcher.Pump();
  EXPECT_TRUE(units->scheduler.InFlight(2));
  EXPECT_FALSE(units->scheduler.InFlight(3)) << "prefetch went past the budget";
  rig.hub.HoldFetches(false);
  // Each release lets the owner pump again, as ContentRegistry does.
  ASSERT_TRUE(testing::Eventually([&] {
    units->prefetcher.Pump();
    return !units->prefetcher.active() && rig.budget.used() == 0;
  }));
  rig.Drain();
  for (uint32_t i = 0; i < 8; ++i) EXPECT_TRUE(units->scheduler.IsStored(i)) << "block " << i;
}

TEST(BackgroundPrefetcherTest, StopsAfterAGetOfTheFileFails) {
  ReadPathRig rig;
  const std::string bytes = Pattern(8 * kBlock, 3);
  const FileLocation where = rig.AddFile("w.bin", bytes);
  auto units = std::make_shared<Units>(rig, bytes);
  rig.hub.FailFetchesAt(kBlock);
  units->prefetcher.Start(where);
  units->prefetcher.Pump();
  ASSERT_TRUE(testing::Eventually([&] { return units->scheduler.any_fetch_failed(); }));
  EXPECT_FALSE(units->prefetcher.active()) << "prefetch went on after a GET failed";
}

}  // namespace
}  // namespace hfm
