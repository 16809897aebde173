#include "util/log.h"

#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include "util/safe_text.h"

namespace hfm {
namespace {

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<bool> g_syslog{false};

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarning: return "WARN";
    case LogLevel::kError: return "ERROR";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_min_level = static_cast<int>(level); }
void SetLogToSyslog(bool on) { g_syslog = on; }

void Log(LogLevel level, std::string_view message) {
  if (static_cast<int>(level) < g_min_level.load()) return;
  // Whatever a caller forgot to escape (a file name with a line break, an
  // escape sequence), one event stays one line and no terminal command.
  const std::string safe = EscapeUnsafeText(message);
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const int millis = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm;
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string line;
  line.reserve(safe.size() + 48);
  line.append(stamp).append(".");
  char ms[8];
  std::snprintf(ms, sizeof(ms), "%03dZ ", millis);
  line.append(ms).append(LevelName(level)).append(" hfmirror: ").append(safe).append("\n");
  // One write(2) per line so concurrent lines never interleave.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
  if (g_syslog.load()) {
    int prio = level == LogLevel::kError ? LOG_ERR : level == LogLevel::kWarning ? LOG_WARNING : LOG_INFO;
    syslog(prio, "%.*s", static_cast<int>(safe.size()), safe.data());
  }
}

}  // namespace hfm
