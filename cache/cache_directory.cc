#include "cache/cache_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace hfm {
namespace {

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

bool OwnerAllowed(uid_t owner) { return owner == ::geteuid() || owner == 0; }

}  // namespace

int OpenInCacheDirectory(const std::string& path, int flags, mode_t mode) {
  return ::open(path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
}

Status PrepareCacheDirectory(const std::string& dir, uid_t* owner) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status::PermissionDenied(Errno("cannot stat cache directory", dir));
    std::error_code ec;
    const std::filesystem::path parent = std::filesystem::path(dir).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    // 0700: cached model bytes and metadata of gated repos are private.
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::PermissionDenied(Errno("cannot create cache directory", dir));
    }
    if (::lstat(dir.c_str(), &st) != 0) return Status::PermissionDenied(Errno("cannot stat cache directory", dir));
  }
  if (S_ISLNK(st.st_mode)) {
    return Status::PermissionDenied("cache directory " + dir +
                                    " is a symlink; give the directory it points to instead");
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("cache directory " + dir + " exists and is not a directory");
  }
  if (!OwnerAllowed(st.st_uid)) {
    return Status::PermissionDenied("cache directory " + dir + " is owned by uid " + std::to_string(st.st_uid) +
                                    ", not by this user (uid " + std::to_string(::geteuid()) +
                                    ") or root; refusing to use another user's cache");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::PermissionDenied("cache directory " + dir + " has mode " + mode +
                                    ": writable by group or others, who could replace its files; "
                                    "chmod go-w it");
  }
  *owner = st.st_uid;
  return Status::Ok();
}

Status CheckLmdbFiles(const std::string& dir, uid_t owner) {
  for (const char* name : {"/data.mdb", "/lock.mdb"}) {
    const std::string path = dir + name;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // LMDB creates it
      return Status::PermissionDenied(Errno("cannot stat", path));
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != owner || st.st_nlink != 1) {
      return Status::PermissionDenied(path + " is not a plain file of the cache directory's owner (" +
                                      (S_ISLNK(st.st_mode) ? std::string("a symlink") :
                                       !S_ISREG(st.st_mode) ? std::string("not a regular file") :
                                       st.st_uid != owner ? "owned by uid " + std::to_string(st.st_uid) :
                                                            std::to_string(st.st_nlink) + " hard links") +
                                      "); refusing to open it");
    }
  }
  return Status::Ok();
}

}  // namespace hfm
