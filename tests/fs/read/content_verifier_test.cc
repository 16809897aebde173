// ContentVerifier on its own, beside a real FetchScheduler: the hash fed out
// of order, the verdict either way, and the failed-verification mark.
#include "fs/read/content_verifier.h"

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

class RecordingVerdicts : public VerdictListener {
 public:
  void OnVerified(const ContentHash&) override { verified++; }
  void OnMismatch(const ContentHash&) override { mismatched++; }
  std::atomic<int> verified{0};
  std::atomic<int> mismatched{0};
};

using Units = testing::WiredUnits;

std::shared_ptr<const std::string> Block(const std::string& bytes, uint32_t index) {
  return std::make_shared<const std::string>(bytes.substr(uint64_t{index} * kBlock, kBlock));
}

TEST(ContentVerifierTest, BlocksHashedOutOfOrderVerifyAndMarkTheFileComplete) {
  ReadPathRig rig;
  const std::string bytes = Pattern(4 * kBlock, 1);
  const FileLocation where = rig.AddFile("w.bin", bytes);
  const ContentHash hash = HashBytes(ContentHash::Kind::kSha256, bytes);
  RecordingVerdicts verdicts;
  auto units = std::make_shared<Units>(rig, hash, bytes.size(), &verdicts);
  ContentVerifier& v = units->verifier;
  // Block 0's GET is slow: later blocks arrive first and wait in the stash.
  rig.hub.HoldFetches(true);
  units->scheduler.Schedule(where, 0, 0, 0, /*demand_last=*/-1);
  for (uint32_t index : {2u, 1u, 3u}) v.AdvanceHash(&where, 0, index, Block(bytes, index));
  EXPECT_EQ(v.frontier(), 0u) << "the hash took a block before block 0";
  EXPECT_FALSE(v.verified());
  rig.hub.HoldFetches(false);
  ASSERT_TRUE(testing::Eventually([&] { return v.verified(); }));
  EXPECT_TRUE(v.RoundVerified(0));
  EXPECT_EQ(verdicts.verified.load(), 1);
  rig.Drain();
  // Only block 0 was stored: the verdict holds, but the cache cannot call
  // the file complete.
  EXPECT_FALSE(v.complete());
}

TEST(ContentVerifierTest, AMismatchStartsANewRoundAndMarksTheStore) {
  ReadPathRig rig;
  const std::string bytes = Pattern(3 * kBlock, 2);
  std::string wrong = bytes;
  wrong[kBlock + 7] ^= 1;
  const FileLocation where = rig.AddFile("w.bin", bytes, wrong);
  const ContentHash hash = HashBytes(ContentHash::Kind::kSha256, bytes);
  RecordingVerdicts verdicts;
  auto units = std::make_shared<Units>(rig, hash, bytes.size(), &verdicts);
  Status st = units->verifier.EnsureVerified(where, rig.env.clock->Now() + rig.env.options.read_timeout);
  EXPECT_EQ(st.code(), Status::Code::kDataLoss);
  EXPECT_EQ(verdicts.mismatched.load(), 1);
  EXPECT_EQ(units->scheduler.round(), 1u);
  EXPECT_FALSE(units->verifier.verified());
  EXPECT_TRUE(units->verifier.MustVerifyBeforeServing());
  EXPECT_EQ(units->verifier.CurrentFailure().code(), Status::Code::kDataLoss);
  auto marked = rig.cache.blocks->FailedVerification(hash);
  EXPECT_TRUE(marked.ok() && *marked);
}

TEST(ContentVerifierTest, AFileMarkedFailedDropsItsBlocksAndVerifiesBeforeServing) {
  ReadPathRig rig;
  const std::string bytes = Pattern(3 * kBlock, 3);
  const FileLocation where = rig.AddFile("w.bin", bytes);
  const ContentHash hash = HashBytes(ContentHash::Kind::kSha256, bytes);
  std::string bad = bytes.substr(0, kBlock);
  bad[3] ^= 1;
  ASSERT_TRUE(rig.cache.blocks->PutBlock(hash, 0, bad).ok());
  ASSERT_TRUE(rig.cache.blocks->MarkFailedVerification(hash).ok());
  RecordingVerdicts verdicts;
  auto units = std::make_shared<Units>(rig, hash, bytes.size(), &verdicts);
  EXPECT_TRUE(units->verifier.MustVerifyBeforeServing());
  auto has = rig.cache.blocks->HasBlock(hash, 0);
  EXPECT_TRUE(has.ok() && !*has) << "a block stored under the mark was kept";
  ASSERT_TRUE(units->verifier.EnsureVerified(where, rig.env.clock->Now() + rig.env.options.read_timeout).ok());
  rig.Drain();
  EXPECT_TRUE(units->verifier.complete());
  auto marked = rig.cache.blocks->FailedVerification(hash);
  EXPECT_TRUE(marked.ok() && !*marked) << "the mark outlived a verified file";
}

}  // namespace
}  // namespace hfm
