#include "fs/read/memory_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fs/read/hash_stash.h"
#include "fs/read/work_queue.h"

namespace hfm {
namespace {

TEST(MemoryBudgetTest, TryReserveKeepsAQuarterForReadersReserveNeverRefuses) {
  MemoryBudget budget(100);
  EXPECT_TRUE(budget.TryReserve(60));
  EXPECT_FALSE(budget.TryReserve(16)) << "60 + 16 > 75, prefetch's three quarters";
  EXPECT_EQ(budget.used(), 60u) << "a refused TryReserve takes nothing";
  EXPECT_TRUE(budget.TryReserve(15));
  budget.Reserve(55);  // a waiting reader's block: never refused
  EXPECT_EQ(budget.used(), 130u);
  EXPECT_FALSE(budget.TryReserve(1));
  budget.Release(130);
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(budget.peak(), 130u);
}

TEST(MemoryBudgetTest, TheWorkingLimitFollowsTheLinkBetweenTheStartAndTheCeiling) {
  MemoryBudget budget(/*ceiling_bytes=*/1000, SystemClock(), /*start_bytes=*/100);
  EXPECT_EQ(budget.limit(), 100u);
  EXPECT_EQ(budget.ceiling(), 1000u);
  EXPECT_FALSE(budget.TryReserve(76)) << "prefetch's share of the start";
  // A far link wants 600 bytes in flight: prefetch's share holds them.
  budget.SetInFlightTarget(600);
  EXPECT_GE(budget.limit() - budget.limit() / 4, 600u);
  EXPECT_TRUE(budget.TryReserve(600));
  EXPECT_FALSE(budget.TryReserve(10));
  budget.Release(600);
  budget.SetInFlightTarget(5000);
  EXPECT_EQ(budget.limit(), 1000u) << "never past max_memory";
  // A near link again: back to the start, whatever is in use.
  EXPECT_TRUE(budget.TryReserve(700));
  budget.SetInFlightTarget(10);
  EXPECT_EQ(budget.limit(), 100u);
  EXPECT_FALSE(budget.TryReserve(1)) << "new prefetch waits until what is in use drains";
  budget.Release(700);
  EXPECT_TRUE(budget.TryReserve(1));
}

TEST(MemoryBudgetTest, WaitForRoomWaitsForAReleaseBelowTheLimit) {
  MemoryBudget budget(100);
  const auto soon = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  EXPECT_TRUE(budget.WaitForRoom(soon)) << "nothing in use";
  budget.Reserve(100);
  EXPECT_FALSE(budget.WaitForRoom(std::chrono::steady_clock::now() + std::chrono::milliseconds(10)))
      << "full until something is released";
  std::thread releaser([&] { budget.Release(1); });
  EXPECT_TRUE(budget.WaitForRoom(soon));
  releaser.join();
  budget.Release(99);
}

TEST(MemoryBudgetTest, ReleaseTellsTheListener) {
  MemoryBudget budget(40);
  int calls = 0;
  budget.SetReleaseListener([&] {
    ++calls;
    EXPECT_TRUE(budget.TryReserve(30)) << "the released bytes are free when the listener runs";
  });
  ASSERT_TRUE(budget.TryReserve(30));
  budget.Release(30);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(budget.used(), 30u);
}

TEST(MemoryBudgetTest, BlocksAheadOfTheHashHoldAtMostAQuarter) {
  MemoryBudget budget(100);
  EXPECT_TRUE(budget.TryHoldAhead(20));
  EXPECT_FALSE(budget.TryHoldAhead(6)) << "26 is past a quarter of 100";
  EXPECT_TRUE(budget.TryHoldAhead(5));
  EXPECT_EQ(budget.held_ahead(), 25u);
  budget.ReleaseAhead(20);
  EXPECT_TRUE(budget.TryHoldAhead(6));
  EXPECT_EQ(budget.used(), 0u) << "holding ahead bounds bytes already reserved; it reserves nothing";
}

TEST(HashStashTest, KeepsWhatTheBudgetAllowsAndGivesItBack) {
  MemoryBudget budget(16);  // four bytes may wait ahead
  auto block = [](size_t n) { return std::make_shared<const std::string>(n, 'x'); };
  {
    HashStash stash(&budget);
    EXPECT_TRUE(stash.Add(3, block(2)));
    EXPECT_FALSE(stash.Add(3, block(1))) << "already stashed";
    EXPECT_TRUE(stash.Add(5, block(2)));
    EXPECT_FALSE(stash.Add(7, block(1))) << "over the budget's share";
    EXPECT_EQ(budget.held_ahead(), 4u);
    EXPECT_EQ(stash.Take(7), nullptr);
    auto taken = stash.Take(3);
    ASSERT_NE(taken, nullptr);
    EXPECT_EQ(taken->size(), 2u);
    EXPECT_EQ(budget.held_ahead(), 2u);
    EXPECT_TRUE(stash.Add(7, block(1)));
    stash.Clear();
    EXPECT_TRUE(stash.empty());
    EXPECT_EQ(budget.held_ahead(), 0u);
    EXPECT_TRUE(stash.Add(9, block(3)));
  }
  EXPECT_EQ(budget.held_ahead(), 0u) << "the destructor gives back what the stash held";
}

TEST(WorkQueueTest, UrgentJobsRunBeforeQueuedNormalJobs) {
  std::mutex mu;
  std::condition_variable cv;
  bool started = false, go = false;
  std::vector<std::string> order;
  {
    WorkQueue queue(1);
    queue.Submit([&] {  // holds the only thread until the rest are queued
      std::unique_lock<std::mutex> lock(mu);
      started = true;
      cv.notify_all();
      cv.wait(lock, [&] { return go; });
    });
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return started; });
    }
    for (const char* name : {"normal-1", "normal-2"}) {
      queue.Submit([&, name] {
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(name);
      });
    }
    for (const char* name : {"urgent-1", "urgent-2"}) {
      queue.Submit(
          [&, name] {
            std::lock_guard<std::mutex> lock(mu);
            order.push_back(name);
          },
          WorkQueue::Priority::kUrgent);
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      go = true;
    }
    cv.notify_all();
  }  // the destructor drains the queue
  EXPECT_EQ(order, (std::vector<std::string>{"urgent-1", "urgent-2", "normal-1", "normal-2"}));
}

}  // namespace
}  // namespace hfm
