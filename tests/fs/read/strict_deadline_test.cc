// verify=strict: a read verifies the whole file before serving a byte, and
// must still finish or fail within one read timeout in total, however many
// blocks that takes. Time is a FakeClock's.
#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "tests/eventually.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/read/read_path_rig.h"

namespace hfm {
namespace {

using testing::Pattern;
using testing::ReadPathRig;

constexpr uint32_t kBlock = ReadPathRig::kBlock;
constexpr std::chrono::milliseconds kTimeout{1000};

class NoVerdicts : public VerdictListener {
 public:
  void OnVerified(const ContentHash&) override {}
  void OnMismatch(const ContentHash&) override {}
};

struct Units : NoVerdicts, testing::WiredUnits {
  Units(ReadPathRig& rig, const ContentHash& hash, uint64_t size) : WiredUnits(rig, hash, size, this) {}
};

TEST(StrictDeadlineTest, ATimeoutBoundsTheWholeVerificationNotEachBlock) {
  // A budget of one block: each block's GET starts only when the
  // verification reaches it, so no GET's own age cuts the wait short.
  ReadPathRig rig(/*max_memory=*/kBlock);
  FakeClock clock;
  rig.env.clock = &clock;
  rig.env.options.strict = true;
  rig.env.options.read_timeout = kTimeout;
  const std::string bytes = Pattern(3 * kBlock, 8);
  const FileLocation where = rig.AddFile("s.bin", bytes);
  auto units = std::make_shared<Units>(rig, HashBytes(ContentHash::Kind::kSha256, bytes), bytes.size());

  rig.hub.HoldFetchesFrom(0);
  auto read = std::async(std::launch::async, [&] {
    std::string out(100, '\0');
    return units->reader.Read(where, 0, std::span(out.data(), out.size()), ReadaheadPlan{});
  });
  // Block 0 is slow: 600 ms of the read's 1000 pass before it comes.
  ASSERT_TRUE(testing::Eventually([&] { return clock.waiters() > 0 && rig.hub.held() == 1; }));
  clock.Advance(std::chrono::milliseconds(600));
  rig.hub.HoldFetchesFrom(kBlock);
  // Block 1 is slow too; once the read waits on it, 600 ms more put it past
  // its one timeout (a deadline renewed per block would still be 400 ms off).
  ASSERT_TRUE(testing::Eventually([&] {
    return !units->scheduler.InFlight(0) && units->scheduler.InFlight(1) && rig.hub.held() == 1 &&
           clock.waiters() > 0;
  }));
  clock.Advance(std::chrono::milliseconds(600));
  const bool ended = testing::Eventually(
      [&] { return read.wait_for(std::chrono::seconds(0)) == std::future_status::ready; });
  rig.hub.HoldFetchesFrom(UINT64_MAX);  // lets a read that missed its deadline end
  ASSERT_TRUE(ended) << "a strict read outlived its timeout";
  auto got = read.get();
  EXPECT_EQ(got.status().code(), Status::Code::kDeadlineExceeded) << got.status().ToString();
  rig.Drain();
}

}  // namespace
}  // namespace hfm
