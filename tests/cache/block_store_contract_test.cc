// The BlockStore and MetaStore contracts, run against both implementations:
// LMDB (in a fresh temporary directory) and memory.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "cache/block_store.h"
#include "tests/cache/cache_test_util.h"

namespace hfm {
namespace {

using testing::BlockBytes;
using testing::FileHash;
using testing::Sha256;
using testing::TempDir;

constexpr uint32_t kBlock = 4096;
constexpr uint64_t kQuota = 64ull << 20;

struct LmdbImpl {
  TempDir dir;
  Cache Open() {
    CacheOptions options;
    options.directory = dir.path() + "/cache";
    options.max_bytes = kQuota;
    options.block_size = kBlock;
    auto cache = OpenLmdbCache(options);
    EXPECT_TRUE(cache.ok()) << cache.status().ToString();
    return std::move(cache).value();
  }
};

struct MemoryImpl {
  Cache Open() { return NewMemoryCache(kBlock, kQuota); }
};

template <typename Impl>
class CacheContractTest : public ::testing::Test {
 protected:
  void SetUp() override { cache_ = impl_.Open(); }
  BlockStore& blocks() { return *cache_.blocks; }
  MetaStore& meta() { return *cache_.meta; }

  // Stores blocks 0..n-1 of a file of `size` bytes tagged `tag`.
  void PutFile(const ContentHash& file, uint32_t tag, uint64_t size) {
    for (uint64_t i = 0; i * kBlock < size; ++i) {
      const uint64_t len = std::min<uint64_t>(kBlock, size - i * kBlock);
      ASSERT_TRUE(blocks().PutBlock(file, i, BlockBytes(tag, i, len)).ok());
    }
  }

  bool Has(const ContentHash& file, uint32_t index) {
    auto r = blocks().HasBlock(file, index);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && *r;
  }

  bool Complete(const ContentHash& file) {
    auto r = blocks().IsComplete(file);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && *r;
  }

  Impl impl_;
  Cache cache_;  // after impl_: closed before the directory goes
};

struct ImplNames {
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, LmdbImpl> ? "Lmdb" : "Memory";
  }
};
using Impls = ::testing::Types<LmdbImpl, MemoryImpl>;
TYPED_TEST_SUITE(CacheContractTest, Impls, ImplNames);

TYPED_TEST(CacheContractTest, ReportsItsBlockSize) { EXPECT_EQ(this->blocks().block_size(), kBlock); }

TYPED_TEST(CacheContractTest, ReadsBackWholeAndPartialBlocks) {
  const ContentHash f = Sha256(1);
  const std::string data = BlockBytes(1, 3, kBlock);
  ASSERT_TRUE(this->blocks().PutBlock(f, 3, data).ok());

  std::string whole(kBlock, '\0');
  auto r = this->blocks().ReadBlock(f, 3, 0, whole);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(*r);
  EXPECT_EQ(whole, data);

  std::string part(100, '\0');
  r = this->blocks().ReadBlock(f, 3, 1000, part);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  EXPECT_EQ(part, data.substr(1000, 100));

  std::string tail(10, '\0');
  r = this->blocks().ReadBlock(f, 3, kBlock - 10, tail);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(tail, data.substr(kBlock - 10));

  auto got = this->blocks().GetBlock(f, 3);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, data);
}

TYPED_TEST(CacheContractTest, ReadingPastTheStoredBytesIsDataLoss) {
  const ContentHash f = Sha256(1);
  ASSERT_TRUE(this->blocks().PutBlock(f, 0, BlockBytes(1, 0, 100)).ok());  // a short last block
  std::string out(10, '\0');
  EXPECT_TRUE(this->blocks().ReadBlock(f, 0, 95, out).status().IsDataLoss());
  EXPECT_TRUE(this->blocks().ReadBlock(f, 0, 101, out).status().IsDataLoss());
  EXPECT_TRUE(this->blocks().ReadBlock(f, 0, 5000, std::span<char>()).status().IsDataLoss());
  auto edge = this->blocks().ReadBlock(f, 0, 90, out);  // ends exactly at the end
  EXPECT_TRUE(edge.ok() && *edge);
  auto empty_at_end = this->blocks().ReadBlock(f, 0, 100, std::span<char>());
  EXPECT_TRUE(empty_at_end.ok() && *empty_at_end);
}

TYPED_TEST(CacheContractTest, AbsentBlockIsAMissNotAnError) {
  const ContentHash f = Sha256(1);
  ASSERT_TRUE(this->blocks().PutBlock(f, 0, "x").ok());
  std::string out(1, '\0');
  auto r = this->blocks().ReadBlock(f, 1, 0, out);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  r = this->blocks().ReadBlock(Sha256(2), 0, 0, out);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  auto got = this->blocks().GetBlock(f, 1);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_FALSE(this->Has(f, 1));
  EXPECT_TRUE(this->Has(f, 0));
}

TYPED_TEST(CacheContractTest, RefusesEmptyAndOversizedBlocks) {
  EXPECT_EQ(this->blocks().PutBlock(Sha256(1), 0, "").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(this->blocks().PutBlock(Sha256(1), 0, std::string(kBlock + 1, 'x')).code(),
            Status::Code::kInvalidArgument);
  EXPECT_FALSE(this->Has(Sha256(1), 0));
}

TYPED_TEST(CacheContractTest, AStoredBlockIsNeverReplacedByOtherBytes) {
  // Another writer's bytes for a block already stored are refused, so a
  // writer that hashed the stored block can rely on it staying as hashed.
  const ContentHash f = Sha256(1);
  uint64_t first_epoch = 0, again_epoch = 0;
  ASSERT_TRUE(this->blocks().PutBlock(f, 0, "first", &first_epoch).ok());
  Status other = this->blocks().PutBlock(f, 0, "second!");
  EXPECT_TRUE(other.IsDataLoss()) << other.ToString();
  auto got = this->blocks().GetBlock(f, 0);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, "first");
  EXPECT_EQ(this->blocks().Stats().blocks, 1u);
  EXPECT_EQ(this->blocks().Stats().block_bytes, 5u);
  // The same bytes again are fine, under the same epoch.
  ASSERT_TRUE(this->blocks().PutBlock(f, 0, "first", &again_epoch).ok());
  EXPECT_NE(first_epoch, 0u);
  EXPECT_EQ(again_epoch, first_epoch);
}

TYPED_TEST(CacheContractTest, TheEpochChangesWhenTheFileIsDroppedOrStartedAgain) {
  const ContentHash f = Sha256(1), g = Sha256(2);
  EXPECT_EQ(*this->blocks().FileEpoch(f), 0u);
  uint64_t put_epoch = 0;
  ASSERT_TRUE(this->blocks().PutBlock(f, 0, BlockBytes(1, 0, kBlock), &put_epoch).ok());
  EXPECT_EQ(*this->blocks().FileEpoch(f), put_epoch);
  ASSERT_TRUE(this->blocks().PutBlock(f, 1, BlockBytes(1, 1, kBlock)).ok());
  EXPECT_EQ(*this->blocks().FileEpoch(f), put_epoch);  // stable while blocks are only added
  ASSERT_TRUE(this->blocks().PutBlock(g, 0, BlockBytes(2, 0, kBlock)).ok());
  EXPECT_NE(*this->blocks().FileEpoch(g), put_epoch);

  ASSERT_TRUE(this->blocks().DropFile(f, 2 * kBlock).ok());
  uint64_t again = 0;
  ASSERT_TRUE(this->blocks().PutBlock(f, 0, BlockBytes(1, 0, kBlock), &again).ok());
  EXPECT_NE(again, 0u);
  EXPECT_NE(again, put_epoch);
}

TYPED_TEST(CacheContractTest, ADropAndRestoreBetweenHashAndMarkCompleteIsCaught) {
  // Probe 5: this writer stored (and hashed) good blocks; another writer
  // dropped the file and stored its own bytes before this writer's
  // MarkComplete. Those bytes were never hashed: the mark must be refused.
  const ContentHash f = Sha256(1);
  const uint64_t size = 2 * kBlock;
  uint64_t hashed_under = 0;
  ASSERT_TRUE(this->blocks().PutBlock(f, 0, BlockBytes(1, 0, kBlock), &hashed_under).ok());
  ASSERT_TRUE(this->blocks().PutBlock(f, 1, BlockBytes(1, 1, kBlock)).ok());

  ASSERT_TRUE(this->blocks().DropFile(f, size).ok());
  std::string flipped = BlockBytes(1, 0, kBlock);
  flipped[7] ^= 1;
  ASSERT_TRUE(this->blocks().PutBlock(f, 0, flipped).ok());
  ASSERT_TRUE(this->blocks().PutBlock(f, 1, BlockBytes(1, 1, kBlock)).ok());

  Status s = this->blocks().MarkComplete(f, size, hashed_under);
  EXPECT_TRUE(s.IsDataLoss()) << s.ToString();
  EXPECT_FALSE(this->Complete(f));
  EXPECT_TRUE(this->blocks().MarkComplete(f, size, 0).IsDataLoss());  // no epoch, no mark
}

TYPED_TEST(CacheContractTest, MarkCompleteNeedsEveryBlock) {
  const ContentHash f = Sha256(1);
  const uint64_t size = 3 * kBlock + 17;
  // Blocks 0, 2, 3 present; 1 missing.
  for (uint32_t i : {0u, 2u}) ASSERT_TRUE(this->blocks().PutBlock(f, i, BlockBytes(1, i, kBlock)).ok());
  ASSERT_TRUE(this->blocks().PutBlock(f, 3, BlockBytes(1, 3, 17)).ok());
  Status s = testing::MarkCompleteAsStored(this->blocks(), f, size);
  EXPECT_TRUE(s.IsDataLoss()) << s.ToString();
  EXPECT_FALSE(this->Complete(f));

  // The last block missing.
  const ContentHash g = Sha256(2);
  for (uint32_t i : {0u, 1u, 2u}) ASSERT_TRUE(this->blocks().PutBlock(g, i, BlockBytes(2, i, kBlock)).ok());
  EXPECT_TRUE(testing::MarkCompleteAsStored(this->blocks(), g, size).IsDataLoss());
  EXPECT_FALSE(this->Complete(g));
}

TYPED_TEST(CacheContractTest, MarkCompleteChecksBlockLengths) {
  const uint64_t size = 2 * kBlock + 17;
  // The last block too long.
  const ContentHash f = Sha256(1);
  this->PutFile(f, 1, 2 * kBlock);
  ASSERT_TRUE(this->blocks().PutBlock(f, 2, BlockBytes(1, 2, 18)).ok());
  EXPECT_TRUE(testing::MarkCompleteAsStored(this->blocks(), f, size).IsDataLoss());
  EXPECT_FALSE(this->Complete(f));
  // A middle block short.
  const ContentHash g = Sha256(2);
  this->PutFile(g, 2, kBlock);
  ASSERT_TRUE(this->blocks().PutBlock(g, 1, BlockBytes(2, 1, kBlock - 1)).ok());
  ASSERT_TRUE(this->blocks().PutBlock(g, 2, BlockBytes(2, 2, 17)).ok());
  EXPECT_TRUE(testing::MarkCompleteAsStored(this->blocks(), g, size).IsDataLoss());
  EXPECT_FALSE(this->Complete(g));
  // A block past the end.
  const ContentHash h = Sha256(3);
  this->PutFile(h, 3, size);
  ASSERT_TRUE(this->blocks().PutBlock(h, 3, BlockBytes(3, 3, 5)).ok());
  EXPECT_TRUE(testing::MarkCompleteAsStored(this->blocks(), h, size).IsDataLoss());
  EXPECT_FALSE(this->Complete(h));
}

TYPED_TEST(CacheContractTest, MarkCompleteSucceedsWithAllBlocks) {
  const ContentHash f = Sha256(1), g = Sha256(2);
  this->PutFile(f, 1, 2 * kBlock + 1);
  this->PutFile(g, 2, 3 * kBlock);  // an exact multiple: the last block is full
  EXPECT_FALSE(this->Complete(f));
  ASSERT_TRUE(testing::MarkCompleteAsStored(this->blocks(), f, 2 * kBlock + 1).ok());
  ASSERT_TRUE(testing::MarkCompleteAsStored(this->blocks(), g, 3 * kBlock).ok());
  EXPECT_TRUE(this->Complete(f));
  EXPECT_TRUE(this->Complete(g));
  EXPECT_FALSE(this->Complete(Sha256(3)));
  EXPECT_EQ(this->blocks().Stats().complete_files, 2u);
}

TYPED_TEST(CacheContractTest, EmptyFileIsCompleteWithNoBlocks) {
  const ContentHash f = Sha256(1);
  ASSERT_TRUE(testing::MarkCompleteAsStored(this->blocks(), f, 0).ok());
  EXPECT_TRUE(this->Complete(f));
  EXPECT_EQ(this->blocks().Stats().blocks, 0u);
  // But a stray block makes "0 bytes" a lie.
  const ContentHash g = Sha256(2);
  ASSERT_TRUE(this->blocks().PutBlock(g, 0, "x").ok());
  EXPECT_TRUE(testing::MarkCompleteAsStored(this->blocks(), g, 0).IsDataLoss());
}

TYPED_TEST(CacheContractTest, CachedBytesCountsOnlyThatFilesBlocks) {
  // f and g share all but the last digest byte; h is a sha1 whose digest is
  // f's first 20 bytes: neighbours in key order.
  const ContentHash f = Sha256(1), g = Sha256(2);
  const ContentHash h(ContentHash::Kind::kGitSha1, f.data());
  EXPECT_EQ(this->blocks().CachedBytes(f).value(), 0u);
  ASSERT_TRUE(this->blocks().PutBlock(f, 0, BlockBytes(1, 0, kBlock)).ok());
  ASSERT_TRUE(this->blocks().PutBlock(f, 3, BlockBytes(1, 3, 100)).ok());
  this->PutFile(g, 2, 2 * kBlock);
  this->PutFile(h, 3, kBlock);
  auto bytes = this->blocks().CachedBytes(f);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_EQ(*bytes, kBlock + 100u);
  EXPECT_EQ(this->blocks().CachedBytes(g).value(), 2u * kBlock);
  ASSERT_TRUE(this->blocks().DropFile(f, 4 * kBlock).ok());
  EXPECT_EQ(this->blocks().CachedBytes(f).value(), 0u);
}

TYPED_TEST(CacheContractTest, DropFileRemovesOnlyThatFile) {
  // f and g share all but the last digest byte; h is a sha1 whose digest is
  // f's first 20 bytes.
  const ContentHash f = Sha256(1), g = Sha256(2);
  const ContentHash h(ContentHash::Kind::kGitSha1, f.data());
  const uint64_t size = 4 * kBlock;
  this->PutFile(f, 1, size);
  this->PutFile(g, 2, size);
  this->PutFile(h, 3, size);
  ASSERT_TRUE(testing::MarkCompleteAsStored(this->blocks(), f, size).ok());
  ASSERT_TRUE(testing::MarkCompleteAsStored(this->blocks(), g, size).ok());

  ASSERT_TRUE(this->blocks().DropFile(f, size).ok());
  for (uint32_t i = 0; i < 4; ++i) {
    EXPECT_FALSE(this->Has(f, i)) << i;
    EXPECT_TRUE(this->Has(g, i)) << i;
    EXPECT_TRUE(this->Has(h, i)) << i;
  }
  EXPECT_FALSE(this->Complete(f));
  EXPECT_TRUE(this->Complete(g));
  EXPECT_EQ(this->blocks().Stats().blocks, 8u);
  EXPECT_TRUE(this->blocks().DropFile(f, size).ok());  // dropping twice is fine
  EXPECT_TRUE(this->blocks().DropFile(Sha256(9), 0).ok());
}

TYPED_TEST(CacheContractTest, AFailedVerificationMarkStaysUntilTheFileCompletesOrIsDropped) {
  const ContentHash f = Sha256(1), g = Sha256(2);
  const uint64_t size = 2 * kBlock;
  auto failed = [&](const ContentHash& file) {
    auto r = this->blocks().FailedVerification(file);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && *r;
  };
  EXPECT_FALSE(failed(f));
  ASSERT_TRUE(this->blocks().MarkFailedVerification(f).ok());
  EXPECT_TRUE(failed(f));
  EXPECT_FALSE(failed(g));
  EXPECT_FALSE(this->Complete(f));
  this->PutFile(f, 1, size);  // blocks stored under the mark keep it
  EXPECT_TRUE(failed(f));
  auto listed = this->blocks().ListFiles();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE((*listed)[0].failed_verification);
  EXPECT_EQ((*listed)[0].blocks, 2u);

  ASSERT_TRUE(testing::MarkCompleteAsStored(this->blocks(), f, size).ok());
  EXPECT_FALSE(failed(f)) << "the file verified since";
  EXPECT_TRUE(this->Complete(f));

  ASSERT_TRUE(this->blocks().MarkFailedVerification(f).ok());
  EXPECT_TRUE(failed(f));
  EXPECT_FALSE(this->Complete(f)) << "a file whose bytes failed is not complete";
  ASSERT_TRUE(this->blocks().DropFile(f, size).ok());
  EXPECT_FALSE(failed(f));
  EXPECT_FALSE(this->Has(f, 0));
}

TYPED_TEST(CacheContractTest, SameContentIsStoredOnce) {
  // Two repos (two callers) with the same file: same hash, same keys.
  const ContentHash f = FileHash(7);
  const uint64_t size = 5 * kBlock + 3;
  this->PutFile(f, 7, size);
  const auto before = this->blocks().Stats();
  this->PutFile(f, 7, size);
  const auto after = this->blocks().Stats();
  EXPECT_EQ(before.blocks, 6u);
  EXPECT_EQ(after.blocks, 6u);
  EXPECT_EQ(after.block_bytes, size);
}

TYPED_TEST(CacheContractTest, StatsCountBlocksAndBytes) {
  this->PutFile(Sha256(1), 1, 2 * kBlock + 5);
  this->PutFile(Sha256(2), 2, kBlock);
  ASSERT_TRUE(testing::MarkCompleteAsStored(this->blocks(), Sha256(2), kBlock).ok());
  const BlockStoreStats s = this->blocks().Stats();
  EXPECT_EQ(s.blocks, 4u);
  EXPECT_EQ(s.block_bytes, 3 * kBlock + 5);
  EXPECT_EQ(s.complete_files, 1u);
  EXPECT_EQ(s.map_size, kQuota);
  EXPECT_GE(s.file_bytes, s.block_bytes);
}

TYPED_TEST(CacheContractTest, PinTouchAndUnpinLeaveContentsAlone) {
  const ContentHash f = Sha256(1);
  this->PutFile(f, 1, kBlock);
  this->blocks().Pin(f);
  this->blocks().Pin(f);
  this->blocks().Touch(f);
  this->blocks().Touch(Sha256(2));  // nothing cached: nothing to stamp
  this->blocks().Unpin(f);
  this->blocks().Unpin(f);
  EXPECT_TRUE(this->Has(f, 0));
  EXPECT_FALSE(this->Has(Sha256(2), 0));
}

TYPED_TEST(CacheContractTest, MetaPutGetDelete) {
  MetaStore& m = this->meta();
  auto absent = m.Get("rev/gpt2/main");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  ASSERT_TRUE(m.Put("rev/gpt2/main", "abc123").ok());
  ASSERT_TRUE(m.Put("rev/gpt2/main", "def456").ok());
  const std::string big(100000, 'j');  // a tree listing spills into overflow pages
  ASSERT_TRUE(m.Put("tree/gpt2/def456", big).ok());
  auto got = m.Get("rev/gpt2/main");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, "def456");
  got = m.Get("tree/gpt2/def456");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, big);
  ASSERT_TRUE(m.Delete("rev/gpt2/main").ok());
  EXPECT_FALSE(m.Get("rev/gpt2/main")->has_value());
  EXPECT_TRUE(m.Delete("rev/gpt2/main").ok());  // absent: fine
  std::string binary("a\0b", 3);
  ASSERT_TRUE(m.Put(binary, std::string("\0\1", 2)).ok());
  EXPECT_EQ(**m.Get(binary), std::string("\0\1", 2));
}

TYPED_TEST(CacheContractTest, MetaKeysWithPrefixInOrder) {
  MetaStore& m = this->meta();
  for (const char* k : {"rev/b", "rev/a", "rev/", "tree/a", "re", "rev/a/x", "revz"}) {
    ASSERT_TRUE(m.Put(k, "v").ok());
  }
  auto keys = m.KeysWithPrefix("rev/");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(*keys, (std::vector<std::string>{"rev/", "rev/a", "rev/a/x", "rev/b"}));
  keys = m.KeysWithPrefix("zzz");
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
  keys = m.KeysWithPrefix("");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 7u);
  EXPECT_EQ(keys->front(), "re");
}

TYPED_TEST(CacheContractTest, MetaRefusesEmptyAndHugeKeys) {
  EXPECT_EQ(this->meta().Put("", "v").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(this->meta().Put(std::string(512, 'k'), "v").code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(this->meta().Put(std::string(511, 'k'), "v").ok());
}

TYPED_TEST(CacheContractTest, ConcurrentReadersAndWritersSeeTheirBytes) {
  constexpr int kThreads = 8;
  constexpr uint32_t kBlocksPerFile = 40;
  const ContentHash shared = FileHash(1000);
  this->PutFile(shared, 1000, kBlocksPerFile * kBlock);
  ASSERT_TRUE(testing::MarkCompleteAsStored(this->blocks(), shared, kBlocksPerFile * kBlock).ok());

  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      BlockStore& store = this->blocks();
      const ContentHash mine = FileHash(t);
      std::string buf(kBlock, '\0');
      for (uint32_t i = 0; i < kBlocksPerFile; ++i) {
        if (!store.PutBlock(mine, i, BlockBytes(t, i, kBlock)).ok()) ++failures;
        // Read back an earlier block of mine and one of the shared file.
        const uint32_t j = (i * 7) % (i + 1);
        auto r = store.ReadBlock(mine, j, 0, buf);
        if (!r.ok() || !*r || buf != BlockBytes(t, j, kBlock)) ++failures;
        const uint32_t s = (i + t) % kBlocksPerFile;
        r = store.ReadBlock(shared, s, 0, buf);
        if (!r.ok() || !*r || buf != BlockBytes(1000, s, kBlock)) ++failures;
        if (!this->meta().Put("thread/" + std::to_string(t), std::to_string(i)).ok()) ++failures;
      }
      if (!testing::MarkCompleteAsStored(store, mine, kBlocksPerFile * kBlock).ok()) ++failures;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(this->Complete(FileHash(t)));
    EXPECT_EQ(**this->meta().Get("thread/" + std::to_string(t)), std::to_string(kBlocksPerFile - 1));
  }
  EXPECT_EQ(this->blocks().Stats().blocks, (kThreads + 1) * kBlocksPerFile);
}

TYPED_TEST(CacheContractTest, ListFilesSaysWhatIsStoredOfEachFile) {
  const ContentHash partial = FileHash(1), whole = FileHash(2);
  this->PutFile(whole, 2, 2 * kBlock + 10);
  ASSERT_TRUE(testing::MarkCompleteAsStored(this->blocks(), whole, 2 * kBlock + 10).ok());
  ASSERT_TRUE(this->blocks().PutBlock(partial, 3, BlockBytes(1, 3, kBlock)).ok());
  auto files = this->blocks().ListFiles();
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_EQ(files->size(), 2u);
  for (const StoredFile& f : *files) {
    if (f.hash == whole) {
      EXPECT_TRUE(f.complete);
      EXPECT_EQ(f.size, 2 * kBlock + 10);
      EXPECT_EQ(f.blocks, 3u);
      EXPECT_EQ(f.cached_bytes, 2 * kBlock + 10);
    } else {
      EXPECT_EQ(f.hash, partial);
      EXPECT_FALSE(f.complete);
      EXPECT_EQ(f.blocks, 1u);
      EXPECT_EQ(f.cached_bytes, kBlock);
    }
  }
  ASSERT_TRUE(this->blocks().DropFile(whole, 2 * kBlock + 10).ok());
  files = this->blocks().ListFiles();
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ(files->front().hash, partial);
}

}  // namespace
}  // namespace hfm
