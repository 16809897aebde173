// Two writers on one store (probe 5 of issue 14): a mount and a prefetch
// whose mirror flips a byte, each with its own read path over the same
// cache. Whatever the other writer stores, or drops and stores again, between
// this writer's hash and its MarkComplete, the file is marked complete only
// if the stored bytes are the ones this writer hashed.
#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <memory>
#include <string>

#include "tests/fs/fs_test_util.h"
#include "tests/fs/read/read_path_rig.h"
#include "tests/fs/recording_store.h"

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

struct Units : NoVerdicts, testing::WiredUnits {
  Units(ReadPathRig& rig, const ContentHash& hash, uint64_t size) : WiredUnits(rig, hash, size, this) {}
};

// Forwards to the shared store; runs `before_mark` (once) on the first
// MarkComplete, as if the other writer got its turn just then.
class InterleavingStore : public testing::RecordingStore {
 public:
  explicit InterleavingStore(BlockStore* base) : RecordingStore(base) {}
  Status MarkComplete(const ContentHash& f, uint64_t size, uint64_t epoch) override {
    if (before_mark) std::exchange(before_mark, nullptr)();
    return RecordingStore::MarkComplete(f, size, epoch);
  }
  std::function<void()> before_mark;
};

Result<std::string> ReadAt(ContentReader& reader, const FileLocation& where, uint64_t offset, size_t n) {
  std::string out(n, '\0');
  auto got = reader.Read(where, offset, std::span(out.data(), out.size()), ReadaheadPlan{});
  if (!got.ok()) return got.status();
  out.resize(*got);
  return out;
}

class TwoWritersTest : public ::testing::Test {
 protected:
  TwoWritersTest() : shared_(mount_.cache.blocks.get()) {
    good_ = Pattern(3 * kBlock, 5);
    flipped_ = good_;
    flipped_[9] ^= 1;  // in block 0
    hash_ = HashBytes(ContentHash::Kind::kSha256, good_);
    mount_where_ = mount_.AddFile("m.bin", good_);
    prefetch_where_ = prefetch_.AddFile("m.bin", good_, flipped_);
    // The mount's writes go through the interleaving store; the prefetch
    // writes straight into the same cache.
    mount_.env.store = &shared_;
    prefetch_.env.store = mount_.cache.blocks.get();
  }

  ~TwoWritersTest() override { OpenPrefetchWriter(); }

  // The prefetch fetches block 0 from its flipping mirror before the mount
  // stores anything, but its cache writer is held, so it stores the block
  // only at PrefetchStores(). It stops before the end: no verdict of its own.
  void PrefetchFetchesFlippedBlockZero() {
    prefetch_.writer.Submit([held = writer_gate_.get_future().share()] { held.wait(); });
    auto prefetch = std::make_shared<Units>(prefetch_, hash_, good_.size());
    auto got = ReadAt(prefetch->reader, prefetch_where_, 0, kBlock);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, flipped_.substr(0, kBlock));
  }

  void PrefetchStores() {
    OpenPrefetchWriter();
    prefetch_.Drain();
  }

  void OpenPrefetchWriter() {
    if (!gate_open_) writer_gate_.set_value();
    gate_open_ = true;
  }

  // The mount reads the whole file (its hash matches its own bytes).
  void MountReadsEverything() {
    auto mount = std::make_shared<Units>(mount_, hash_, good_.size());
    auto got = ReadAt(mount->reader, mount_where_, 0, good_.size());
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, good_);
    mount_.Drain();
  }

  std::string StoredBlockZero() {
    auto got = mount_.cache.blocks->GetBlock(hash_, 0);
    return got.ok() && got->has_value() ? **got : std::string();
  }

  bool Complete() {
    auto c = mount_.cache.blocks->IsComplete(hash_);
    return c.ok() && *c;
  }

  ReadPathRig mount_;
  ReadPathRig prefetch_;
  std::promise<void> writer_gate_;
  bool gate_open_ = false;
  InterleavingStore shared_;
  std::string good_, flipped_;
  ContentHash hash_;
  FileLocation mount_where_, prefetch_where_;
};

TEST_F(TwoWritersTest, AnotherWritersBytesDoNotReplaceAStoredBlock) {
  PrefetchFetchesFlippedBlockZero();
  // After the mount stored its good block 0 and hashed its own bytes.
  shared_.before_mark = [this] { PrefetchStores(); };
  MountReadsEverything();
  // The mount's good block 0 stayed: the file is complete with the bytes
  // that were hashed, and a fresh reader gets them from the cache alone.
  EXPECT_EQ(StoredBlockZero(), good_.substr(0, kBlock));
  EXPECT_TRUE(Complete());
  ReadPathRig fresh;
  fresh.env.store = mount_.cache.blocks.get();
  const FileLocation where = fresh.AddFile("m.bin", good_, flipped_);  // its mirror would lie
  auto units = std::make_shared<Units>(fresh, hash_, good_.size());
  auto got = ReadAt(units->reader, where, 0, good_.size());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, good_);
}

TEST_F(TwoWritersTest, ADropAndRestoreByAnotherWriterIsNotCertified) {
  PrefetchFetchesFlippedBlockZero();
  shared_.before_mark = [this] {
    // The other writer dropped the file (its own mismatch, or an eviction)
    // and stored it again: its flipped block 0, and the rest.
    ASSERT_TRUE(mount_.cache.blocks->DropFile(hash_, good_.size()).ok());
    PrefetchStores();
    for (uint32_t i = 1; i < 3; ++i) {
      ASSERT_TRUE(mount_.cache.blocks->PutBlock(hash_, i, good_.substr(uint64_t{i} * kBlock, kBlock)).ok());
    }
  };
  MountReadsEverything();
  EXPECT_EQ(StoredBlockZero(), flipped_.substr(0, kBlock));
  EXPECT_FALSE(Complete()) << "the mount certified bytes it never hashed";
}

}  // namespace
}  // namespace hfm
