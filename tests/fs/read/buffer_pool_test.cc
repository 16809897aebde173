// BufferPool: recycling block-sized buffers, and prewarming them.
#include "fs/read/buffer_pool.h"

#include <gtest/gtest.h>

namespace hfm {
namespace {

TEST(BufferPoolTest, PrewarmMakesIdleFullSizedBuffersUpToTheIdleLimit) {
  BufferPool pool(4096, 3);
  pool.Prewarm(2);
  EXPECT_EQ(pool.idle(), 2u);
  pool.Prewarm(5);
  EXPECT_EQ(pool.idle(), 3u) << "never more than max_idle kept";
  std::string b = pool.TakeSized(100);
  EXPECT_EQ(b.size(), 100u);
  EXPECT_GE(b.capacity(), 4096u);
  EXPECT_EQ(pool.idle(), 2u);
}

TEST(BufferPoolTest, OnlyBlockSizedBuffersAreKept) {
  BufferPool pool(4096, 4);
  pool.Give(std::string(10, 'x'));
  EXPECT_EQ(pool.idle(), 0u);
  std::string big;
  big.reserve(3 * 4096);
  pool.Give(std::move(big));
  EXPECT_EQ(pool.idle(), 0u) << "a buffer grown far past a block is not kept";
  pool.Give(pool.Take());
  EXPECT_EQ(pool.idle(), 1u);
}

TEST(BufferPoolTest, ARecycledBufferIsGrownToTheSizeAsked) {
  BufferPool pool(4096, 1);
  std::string b = pool.TakeSized(4096);
  b.assign(4096, 'a');
  pool.Give(std::move(b));
  std::string again = pool.TakeSized(1000);
  EXPECT_EQ(again.size(), 1000u);
  EXPECT_GE(again.capacity(), 4096u);
}

}  // namespace
}  // namespace hfm
