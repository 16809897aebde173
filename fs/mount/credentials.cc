#include "fs/mount/credentials.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace hfm {
namespace {

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  const size_t end = s.find_last_not_of(ws);
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s;
}

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

// Closes the descriptor on every return path.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  const int fd_;
};

// Why `st` may not hold a token of `owner`'s ("" if it may).
std::string UnsafeTokenFileReason(const struct stat& st, uid_t owner, bool root_may_own, const std::string& path) {
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  if (st.st_uid != owner && !(root_may_own && st.st_uid == 0)) {
    return "is owned by uid " + std::to_string(st.st_uid) + ", not by uid " + std::to_string(owner) +
           (root_may_own ? " or root" : "") + "; run: chown " + std::to_string(owner) + " " + path;
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    return "is readable by other users or writable by them; run: chmod go-rwx " + path;
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxTokenFileBytes) {
    return "is over " + std::to_string(kMaxTokenFileBytes) + " bytes: not a token file";
  }
  return "";
}

}  // namespace

Result<std::string> ReadTokenFile(const std::string& path, uid_t owner, bool required, bool root_may_own) {
  // O_NOFOLLOW: a symlink planted in a user's home must not make root read
  // (and send to the Hub) some other file. O_NONBLOCK: a FIFO must not hang us.
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT && !required) return std::string();
    if (err == ELOOP) return Status::InvalidArgument("token file " + path + " is a symlink; refusing it");
    return Status::InvalidArgument("cannot open token file " + path + ": " + std::strerror(err));
  }
  FdCloser closer(fd);
  struct stat st;
  if (fstat(fd, &st) != 0) return Status::InvalidArgument("cannot stat token file " + path);
  const std::string reason = UnsafeTokenFileReason(st, owner, root_may_own, path);
  if (!reason.empty()) return Status::InvalidArgument("token file " + path + " " + reason);
  // The size checked above may grow before we read: read one byte past the cap.
  std::string text(kMaxTokenFileBytes + 1, '\0');
  size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::InvalidArgument("cannot read token file " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > kMaxTokenFileBytes) {
    return Status::InvalidArgument("token file " + path + " is over " + std::to_string(kMaxTokenFileBytes) +
                                   " bytes: not a token file");
  }
  text.resize(got);
  return Trim(std::move(text));
}

Result<std::string> LoadUserToken(uid_t uid) {
  struct passwd entry;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(uid, &entry, buf.data(), buf.size(), &found) != 0 || found == nullptr) return std::string();
  if (entry.pw_dir == nullptr || entry.pw_dir[0] != '/') return std::string();
  // Only the user's own file: never $HF_TOKEN or $HF_HOME, which are the daemon's.
  return ReadTokenFile(std::string(entry.pw_dir) + "/.cache/huggingface/token", uid, false, uid == 0);
}

Result<std::string> LoadToken(const std::string& token_file_option) {
  const uid_t me = geteuid();
  if (!token_file_option.empty()) return ReadTokenFile(token_file_option, me, true);
  if (const char* t = Env("HF_TOKEN")) return Trim(t);
  if (const char* t = Env("HUGGING_FACE_HUB_TOKEN")) return Trim(t);
  if (const char* p = Env("HF_TOKEN_PATH")) return ReadTokenFile(p, me, false);
  std::string home_dir;
  if (const char* hf_home = Env("HF_HOME")) {
    home_dir = hf_home;
  } else if (const char* home = Env("HOME")) {
    home_dir = std::string(home) + "/.cache/huggingface";
  } else {
    return std::string();
  }
  return ReadTokenFile(home_dir + "/token", me, false);
}

}  // namespace hfm
