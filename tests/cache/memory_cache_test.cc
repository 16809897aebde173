// What the memory cache adds to the shared contract: it never evicts, so a
// full cache is ResourceExhausted until something is dropped.
#include <gtest/gtest.h>

#include "cache/block_store.h"
#include "tests/cache/cache_test_util.h"

namespace hfm {
namespace {

using testing::BlockBytes;
using testing::Sha256;

TEST(MemoryCacheTest, FullIsResourceExhaustedUntilDropped) {
  Cache c = NewMemoryCache(100, 250);
  ASSERT_TRUE(c.blocks->PutBlock(Sha256(1), 0, BlockBytes(1, 0, 100)).ok());
  ASSERT_TRUE(c.blocks->PutBlock(Sha256(1), 1, BlockBytes(1, 1, 100)).ok());
  EXPECT_EQ(c.blocks->PutBlock(Sha256(2), 0, BlockBytes(2, 0, 100)).code(),
            Status::Code::kResourceExhausted);
  EXPECT_FALSE(*c.blocks->HasBlock(Sha256(2), 0));
  EXPECT_EQ(c.meta->Put("key", std::string(60, 'v')).code(), Status::Code::kResourceExhausted);
  // Storing a block already there (same bytes) needs no more room.
  EXPECT_TRUE(c.blocks->PutBlock(Sha256(1), 1, BlockBytes(1, 1, 100)).ok());
  ASSERT_TRUE(c.blocks->DropFile(Sha256(1), 200).ok());
  EXPECT_TRUE(c.blocks->PutBlock(Sha256(2), 0, BlockBytes(2, 0, 100)).ok());
  EXPECT_TRUE(c.meta->Put("key", std::string(60, 'v')).ok());
  EXPECT_EQ(c.blocks->Stats().block_bytes, 100u);
  EXPECT_EQ(c.blocks->Stats().map_size, 250u);
}

TEST(MemoryCacheTest, MetaDeleteGivesRoomBack) {
  Cache c = NewMemoryCache(100, 100);
  ASSERT_TRUE(c.meta->Put("k", std::string(90, 'v')).ok());
  EXPECT_FALSE(c.blocks->PutBlock(Sha256(1), 0, BlockBytes(1, 0, 20)).ok());
  ASSERT_TRUE(c.meta->Delete("k").ok());
  EXPECT_TRUE(c.blocks->PutBlock(Sha256(1), 0, BlockBytes(1, 0, 20)).ok());
}

}  // namespace
}  // namespace hfm
