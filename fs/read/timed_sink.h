// TimedSink: a RangeSink in front of another that times one ranged GET for
// LinkEstimator: when it was sent, when its first byte came, when it ended,
// and whether it ran as one clean attempt (a retry's timings say nothing of
// the link).
//
// Thread safety: none; one GET's transport thread uses it.
#pragma once

#include <string>

#include "fetch/hub_client.h"
#include "util/clock.h"

namespace hfm {

class TimedSink : public RangeSink {
 public:
  // Both borrowed. The GET counts as sent now.
  TimedSink(RangeSink* inner, const Clock* clock) : inner_(inner), clock_(clock), sent_(clock->Now()) {}

  bool OnBytes(const char* data, size_t len) override {
    if (!got_bytes_ && len > 0) {
      got_bytes_ = true;
      first_byte_ = clock_->Now();
    }
    return inner_->OnBytes(data, len);
  }
  void OnSource(const std::string& endpoint) override {
    ++attempts_;
    inner_->OnSource(endpoint);
  }

  // Whether the GET's bytes came in one attempt (call after it ended).
  bool clean() const { return got_bytes_ && attempts_ <= 1; }
  // From sending to the first byte: one round trip, plus the server's time.
  Duration first_byte() const { return first_byte_ - sent_; }
  // From the first byte to now: the body's transfer.
  Duration body() const { return clock_->Now() - first_byte_; }

 private:
  RangeSink* const inner_;
  const Clock* const clock_;
  const TimePoint sent_;
  TimePoint first_byte_{};
  bool got_bytes_ = false;
  int attempts_ = 0;
};

}  // namespace hfm
