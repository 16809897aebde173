#include "fetch/hub_call_state.h"

namespace hfm::hub_call {

Verdict CommonVerdict(const Status& status) {
  switch (status.code()) {
    case Status::Code::kUnavailable:
    case Status::Code::kDeadlineExceeded:
    case Status::Code::kDataLoss:  // a malformed answer: another mirror may do better
      return Verdict::kEndpointFailure;
    default:
      return Verdict::kFinal;
  }
}

Status FailureLog::Summary(const std::string& context) const {
  if (failures_.empty()) return Status::Unavailable(context + ": no endpoint could be asked");
  if (failures_.size() == 1) return failures_[0].second;
  Status::Code code = failures_[0].second.code();
  for (const auto& f : failures_) {
    if (f.second.code() != code) code = Status::Code::kUnavailable;
  }
  return Status(code, context + ": every endpoint failed: " + Messages());
}

std::string FailureLog::Messages() const {
  std::string text;
  for (size_t k = 0; k < failures_.size() && k < kMaxFailuresInMessage; ++k) {
    text += (k ? "; " : "") + failures_[k].second.ToString();
  }
  if (failures_.size() > kMaxFailuresInMessage) {
    text += "; and " + std::to_string(failures_.size() - kMaxFailuresInMessage) + " more";
  }
  return text;
}

}  // namespace hfm::hub_call
