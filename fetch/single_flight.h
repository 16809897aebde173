// SingleFlight: one caller per key does a piece of work while the others with
// the same key wait for it. The read path uses it so that the first ranges
// of a file, which all start at once, cost one /resolve between them rather
// than one each (the Hub rate-limits /resolve), and then share its signed URL.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <set>
#include <string>

#include "util/clock.h"
#include "util/mutex.h"

namespace hfm {

class SingleFlight {
 public:
  // Ends the lead when destroyed, if End() was not called first.
  class Lead {
   public:
    Lead(SingleFlight* flight, std::string key) : flight_(flight), key_(std::move(key)) {}
    ~Lead() { End(); }
    Lead(const Lead&) = delete;
    Lead& operator=(const Lead&) = delete;
    // Wakes the waiters (idempotent).
    void End();

   private:
    SingleFlight* flight_;
    std::string key_;
    bool ended_ = false;
  };

  // True: the caller leads `key` and must end the lead (construct a Lead).
  // False: another caller led, and its lead has ended or `deadline` passed.
  bool Begin(const std::string& key, TimePoint deadline);

  // Callers waiting in Begin() now (for tests and diagnostics).
  int waiting();

 private:
  void Finish(const std::string& key);

  Mutex mu_;
  CondVar cv_{&mu_};
  std::set<std::string> leading_ GUARDED_BY(mu_);
  int waiting_ GUARDED_BY(mu_) = 0;
};

}  // namespace hfm
