#include "cli/progress.h"

#include <algorithm>
#include <cmath>

#include "util/safe_text.h"

namespace hfm::cli {

std::string HumanBytes(double bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), unit == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[unit]);
  return buf;
}

std::string HumanDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

std::string ProgressLine(const std::string& what, uint64_t done, uint64_t total, double elapsed, int width) {
  const double fraction = total == 0 ? 1.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  // A rate from the first instants (listing, connecting, one small file)
  // predicts nothing: until half a second has passed it is shown as unknown.
  const bool known = elapsed >= 0.5 || done >= total;
  const double rate = known && elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  const double eta = rate > 0 ? static_cast<double>(total - std::min(done, total)) / rate : -1;
  std::string line = what + " ";
  if (width > 0) {
    const int filled = static_cast<int>(fraction * width);
    line += "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
  }
  char pct[16];
  std::snprintf(pct, sizeof(pct), "%3.0f%%", fraction * 100);
  line += std::string(pct) + " " + HumanBytes(static_cast<double>(done)) + " / " +
          HumanBytes(static_cast<double>(total)) + "  " + (known ? HumanBytes(rate) : std::string("?")) + "/s  ETA " +
          HumanDuration(eta);
  return line;
}

Progress::Progress(std::FILE* out, bool tty, std::string what, uint64_t total, double interval)
    : out_(out), tty_(tty), what_(EscapeUnsafeText(what)), total_(total), interval_(interval) {}

double Progress::Elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::Update(uint64_t done) {
  MutexLock lock(&mu_);
  const double now = Elapsed();
  // A terminal is redrawn ten times a second; a log gets a line per interval.
  const double every = tty_ ? 0.1 : interval_;
  if (last_print_ >= 0 && now - last_print_ < every) return;
  last_print_ = now;
  if (tty_) {
    std::fprintf(out_, "\r\033[K%s", ProgressLine(what_, done, total_, now, 30).c_str());
  } else {
    std::fprintf(out_, "%s\n", ProgressLine(what_, done, total_, now, 0).c_str());
  }
  std::fflush(out_);
}

void Progress::Finish(uint64_t done) {
  MutexLock lock(&mu_);
  const std::string line = ProgressLine(what_, done, total_, Elapsed(), tty_ ? 30 : 0);
  std::fprintf(out_, tty_ ? "\r\033[K%s\n" : "%s\n", line.c_str());
  std::fflush(out_);
}

}  // namespace hfm::cli
