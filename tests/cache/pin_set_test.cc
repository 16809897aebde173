#include "cache/pin_set.h"

#include <gtest/gtest.h>

#include "tests/cache/cache_test_util.h"

namespace hfm {
namespace {

using testing::Sha256;

TEST(PinSetTest, PinsAreCountedPerFile) {
  PinSet pins;
  pins.Pin(Sha256(1));
  pins.Pin(Sha256(1));
  pins.Pin(Sha256(2));
  pins.Unpin(Sha256(1));
  EXPECT_TRUE(pins.IsPinned(Sha256(1)));
  pins.Unpin(Sha256(1));
  EXPECT_FALSE(pins.IsPinned(Sha256(1)));
  EXPECT_TRUE(pins.IsPinned(Sha256(2)));
}

TEST(PinSetTest, UnpinWithoutPinIsIgnored) {
  PinSet pins;
  pins.Unpin(Sha256(1));
  EXPECT_FALSE(pins.IsPinned(Sha256(1)));
  pins.Pin(Sha256(1));
  EXPECT_TRUE(pins.IsPinned(Sha256(1)));
}

}  // namespace
}  // namespace hfm
