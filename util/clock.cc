#include "util/clock.h"

#include <ctime>

namespace hfm {
namespace {

class RealClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  int64_t WallSeconds() const override { return static_cast<int64_t>(std::time(nullptr)); }
};

}  // namespace

Clock* SystemClock() {
  static RealClock* clock = new RealClock();  // never destroyed: usable during exit
  return clock;
}

}  // namespace hfm
