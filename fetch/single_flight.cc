#include "fetch/single_flight.h"

namespace hfm {

void SingleFlight::Lead::End() {
  if (ended_) return;
  ended_ = true;
  flight_->Finish(key_);
}

bool SingleFlight::Begin(const std::string& key, TimePoint deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  if (leading_.insert(key).second) return true;
  ++waiting_;
  cv_.wait_until(lock, deadline, [&] { return leading_.count(key) == 0; });
  --waiting_;
  return false;
}

int SingleFlight::waiting() {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

void SingleFlight::Finish(const std::string& key) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    leading_.erase(key);
  }
  cv_.notify_all();
}

}  // namespace hfm
