// Per-file read state grows with the blocks touched, not with the listed
// size: a hostile listing may claim any size, and each open of a 2^50-byte
// file once cost 1 GiB (one byte per block, allocated up front).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "fs/read/block_table.h"
#include "tests/fs/read/read_path_rig.h"
#include "tests/heap_in_use.h"

namespace hfm {
namespace {

using testing::ReadPathRig;

class NoVerdicts : public VerdictListener {
 public:
  void OnVerified(const ContentHash&) override {}
  void OnMismatch(const ContentHash&) override {}
};

struct Units : NoVerdicts, testing::WiredUnits {
  Units(ReadPathRig& rig, const ContentHash& hash, uint64_t size) : WiredUnits(rig, hash, size, this) {}
};

TEST(PerFileStateTest, HugeListedFilesCostWhatTheirTouchedBlocksCost) {
  if (!testing::HeapIsMeasurable()) GTEST_SKIP() << "the sanitizer's allocator is not seen by mallinfo2";
  ReadPathRig rig;
  // 2^40 bytes in the rig's 64 KiB blocks: 16 Mi blocks, so a dense table
  // of one byte per block costs 16 MiB per file.
  constexpr uint64_t kHuge = uint64_t{1} << 40;
  constexpr int kFiles = 4;
  const uint64_t before = testing::HeapInUse();
  std::vector<std::shared_ptr<Units>> files;
  for (int i = 0; i < kFiles; ++i) {
    auto units = std::make_shared<Units>(rig, HashBytes(ContentHash::Kind::kSha256, std::to_string(i)), kHuge);
    FetchScheduler& s = units->scheduler;
    const uint32_t last = s.block_count() - 1;
    // What a read at the start and one at the end leave behind.
    ASSERT_TRUE(s.LearnBlockStates(s.round(), 0, 1));
    ASSERT_TRUE(s.LearnBlockStates(s.round(), last - 1, last));
    s.NoteStored(s.round(), 0);
    s.NoteMissing(last);
    files.push_back(std::move(units));
  }
  const uint64_t grown = testing::HeapInUse() - before;
  EXPECT_LT(grown, uint64_t{1} << 20) << "per-file state of " << kFiles << " files of 2^40 bytes took " << grown
                                      << " bytes";
  // The states were kept all the same.
  for (const auto& units : files) {
    EXPECT_TRUE(units->scheduler.IsStored(0));
    EXPECT_FALSE(units->scheduler.IsStored(units->scheduler.block_count() - 1));
  }
}

TEST(BlockTableTest, KeepsValuesAcrossPagesAndResets) {
  enum class State : uint8_t { kUnknown, kPresent, kAbsent };
  BlockTable<State> table(State::kUnknown);
  const uint32_t far = 0xFFFFFFF0u;
  table.Set(3, State::kPresent);
  table.Set(far, State::kAbsent);
  table.Set(5000, State::kUnknown);  // the fill: no page needed, none made
  EXPECT_EQ(table.Get(3), State::kPresent);
  EXPECT_EQ(table.Get(4), State::kUnknown);
  EXPECT_EQ(table.Get(far), State::kAbsent);
  EXPECT_EQ(table.Get(5000), State::kUnknown);
  table.ReplaceAll(State::kPresent, State::kUnknown);
  EXPECT_EQ(table.Get(3), State::kUnknown);
  EXPECT_EQ(table.Get(far), State::kAbsent);
  table.Reset(State::kAbsent);
  EXPECT_EQ(table.Get(3), State::kAbsent);
  EXPECT_EQ(table.Get(12345678), State::kAbsent);
  table.Set(7, State::kPresent);
  EXPECT_EQ(table.Get(7), State::kPresent);
  EXPECT_EQ(table.Get(8), State::kAbsent);
}

}  // namespace
}  // namespace hfm
