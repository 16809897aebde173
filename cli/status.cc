#include "cli/status.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "cli/status_stats.h"
#include "util/safe_text.h"

namespace hfm::cli {
namespace {

constexpr size_t kMaxMountinfoBytes = 16u << 20;

// mountinfo escapes ' ', '\t', '\n' and '\\' in paths as \ooo.
std::string Unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    const auto octal = [&](size_t k) { return field[k] >= '0' && field[k] <= '7'; };
    if (field[i] == '\\' && i + 3 < field.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out.push_back(static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

// The file's first `max_bytes` + 1 bytes (one more than allowed shows it is
// too big), or the errno that stopped it.
std::string ReadFile(const std::string& path, size_t max_bytes, int* error) {
  *error = 0;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = errno;
    return "";
  }
  std::string text;
  char buf[65536];
  while (text.size() <= max_bytes) {
    const size_t want = std::min(sizeof(buf), max_bytes + 1 - text.size());
    const ssize_t n = read(fd, buf, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) *error = errno;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

}  // namespace

std::vector<std::string> HfmirrorMounts(const std::string& mountinfo) {
  std::vector<std::string> out;
  std::istringstream lines(mountinfo);
  std::string line;
  while (std::getline(lines, line)) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (f.size() < 5 || dash + 1 >= f.size()) continue;
    if (f[dash + 1] != "fuse.hfmirror") continue;
    // Mounts stacked on one path: only the top one can be reached, once.
    std::string path = Unescape(f[4]);
    if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(std::move(path));
  }
  return out;
}

int RunStatus(const std::string& mountpoint, bool json, std::FILE* out, std::FILE* err) {
  int error = 0;
  const std::vector<std::string> mounts = HfmirrorMounts(ReadFile("/proc/self/mountinfo", kMaxMountinfoBytes, &error));
  std::vector<std::string> wanted;
  if (mountpoint.empty()) {
    wanted = mounts;
  } else {
    std::string m = mountpoint;
    while (m.size() > 1 && m.back() == '/') m.pop_back();
    if (std::find(mounts.begin(), mounts.end(), m) == mounts.end()) {
      std::fprintf(err, "hfmirror status: %s is not an hfmirror mount\n", EscapeUnsafeText(mountpoint).c_str());
      return 1;
    }
    wanted.push_back(m);
  }
  if (wanted.empty() && !json) std::fprintf(out, "no hfmirror mounts\n");
  int rc = 0;
  nlohmann::json all = nlohmann::json::array();
  for (const auto& m : wanted) {
    const std::string shown = EscapeUnsafeText(m);
    const std::string text = ReadFile(m + "/.hfmirror/stats.json", kMaxStatsBytes, &error);
    if (error == ENOTCONN) {
      std::fprintf(err, "hfmirror status: %s: its daemon is gone (%s); unmount it with: fusermount3 -uz %s\n",
                   shown.c_str(), std::strerror(error), shown.c_str());
      rc = 1;
      continue;
    }
    if (error != 0) {
      std::fprintf(err, "hfmirror status: cannot read %s/.hfmirror/stats.json: %s\n", shown.c_str(),
                   std::strerror(error));
      rc = 1;
      continue;
    }
    auto stats = ParseMountStats(text);
    if (!stats.ok()) {
      std::fprintf(err, "hfmirror status: %s: %s\n", shown.c_str(), stats.status().message().c_str());
      rc = 1;
      continue;
    }
    if (json) {
      (*stats)["mountpoint"] = m;
      all.push_back(std::move(*stats));
    } else {
      std::fputs(FormatMountStats(m, *stats).c_str(), out);
    }
  }
  // Control characters come out as \u escapes; bytes that are not UTF-8
  // (a mount point may hold any) as U+FFFD instead of an exception.
  if (json) std::fprintf(out, "%s\n", all.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  return rc;
}

}  // namespace hfm::cli
