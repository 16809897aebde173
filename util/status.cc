#include "util/status.h"

namespace hfm {

Status::Status(Code code, std::string_view message) {
  if (code != Code::kOk) rep_ = std::make_shared<const Rep>(Rep{code, std::string(message)});
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return rep_ ? rep_->message : kEmpty;
}

const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kNotFound: return "NotFound";
    case Status::Code::kPermissionDenied: return "PermissionDenied";
    case Status::Code::kUnavailable: return "Unavailable";
    case Status::Code::kDeadlineExceeded: return "DeadlineExceeded";
    case Status::Code::kDataLoss: return "DataLoss";
    case Status::Code::kInvalidArgument: return "InvalidArgument";
    case Status::Code::kOutOfRange: return "OutOfRange";
    case Status::Code::kResourceExhausted: return "ResourceExhausted";
    case Status::Code::kInternal: return "Internal";
    case Status::Code::kNotADirectory: return "NotADirectory";
    case Status::Code::kIsADirectory: return "IsADirectory";
    case Status::Code::kNotASymlink: return "NotASymlink";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code())) + ": " + message();
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code(), std::string(context) + ": " + message());
}

}  // namespace hfm
