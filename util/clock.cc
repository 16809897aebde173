#include "util/clock.h"

#include <ctime>

#include "util/mutex.h"

namespace hfm {
namespace {

class RealClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  int64_t WallSeconds() const override { return static_cast<int64_t>(std::time(nullptr)); }
  bool WaitUntil(CondVar* cv, Mutex* mu, TimePoint deadline) const override REQUIRES(mu) {
    return cv->WaitUntil(mu, deadline);
  }
};

}  // namespace

bool FakeClock::WaitUntil(CondVar* cv, Mutex* mu, TimePoint deadline) const {
  if (Now() >= deadline) return false;
  ++waiters_;
  cv->WaitUntil(mu, std::chrono::steady_clock::now() + std::chrono::milliseconds(1));
  --waiters_;
  return Now() < deadline;
}

Clock* SystemClock() {
  static RealClock* clock = new RealClock();  // never destroyed: usable during exit
  return clock;
}

}  // namespace hfm
