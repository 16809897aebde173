// GETs sized from the measured link, driven without a mount: a FakeHub whose
// GETs take 100 ms (of a FakeClock) to their first byte, or none, read by a
// sequential reader and by a random one through the reader, the scheduler
// and the memory budget as a mount wires them.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "fs/read/link_estimator.h"
#include "fs/read/readahead_window.h"
#include "tests/eventually.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/read/read_path_rig.h"

namespace hfm {
namespace {

using testing::Pattern;
using testing::ReadPathRig;
using testing::WiredUnits;

constexpr uint32_t kBlock = ReadPathRig::kBlock;
constexpr uint32_t kFileBlocks = 128;
constexpr uint32_t kFetchThreads = 4;      // the rig's fetch queue
constexpr uint32_t kLargestGet = 8;        // blocks (-o fetch_size)
constexpr uint64_t kStart = 8 * kBlock;    // the budget's working limit at first
constexpr uint64_t kCeiling = 64 * kBlock; // -o max_memory

class NoVerdicts : public VerdictListener {
 public:
  void OnVerified(const ContentHash&) override {}
  void OnMismatch(const ContentHash&) override {}
};

class LinkSizingTest : public ::testing::Test {
 protected:
  explicit LinkSizingTest(uint64_t ceiling = kCeiling)
      : rig_(ceiling, kStart),
        link_(LinkEstimator::Options{.block_size = kBlock, .fetch_threads = kFetchThreads,
                                     .max_fetch_blocks = kLargestGet, .max_memory = ceiling}) {
    rig_.env.clock = &clock_;
    rig_.env.link = &link_;
  }

  struct File {
    std::string bytes;
    FileLocation where;
    std::shared_ptr<WiredUnits> units;
  };
  File MakeFile(const std::string& name, int seed) {
    File f;
    f.bytes = Pattern(kFileBlocks * kBlock, seed);
    f.where = rig_.AddFile(name, f.bytes);
    f.units = std::make_shared<WiredUnits>(rig_, HashBytes(ContentHash::Kind::kSha256, f.bytes), f.bytes.size(),
                                           &verdicts_);
    return f;
  }

  // Reads `size` bytes at `offset` as a handle with `window` would.
  void Read(File& f, ReadaheadWindow* window, uint64_t offset, size_t size) {
    std::string out(size, '\0');
    auto n = f.units->reader.Read(f.where, offset, std::span(out.data(), out.size()), window->OnRead(offset, size));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    ASSERT_EQ(out.substr(0, *n), f.bytes.substr(offset, *n));
  }

  void ReadSequentially(File& f) {
    // A small cap of its own: the link's in-flight blocks raise it.
    ReadaheadWindow window(kBlock, 4, &link_);
    for (uint32_t i = 0; i < kFileBlocks; ++i) Read(f, &window, uint64_t{i} * kBlock, kBlock);
  }

  void WaitQuiet() {
    ASSERT_TRUE(::hfm::testing::Eventually([&] { return rig_.budget.used() == 0; }))
        << "fetches still running after 20 s";
  }

  uint64_t LongestGet() {
    const auto lengths = rig_.hub.fetch_lengths();
    return lengths.empty() ? 0 : *std::max_element(lengths.begin(), lengths.end());
  }

  FakeClock clock_;
  NoVerdicts verdicts_;
  ReadPathRig rig_;
  LinkEstimator link_;
};

TEST_F(LinkSizingTest, OnAFarLinkASequentialReadersGetsGrowAndFillTheBandwidthDelayProduct) {
  rig_.hub.SetFirstByteDelay(&clock_, std::chrono::milliseconds(100));
  File a = MakeFile("a.bin", 1);
  ReadSequentially(a);
  WaitQuiet();
  EXPECT_EQ(link_.fetch_blocks(), kLargestGet);
  EXPECT_GT(LongestGet(), kBlock) << "every GET stayed one block";
  EXPECT_GT(rig_.budget.limit(), kStart) << "the working limit stayed where it started";
  EXPECT_LE(rig_.budget.limit(), kCeiling);

  // In flight for one reader, while the server holds every GET: the link's
  // bandwidth-delay product (fetch_threads GETs of the largest size), not
  // the starting limit's share, and never past the ceiling.
  File b = MakeFile("b.bin", 2);
  rig_.hub.HoldFetches(true);
  b.units->reader.ReadAhead(b.where, 0, kFileBlocks - 1);
  EXPECT_GE(rig_.budget.used(), link_.in_flight_bytes());
  EXPECT_LE(rig_.budget.peak(), kCeiling);
  rig_.hub.HoldFetches(false);
  WaitQuiet();
}

TEST_F(LinkSizingTest, OnANearLinkEveryGetStaysOneBlock) {
  File a = MakeFile("a.bin", 3);
  ReadSequentially(a);
  WaitQuiet();
  EXPECT_EQ(link_.fetch_blocks(), 1u);
  EXPECT_EQ(LongestGet(), kBlock);
  EXPECT_EQ(rig_.budget.limit(), kStart);
}

TEST_F(LinkSizingTest, OnAFarLinkRandomReadsFetchAtMostTheirBlock) {
  rig_.hub.SetFirstByteDelay(&clock_, std::chrono::milliseconds(100));
  File a = MakeFile("a.bin", 4);
  ReadSequentially(a);  // the link is measured far, GETs have grown
  WaitQuiet();
  ASSERT_EQ(link_.fetch_blocks(), kLargestGet);
  File b = MakeFile("b.bin", 5);
  ReadaheadWindow window(kBlock, 4, &link_);
  const int before = rig_.hub.fetches.load();
  const uint64_t fetched_before = rig_.hub.fetched_bytes.load();
  constexpr int kReads = 24;
  for (int k = 0; k < kReads; ++k) {
    const uint64_t block = (static_cast<uint64_t>(k) * 37 + 11) % kFileBlocks;
    Read(b, &window, block * kBlock + 1000, 16 * 1024);
    WaitQuiet();
  }
  const auto lengths = rig_.hub.fetch_lengths();
  for (size_t i = static_cast<size_t>(before); i < lengths.size(); ++i) EXPECT_LE(lengths[i], kBlock) << "GET " << i;
  EXPECT_LE(rig_.hub.fetched_bytes.load() - fetched_before, uint64_t{kReads} * kBlock);
}

TEST_F(LinkSizingTest, ReadaheadWaitsForRoomForAWholeGetRatherThanSendAOneBlockGet) {
  for (int i = 0; i < LinkEstimator::kMinSamples; ++i) {
    link_.OnGet(std::chrono::milliseconds(100), kBlock, Duration::zero());
  }
  ASSERT_EQ(link_.fetch_blocks(), kLargestGet);
  rig_.budget.SetInFlightTarget(link_.in_flight_bytes());
  const uint64_t share = rig_.budget.limit() - rig_.budget.limit() / 4;
  // Other files' GETs hold all but three blocks of prefetch's share.
  const uint64_t others = share - 3 * kBlock;
  rig_.budget.Reserve(others);
  File f = MakeFile("f.bin", 8);
  f.units->reader.ReadAhead(f.where, 0, kFileBlocks - 1);
  for (uint32_t i = 0; i < kFileBlocks; ++i) ASSERT_FALSE(f.units->scheduler.InFlight(i)) << "block " << i;
  // Their GETs end: whole GETs go out.
  rig_.budget.Release(others);
  f.units->reader.ReadAhead(f.where, 0, 2 * kLargestGet - 1);
  WaitQuiet();
  EXPECT_EQ(rig_.hub.fetch_lengths(), (std::vector<uint64_t>{kLargestGet * kBlock, kLargestGet * kBlock}));
}

// A ceiling too small for fetch_threads GETs of the largest size: GETs grow
// only as far as fit, and what is in flight stays under it.
class SmallCeilingTest : public LinkSizingTest {
 protected:
  SmallCeilingTest() : LinkSizingTest(16 * kBlock) {}
};

TEST_F(SmallCeilingTest, GetsGrowOnlyAsFarAsTheCeilingHolds) {
  rig_.hub.SetFirstByteDelay(&clock_, std::chrono::milliseconds(100));
  File a = MakeFile("a.bin", 6);
  ReadSequentially(a);
  WaitQuiet();
  // Four GETs in three quarters of 16 blocks: 3, rounded down to 2.
  EXPECT_EQ(link_.fetch_blocks(), 2u);
  EXPECT_LE(LongestGet(), 2u * kBlock);
  File b = MakeFile("b.bin", 7);
  rig_.hub.HoldFetches(true);
  b.units->reader.ReadAhead(b.where, 0, kFileBlocks - 1);
  EXPECT_LE(rig_.budget.used(), 16u * kBlock);
  EXPECT_LE(rig_.budget.peak(), 16u * kBlock);
  rig_.hub.HoldFetches(false);
  WaitQuiet();
}

}  // namespace
}  // namespace hfm
