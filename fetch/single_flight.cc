#include "fetch/single_flight.h"

namespace hfm {

void SingleFlight::Lead::End() {
  if (ended_) return;
  ended_ = true;
  flight_->Finish(key_);
}

bool SingleFlight::Begin(const std::string& key, TimePoint deadline) {
  MutexLock lock(&mu_);
  if (leading_.insert(key).second) return true;
  ++waiting_;
  cv_.WaitUntil(&mu_, deadline, [&]() REQUIRES(mu_) { return leading_.count(key) == 0; });
  --waiting_;
  return false;
}

int SingleFlight::waiting() {
  MutexLock lock(&mu_);
  return waiting_;
}

void SingleFlight::Finish(const std::string& key) {
  {
    MutexLock lock(&mu_);
    leading_.erase(key);
  }
  cv_.SignalAll();
}

}  // namespace hfm
