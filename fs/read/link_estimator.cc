#include "fs/read/link_estimator.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace hfm {

namespace {

// The largest power of two not above n (at least 1).
uint32_t FloorPow2(uint64_t n) {
  return n == 0 ? 1 : static_cast<uint32_t>(std::bit_floor(std::min<uint64_t>(n, 1u << 30)));
}

}  // namespace

LinkEstimator::LinkEstimator(const Options& options)
    : options_(options),
      far_threads_(std::max(options.fetch_threads, options.far_fetch_threads)),
      max_blocks_(FloorPow2(std::min<uint64_t>(options.max_fetch_blocks, options.max_memory / 4 * 3 /
                                                                             std::max<uint32_t>(1, far_threads_) /
                                                                             options.block_size))) {}

bool LinkEstimator::OnGet(Duration first_byte, uint64_t bytes, Duration body) {
  Sample sample;
  sample.first_byte = first_byte;
  // Only whole-block GETs tell the rate: a file's last few bytes arrive in
  // no measurable time, and would read as an endless rate. A whole block in
  // no measurable time is as fast as it gets.
  if (bytes >= options_.block_size) {
    sample.bytes_per_second = body.count() > 0
                                  ? static_cast<double>(bytes) / std::chrono::duration<double>(body).count()
                                  : std::numeric_limits<double>::infinity();
  }
  MutexLock lock(&mu_);
  samples_[count_ % kWindow] = sample;
  ++count_;
  const int n = std::min(count_, kWindow);
  Duration rtt = samples_[0].first_byte;
  double rate = 0;
  for (int i = 0; i < n; ++i) {
    rtt = std::min(rtt, samples_[i].first_byte);
    rate = std::max(rate, samples_[i].bytes_per_second);
  }
  rtt_ = rtt;
  rate_ = rate;
  const uint32_t blocks = count_ < kMinSamples ? 1 : BlocksFor(rtt, rate);
  return fetch_blocks_.exchange(blocks, std::memory_order_relaxed) != blocks;
}

uint32_t LinkEstimator::BlocksFor(Duration rtt, double rate) const {
  if (rtt < kNearRtt || rate <= 0) return 1;
  const double want = kRttMultiple * rate * std::chrono::duration<double>(rtt).count() / options_.block_size;
  if (want >= max_blocks_) return max_blocks_;  // also an endless rate
  // A power of two, so a group of every size starts on a boundary of the
  // larger ones: as the size changes, GETs still ask for the same ranges.
  const auto blocks = static_cast<uint32_t>(std::ceil(std::max(want, 1.0)));
  return std::min(max_blocks_, std::bit_ceil(blocks));
}

Duration LinkEstimator::rtt() const {
  MutexLock lock(&mu_);
  return rtt_;
}

double LinkEstimator::bytes_per_second() const {
  MutexLock lock(&mu_);
  return rate_;
}

}  // namespace hfm
