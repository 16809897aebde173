// LinkEstimator on its own: the GET size it derives from measured round
// trips and rates, as plain arithmetic (no clock, no network).
#include "fs/read/link_estimator.h"

#include <gtest/gtest.h>

#include <chrono>

namespace hfm {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr uint64_t kMiB = 1ull << 20;

LinkEstimator::Options Defaults() {
  return LinkEstimator::Options{.block_size = 1 << 20, .fetch_threads = 16, .max_fetch_blocks = 16,
                                .max_memory = 192 * kMiB};
}

// A GET of one block at `mib_per_s` whose first byte came after `rtt`.
void Feed(LinkEstimator* link, Duration rtt, double mib_per_s, int times = 1) {
  const auto body = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(1.0 / mib_per_s));
  for (int i = 0; i < times; ++i) link->OnGet(rtt, kMiB, body);
}

TEST(LinkEstimatorTest, StartsAtOneBlock) {
  LinkEstimator link(Defaults());
  EXPECT_EQ(link.fetch_blocks(), 1u);
  EXPECT_EQ(link.in_flight_bytes(), 16 * kMiB);
}

TEST(LinkEstimatorTest, ALoopbackLinkStaysAtOneBlockHoweverFast) {
  LinkEstimator link(Defaults());
  Feed(&link, microseconds(300), 3000, 40);
  EXPECT_EQ(link.fetch_blocks(), 1u);
  // A slow local server (Python) answers in a few ms.
  LinkEstimator slow(Defaults());
  Feed(&slow, milliseconds(8), 300, 40);
  EXPECT_EQ(slow.fetch_blocks(), 1u);
}

TEST(LinkEstimatorTest, AFewSlowAnswersDoNotGrowTheSize) {
  LinkEstimator link(Defaults());
  Feed(&link, milliseconds(100), 25, LinkEstimator::kMinSamples - 1);
  EXPECT_EQ(link.fetch_blocks(), 1u);
  Feed(&link, milliseconds(100), 25);
  EXPECT_EQ(link.fetch_blocks(), 8u);
}

TEST(LinkEstimatorTest, GetsCoverFourTimesTheConnectionsBandwidthDelayProduct) {
  // 25 MiB/s per connection (a CDN's cap).
  struct Case {
    int rtt_ms;
    uint32_t blocks;
  };
  // 20 ms: 4 * 0.5 MiB = 2 MiB; 50 ms: 5 MiB, rounded up to 8; 100 ms:
  // 10 MiB, but 16 GETs in flight must fit in 3/4 of 192 MiB: 8.
  for (const Case& c : {Case{20, 2}, Case{50, 8}, Case{100, 8}}) {
    LinkEstimator link(Defaults());
    Feed(&link, milliseconds(c.rtt_ms), 25, LinkEstimator::kMinSamples);
    EXPECT_EQ(link.fetch_blocks(), c.blocks) << c.rtt_ms << " ms";
    EXPECT_EQ(link.in_flight_bytes(), 16 * c.blocks * kMiB) << c.rtt_ms << " ms";
  }
}

TEST(LinkEstimatorTest, TheLargestGetAndTheMemoryCeilingBoundTheSize) {
  auto options = Defaults();
  options.max_fetch_blocks = 1;  // -o fetch_size=1M: sizing off
  LinkEstimator fixed(options);
  Feed(&fixed, milliseconds(100), 25, LinkEstimator::kMinSamples);
  EXPECT_EQ(fixed.fetch_blocks(), 1u);

  options = Defaults();
  options.max_memory = 32 * kMiB;  // 16 GETs in 24 MiB: one block each
  LinkEstimator small(options);
  Feed(&small, milliseconds(100), 25, LinkEstimator::kMinSamples);
  EXPECT_EQ(small.fetch_blocks(), 1u);
}

TEST(LinkEstimatorTest, TheRoundTripIsTheWindowsMinimum) {
  LinkEstimator link(Defaults());
  Feed(&link, milliseconds(20), 25, LinkEstimator::kMinSamples);
  // A GET that queued at the server, or paid a fresh connection's handshake.
  Feed(&link, milliseconds(300), 25);
  EXPECT_EQ(link.fetch_blocks(), 2u);
  EXPECT_EQ(link.rtt(), milliseconds(20));
  // The link moved: once the old samples leave the window, the new round
  // trip rules.
  Feed(&link, milliseconds(100), 25, LinkEstimator::kWindow);
  EXPECT_EQ(link.rtt(), milliseconds(100));
  EXPECT_EQ(link.fetch_blocks(), 8u);
}

TEST(LinkEstimatorTest, APartialBlockIsNoMeasureOfTheRate) {
  LinkEstimator link(Defaults());
  for (int i = 0; i < LinkEstimator::kMinSamples; ++i) link.OnGet(milliseconds(100), 100, Duration::zero());
  // A file's last 100 bytes, in no measurable time after a far first byte.
  link.OnGet(milliseconds(100), 100, Duration::zero());
  EXPECT_EQ(link.fetch_blocks(), 1u);
  // A whole block in no measurable time: as fast as it gets.
  link.OnGet(milliseconds(100), kMiB, Duration::zero());
  EXPECT_EQ(link.fetch_blocks(), 8u);
}

TEST(LinkEstimatorTest, ReportsWhenTheSizeChanges) {
  LinkEstimator link(Defaults());
  for (int i = 1; i < LinkEstimator::kMinSamples; ++i) {
    EXPECT_FALSE(link.OnGet(milliseconds(100), kMiB, milliseconds(40))) << "too few GETs to say";
  }
  EXPECT_TRUE(link.OnGet(milliseconds(100), kMiB, milliseconds(40)));
  EXPECT_FALSE(link.OnGet(milliseconds(100), kMiB, milliseconds(40)));
}

}  // namespace
}  // namespace hfm

namespace hfm {
namespace {

// A far link keeps more GETs in flight (each connection is capped and pays a
// round trip per GET), sized so they all fit three quarters of the ceiling.
TEST(LinkEstimatorTest, AFarLinkRunsFarFetchThreadsGetsWithinTheCeiling) {
  LinkEstimator::Options options = Defaults();
  options.far_fetch_threads = 32;
  LinkEstimator link(options);
  EXPECT_EQ(link.parallel(), 16u);  // near until measured
  Feed(&link, milliseconds(100), 25, 40);
  EXPECT_EQ(link.parallel(), 32u);
  EXPECT_EQ(link.fetch_blocks(), 4u);  // 32 GETs of 4 MiB in 144 MiB; 8 MiB would not fit
  EXPECT_LE(link.in_flight_bytes(), 192 * kMiB / 4 * 3);
  LinkEstimator near(options);
  Feed(&near, microseconds(300), 3000, 40);
  EXPECT_EQ(near.parallel(), 16u);
}

}  // namespace
}  // namespace hfm
