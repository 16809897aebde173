// MetadataTrust: the HubClient's rule for where metadata (revision ->
// commit, listings: every hash bytes are verified against) may come from.
// Without a trusted endpoint any endpoint answers. With one, only it does;
// when it cannot be reached the call is refused, or, with trust_fallback,
// handed to the mirrors. Either way one log line per repo says so (repeats
// within `forget_after` are not logged), so a dead trusted endpoint does not
// flood the log with one line per lookup.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fetch/bounded_lru.h"
#include "util/clock.h"
#include "util/mutex.h"
#include "util/status.h"

namespace hfm {

class MetadataTrust {
 public:
  // `trusted`: the trusted endpoint's index among the client's endpoints, if
  // any, and its URL. `clock` is borrowed.
  MetadataTrust(std::optional<size_t> trusted, std::string trusted_endpoint, bool fallback, const Clock* clock);

  std::optional<size_t> trusted() const { return trusted_; }
  const std::string& trusted_endpoint() const { return trusted_endpoint_; }
  bool fallback() const { return fallback_; }

  // The trusted endpoint could not answer `context` (about repo
  // `repo_display`) with `status`. Returns the Status the call fails with, or
  // nullopt when the mirrors are to be asked instead (trust_fallback).
  std::optional<Status> OnTrustedUnreachable(const std::string& repo_display, const std::string& context,
                                             const Status& status);

 private:
  // True the first time `key` is seen within forget_after.
  bool FirstTime(const std::string& key) EXCLUDES(mu_);

  const std::optional<size_t> trusted_;
  const std::string trusted_endpoint_;
  const bool fallback_;
  Mutex mu_;
  BoundedLru<bool> logged_ GUARDED_BY(mu_);
};

}  // namespace hfm
