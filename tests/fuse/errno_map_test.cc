// ErrnoFor: every Status code the tree can return becomes one errno, in
// fs/fuse/errno_map.cc alone.
#include <gtest/gtest.h>

#include <cerrno>

#include "fs/fuse/errno_map.h"

namespace hfm {
namespace {

TEST(ErrnoMapTest, EveryCodeHasItsErrno) {
  EXPECT_EQ(ErrnoFor(Status::Ok()), 0);
  EXPECT_EQ(ErrnoFor(Status::NotFound("x")), ENOENT);
  EXPECT_EQ(ErrnoFor(Status::PermissionDenied("x")), EACCES);
  EXPECT_EQ(ErrnoFor(Status::InvalidArgument("x")), EINVAL);
  EXPECT_EQ(ErrnoFor(Status::OutOfRange("x")), EINVAL);
  EXPECT_EQ(ErrnoFor(Status::NotADirectory("x")), ENOTDIR);
  EXPECT_EQ(ErrnoFor(Status::IsADirectory("x")), EISDIR);
  EXPECT_EQ(ErrnoFor(Status::NotASymlink("x")), EINVAL);
  EXPECT_EQ(ErrnoFor(Status::Unavailable("x")), EIO);
  EXPECT_EQ(ErrnoFor(Status::DeadlineExceeded("x")), EIO);
  EXPECT_EQ(ErrnoFor(Status::DataLoss("x")), EIO);
  EXPECT_EQ(ErrnoFor(Status::ResourceExhausted("x")), EIO);
  EXPECT_EQ(ErrnoFor(Status::Internal("x")), EIO);
}

TEST(ErrnoMapTest, TheNewCodesKeepTheirNamesAndContext) {
  EXPECT_EQ(Status::NotADirectory("m").ToString(), "NotADirectory: m");
  EXPECT_EQ(Status::IsADirectory("m").ToString(), "IsADirectory: m");
  EXPECT_EQ(Status::NotASymlink("m").ToString(), "NotASymlink: m");
  EXPECT_EQ(ErrnoFor(Status::NotADirectory("m").WithContext("lookup")), ENOTDIR);
}

}  // namespace
}  // namespace hfm
