#include "fetch/single_flight.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace hfm {
namespace {

TimePoint Later() { return SystemClock()->Now() + std::chrono::seconds(30); }

TEST(SingleFlightTest, OneLeadsOthersWaitForItsEnd) {
  SingleFlight flight;
  ASSERT_TRUE(flight.Begin("file", Later()));
  auto lead = std::make_unique<SingleFlight::Lead>(&flight, "file");
  std::atomic<bool> ended{false};
  std::atomic<bool> follower_led{true};
  std::thread follower([&] {
    follower_led = flight.Begin("file", Later());
    EXPECT_TRUE(ended.load()) << "a follower returns only after the lead ends";
  });
  while (flight.waiting() == 0) std::this_thread::yield();  // the follower is in Begin()
  EXPECT_TRUE(flight.Begin("other", Later())) << "keys are independent";
  SingleFlight::Lead other(&flight, "other");
  ended = true;
  lead->End();
  follower.join();
  EXPECT_FALSE(follower_led.load());
  lead.reset();  // End() was called: the destructor does nothing more
  EXPECT_TRUE(flight.Begin("file", Later())) << "after the lead ended, a new caller leads";
  SingleFlight::Lead again(&flight, "file");
}

TEST(SingleFlightTest, AFollowerGivesUpAtItsDeadline) {
  SingleFlight flight;
  ASSERT_TRUE(flight.Begin("file", Later()));
  SingleFlight::Lead lead(&flight, "file");
  const TimePoint start = SystemClock()->Now();
  EXPECT_FALSE(flight.Begin("file", start + std::chrono::milliseconds(20)));
  EXPECT_GE(SystemClock()->Now() - start, std::chrono::milliseconds(20));
}

}  // namespace
}  // namespace hfm
