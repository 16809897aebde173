#include "cli/status.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "cli/progress.h"

namespace hfm::cli {
namespace {

// mountinfo escapes ' ', '\t', '\n' and '\\' in paths as \ooo.
std::string Unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out.push_back(static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

// The whole file, or the errno that stopped it.
std::string ReadFile(const std::string& path, int* error) {
  *error = 0;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = errno;
    return "";
  }
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) *error = errno;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

void PrintMount(const std::string& mountpoint, const nlohmann::json& s, std::FILE* out) {
  std::fprintf(out, "%s  (hfmirror %s, up %s)\n", mountpoint.c_str(), s.value("version", "?").c_str(),
               HumanDuration(s.value("uptime_seconds", 0.0)).c_str());
  for (const auto& e : s["endpoints"]) {
    std::fprintf(out, "  endpoint %s  %s  requests %llu  failures %llu  bytes %s%s%s\n",
                 e.value("url", "").c_str(), e.value("state", "").c_str(),
                 static_cast<unsigned long long>(e.value("requests", 0ull)),
                 static_cast<unsigned long long>(e.value("failures", 0ull)),
                 HumanBytes(e.value("bytes", 0.0)).c_str(), e.value("last_error", "").empty() ? "" : "  last error: ",
                 e.value("last_error", "").c_str());
  }
  std::fprintf(out, "  fetched %s  served %s  cache hit ratio %.2f  open files %lld  fetches in flight %lld\n",
               HumanBytes(s.value("bytes_fetched", 0.0)).c_str(), HumanBytes(s.value("bytes_served", 0.0)).c_str(),
               s.value("cache_hit_ratio", 0.0), static_cast<long long>(s.value("open_files", 0ll)),
               static_cast<long long>(s.value("fetches_in_flight", 0ll)));
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
  const std::vector<std::string> mounts = HfmirrorMounts(ReadFile("/proc/self/mountinfo", &error));
  std::vector<std::string> wanted;
  if (mountpoint.empty()) {
    wanted = mounts;
  } else {
    std::string m = mountpoint;
    while (m.size() > 1 && m.back() == '/') m.pop_back();
    if (std::find(mounts.begin(), mounts.end(), m) == mounts.end()) {
      std::fprintf(err, "hfmirror status: %s is not an hfmirror mount\n", mountpoint.c_str());
      return 1;
    }
    wanted.push_back(m);
  }
  if (wanted.empty() && !json) std::fprintf(out, "no hfmirror mounts\n");
  int rc = 0;
  nlohmann::json all = nlohmann::json::array();
  for (const auto& m : wanted) {
    const std::string text = ReadFile(m + "/.hfmirror/stats.json", &error);
    auto stats = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (error == ENOTCONN) {
      std::fprintf(err, "hfmirror status: %s: its daemon is gone (%s); unmount it with: fusermount3 -uz %s\n",
                   m.c_str(), std::strerror(error), m.c_str());
      rc = 1;
      continue;
    }
    if (error != 0 || stats.is_discarded()) {
      std::fprintf(err, "hfmirror status: cannot read %s/.hfmirror/stats.json: %s\n", m.c_str(),
                   error ? std::strerror(error) : "not JSON");
      rc = 1;
      continue;
    }
    stats["mountpoint"] = m;
    if (json) {
      all.push_back(stats);
    } else {
      PrintMount(m, stats, out);
    }
  }
  if (json) std::fprintf(out, "%s\n", all.dump(2).c_str());
  return rc;
}

}  // namespace hfm::cli
