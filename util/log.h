// Log: one line per event, to stderr (and syslog once the daemon detaches).
// Callers pass the context (repo, revision, path, endpoint) in the message;
// never a token. Control characters and invalid UTF-8 in a message are
// escaped here (util/safe_text.h), so no message can forge a line.
//
// Thread safety: thread-safe; each line is written with one call.
#pragma once

#include <string_view>

namespace hfm {

enum class LogLevel { kDebug = 0, kInfo, kWarning, kError };

void Log(LogLevel level, std::string_view message);
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarning(std::string_view m) { Log(LogLevel::kWarning, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }
inline void LogDebug(std::string_view m) { Log(LogLevel::kDebug, m); }

// Lines below `level` are dropped. Default kInfo.
void SetLogLevel(LogLevel level);
// After daemonizing, stderr is /dev/null: send lines to syslog as well.
void SetLogToSyslog(bool on);

}  // namespace hfm
