#include "fs/fuse/errno_map.h"

#include <cerrno>

namespace hfm {

int ErrnoFor(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk: return 0;
    case Status::Code::kNotFound: return ENOENT;
    case Status::Code::kPermissionDenied: return EACCES;
    case Status::Code::kInvalidArgument: return EINVAL;
    case Status::Code::kOutOfRange: return EINVAL;
    case Status::Code::kNotADirectory: return ENOTDIR;
    case Status::Code::kIsADirectory: return EISDIR;
    case Status::Code::kNotASymlink: return EINVAL;
    case Status::Code::kUnavailable:
    case Status::Code::kDeadlineExceeded:
    case Status::Code::kDataLoss:
    case Status::Code::kResourceExhausted:
    case Status::Code::kInternal:
      return EIO;
  }
  return EIO;
}

}  // namespace hfm
