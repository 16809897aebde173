#include "fetch/signed_url_cache.h"

#include <gtest/gtest.h>

namespace hfm {
namespace {

using std::chrono::minutes;

TEST(SignedUrlCacheTest, StoresAndEvictsLeastRecentlyUsed) {
  FakeClock clock;
  SignedUrlCache cache(2, minutes(30), &clock);
  cache.Put("a", "https://cdn/a?sig");
  cache.Put("b", "https://cdn/b?sig");
  EXPECT_EQ(cache.Get("a"), "https://cdn/a?sig");  // a is now the most recent
  cache.Put("c", "https://cdn/c?sig");
  EXPECT_FALSE(cache.Get("b"));
  EXPECT_TRUE(cache.Get("a"));
  EXPECT_TRUE(cache.Get("c"));
  EXPECT_EQ(cache.size(), 2u);
}

TEST(SignedUrlCacheTest, ExpiresOldEntries) {
  FakeClock clock;
  SignedUrlCache cache(8, minutes(30), &clock);
  cache.Put("a", "u");
  clock.Advance(minutes(29));
  EXPECT_TRUE(cache.Get("a"));
  clock.Advance(minutes(1));
  EXPECT_FALSE(cache.Get("a"));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(SignedUrlCacheTest, EraseOnlyRemovesTheFailedUrl) {
  FakeClock clock;
  SignedUrlCache cache(8, minutes(30), &clock);
  cache.Put("a", "old");
  cache.Put("a", "new");  // another thread refreshed it
  cache.Erase("a", "old");
  EXPECT_EQ(cache.Get("a"), "new");
  cache.Erase("a", "new");
  EXPECT_FALSE(cache.Get("a"));
}

}  // namespace
}  // namespace hfm
