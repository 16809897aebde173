// ContentReader on its own, beside a real FetchScheduler and ContentVerifier:
// where a read's bytes come from, and the end-of-file verdict.
#include "fs/read/content_reader.h"

#include <gtest/gtest.h>

#include "tests/eventually.h"
#include "tests/fs/fs_test_util.h"
#include "tests/fs/read/read_path_rig.h"

namespace hfm {
namespace {

using testing::Pattern;
using testing::ReadPathRig;

constexpr uint32_t kBlock = ReadPathRig::kBlock;

class NoVerdicts : public VerdictListener {
 public:
  void OnVerified(const ContentHash&) override {}
  void OnMismatch(const ContentHash&) override {}
};

// Owns the listener its units report to.
struct Units : NoVerdicts, testing::WiredUnits {
  Units(ReadPathRig& rig, const ContentHash& hash, uint64_t size) : WiredUnits(rig, hash, size, this) {}
};

Result<std::string> ReadAt(ContentReader& reader, const FileLocation& where, uint64_t offset, size_t n,
                           ReadaheadPlan plan = {}) {
  std::string out(n, '\0');
  auto got = reader.Read(where, offset, std::span(out.data(), out.size()), plan);
  if (!got.ok()) return got.status();
  out.resize(*got);
  return out;
}

TEST(ContentReaderTest, ASequentialReadFetchesVerifiesAndThenServesFromTheCacheAlone) {
  ReadPathRig rig;
  const std::string bytes = Pattern(3 * kBlock + 10, 1);
  const FileLocation where = rig.AddFile("w.bin", bytes);
  const ContentHash hash = HashBytes(ContentHash::Kind::kSha256, bytes);
  {
    auto units = std::make_shared<Units>(rig, hash, bytes.size());
    std::string all;
    for (uint64_t offset = 0; offset < bytes.size(); offset += kBlock) {
      auto part = ReadAt(units->reader, where, offset, kBlock);
      ASSERT_TRUE(part.ok()) << part.status().ToString();
      all += *part;
    }
    EXPECT_EQ(all, bytes);
    EXPECT_TRUE(units->verifier.complete()) << "the reader saw the end before the file was complete";
  }
  rig.Drain();
  const int fetches = rig.hub.fetches.load();
  auto units = std::make_shared<Units>(rig, hash, bytes.size());
  auto again = ReadAt(units->reader, where, kBlock + 5, 2 * kBlock);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, bytes.substr(kBlock + 5, 2 * kBlock));
  EXPECT_EQ(rig.hub.fetches.load(), fetches) << "a complete file's read went to the network";
}

TEST(ContentReaderTest, AReaderReachingTheEndOfWrongBytesGetsDataLossNotEof) {
  ReadPathRig rig;
  const std::string bytes = Pattern(3 * kBlock, 2);
  std::string wrong = bytes;
  wrong[10] ^= 1;
  const FileLocation where = rig.AddFile("w.bin", bytes, wrong);
  auto units = std::make_shared<Units>(rig, HashBytes(ContentHash::Kind::kSha256, bytes), bytes.size());
  Status last;
  for (uint64_t offset = 0; offset < bytes.size(); offset += kBlock) {
    auto part = ReadAt(units->reader, where, offset, kBlock);
    last = part.status();
    if (!part.ok()) break;
  }
  EXPECT_EQ(last.code(), Status::Code::kDataLoss);
}

TEST(ContentReaderTest, AFirstSmallSeekGetsJustItsBytes) {
  ReadPathRig rig;
  const std::string bytes = Pattern(8 * kBlock, 3);
  const FileLocation where = rig.AddFile("w.bin", bytes);
  auto units = std::make_shared<Units>(rig, HashBytes(ContentHash::Kind::kSha256, bytes), bytes.size());
  ReadaheadPlan alone;
  alone.alone = true;
  auto got = ReadAt(units->reader, where, 5 * kBlock + 100, 4096, alone);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, bytes.substr(5 * kBlock + 100, 4096));
  EXPECT_EQ(rig.hub.fetched_bytes.load(), 4096u) << "the seek fetched more than its bytes";
  EXPECT_EQ(rig.counters.direct_reads.load(), 1u);
}

}  // namespace
}  // namespace hfm
