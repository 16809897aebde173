#include "fetch/listing_memory.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fetch/tree_parser.h"
#include "tests/heap_in_use.h"

namespace hfm {
namespace {

TEST(ListingMemoryTest, ChargesShareTheDaemonsBudgetAndGiveItBack) {
  ListingMemory budget(1000);
  {
    ListingCharge first(&budget, 800, "first");
    ASSERT_TRUE(first.Add(600).ok());
    ListingCharge second(&budget, 800, "second");
    const Status over = second.Add(500);
    EXPECT_EQ(over.code(), Status::Code::kResourceExhausted);
    EXPECT_NE(over.message().find("max_listing_memory=1000 bytes"), std::string::npos) << over.ToString();
    EXPECT_NE(over.message().find("second"), std::string::npos);
    EXPECT_EQ(budget.used(), 600u);
    // A failed charge stays failed: a listing is refused whole.
    EXPECT_FALSE(second.Add(1).ok());
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(ListingMemoryTest, OneListingIsCappedBelowTheBudget) {
  ListingMemory budget(1000);
  ListingCharge charge(&budget, 300, "repo@abc at http://mirror");
  ASSERT_TRUE(charge.Add(300).ok());
  const Status over = charge.Add(1);
  EXPECT_EQ(over.code(), Status::Code::kResourceExhausted);
  EXPECT_NE(over.message().find("repo@abc at http://mirror"), std::string::npos);
  EXPECT_NE(over.message().find("cap of 300 bytes"), std::string::npos) << over.ToString();
  EXPECT_EQ(budget.used(), 300u);
}

TEST(ListingMemoryTest, MovedChargeReleasesOnce) {
  ListingMemory budget(1000);
  ListingCharge a(&budget, 1000, "a");
  ASSERT_TRUE(a.Add(100).ok());
  ListingCharge b = std::move(a);
  EXPECT_EQ(b.bytes(), 100u);
  b = ListingCharge();
  EXPECT_EQ(budget.used(), 0u);
}

// The footprint charged for a parsed and validated listing covers what the
// allocator really holds for it: the charge is honest, not a guess.
TEST(ListingMemoryTest, FootprintCoversTheRealHeap) {
  if (!testing::HeapIsMeasurable()) GTEST_SKIP() << "the sanitizer's allocator is not seen by mallinfo2";
  std::string page = "[";
  for (int i = 0; i < 20000; ++i) {
    const std::string path = "dir" + std::to_string(i % 100) + "/a-rather-long-file-name-" + std::to_string(i);
    page += std::string(i ? "," : "") + R"({"type":"file","oid":"fca794a5f07ff8f963fe8b61e3694b0fb7f955df",)" +
            R"("size":1,"path":")" + path + R"("})";
  }
  page += "]";
  ListingCharge charge(nullptr, 64 << 20, "test");
  const size_t before = testing::HeapInUse();
  auto parsed = ParseTreePage(page, "test", &charge);
  ASSERT_TRUE(parsed.ok());
  auto listing = ValidateListing(std::move(*parsed), "test", &charge);
  ASSERT_TRUE(listing.ok());
  const size_t held = testing::HeapInUse() - before;
  EXPECT_EQ(listing->size(), 20100u);
  EXPECT_GE(charge.bytes(), held);
  // ...and not wildly above it either (the overhead also covers the
  // snapshot built from the listing and transient copies).
  EXPECT_LE(charge.bytes(), 4 * held);
}

}  // namespace
}  // namespace hfm
