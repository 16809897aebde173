// The one place a Status becomes an errno.
#pragma once

#include "util/status.h"

namespace hfm {

// NotFound→ENOENT, PermissionDenied→EACCES, InvalidArgument→EINVAL,
// OutOfRange→EINVAL, NotADirectory→ENOTDIR, IsADirectory→EISDIR,
// NotASymlink→EINVAL (what readlink(2) gives), everything the network or
// verification can cause (Unavailable, DeadlineExceeded, DataLoss,
// ResourceExhausted, Internal)→EIO.
int ErrnoFor(const Status& status);

}  // namespace hfm
