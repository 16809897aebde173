// The state of one HubClient call (hub_client.cc's Run loop): which
// endpoints it tried this round, how each failed, and what a failure means for
// the rest of the call. Internal to fetch/: only hub_client.cc includes it.
//
// Thread safety: a CallState belongs to one call on one thread.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "fetch/endpoint_client.h"
#include "util/log.h"
#include "util/status.h"

namespace hfm::hub_call {

// Endpoint failures named in one error message.
constexpr size_t kMaxFailuresInMessage = 8;

// What a failed attempt means for the rest of the call.
enum class Verdict {
  kFinal,            // the Hub's answer (or our own error): return it
  kMissing,          // this endpoint lacks the commit or file: skip it for that
  kEndpointFailure,  // this endpoint is in trouble: back off, try the next
};

// The verdict for failures every call treats alike; NotFound and OutOfRange
// are decided per call.
Verdict CommonVerdict(const Status& status);

struct Outcome {
  Status status;  // OK: the call is done
  Verdict verdict = Verdict::kFinal;
  AttemptInfo info;
  std::string missing_key;  // kMissing: the commit or file key it lacks
};

// The failures of one call, latest per endpoint, into one Status.
class FailureLog {
 public:
  void Add(size_t endpoint, Status status) {
    for (auto& [i, s] : failures_) {
      if (i == endpoint) {
        s = std::move(status);
        return;
      }
    }
    failures_.emplace_back(endpoint, std::move(status));
  }
  bool empty() const { return failures_.empty(); }

  // One failure: itself. Several: the shared code, or Unavailable when they
  // differ (a 404 from one mirror and a 503 from another is not ENOENT),
  // with every endpoint's message.
  Status Summary(const std::string& context) const;
  // Every endpoint's latest message, at most kMaxFailuresInMessage of them.
  std::string Messages() const;

 private:
  std::vector<std::pair<size_t, Status>> failures_;
};

// Where one call stands in Run's loop.
struct CallState {
  CallState(size_t endpoints, int max_retries)
      : tried(endpoints, false), resumes(endpoints, 0), max_retries(max_retries) {}

  // Logs the latest failure, if not yet logged, with what happens next.
  void LogPending(const std::string& next) {
    if (!unlogged.ok()) LogWarning(unlogged.ToString() + next);
    unlogged = Status();
  }
  void NextRound() {
    ++round;
    may_heal = false;
    std::fill(tried.begin(), tried.end(), false);
  }

  std::vector<bool> tried;   // per endpoint, in this round
  std::vector<int> resumes;  // per endpoint, in this call
  FailureLog failures;
  Status unlogged;  // the latest failure, logged once we know we go on
  int round = 0;
  const int max_retries;  // rounds after the first, at most
  bool may_heal = false;  // some failure of this round may go away
};

}  // namespace hfm::hub_call
