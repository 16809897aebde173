#include "fetch/retry_after.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace hfm {
namespace {

constexpr int64_t kMaxWaitSeconds = std::chrono::duration_cast<std::chrono::seconds>(kMaxServerWait).count();
// Real dates are at most ~33 bytes; anything much longer is not one.
constexpr size_t kMaxDateBytes = 64;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view v) {
  while (!v.empty() && IsBlank(v.front())) v.remove_prefix(1);
  while (!v.empty() && IsBlank(v.back())) v.remove_suffix(1);
  return v;
}

bool EqualsLower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (Lower(text[i]) != lower[i]) return false;
  }
  return true;
}

// Decimal digits only; values past the cap saturate there, so no input can
// overflow.
std::optional<int64_t> ParseSeconds(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    v = std::min<int64_t>(v * 10 + (c - '0'), kMaxWaitSeconds + 1);
  }
  return v;
}

// A date's number: 1 to 4 decimal digits.
std::optional<int64_t> ParseDateNumber(std::string_view s) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

Duration CappedSeconds(int64_t seconds) {
  return std::chrono::seconds(std::clamp<int64_t>(seconds, 0, kMaxWaitSeconds));
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
// (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int MonthNumber(std::string_view token) {
  static constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                               "jul", "aug", "sep", "oct", "nov", "dec"};
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (EqualsLower(token, kMonths[i])) return static_cast<int>(i) + 1;
  }
  return 0;
}

bool IsWeekday(std::string_view token) {
  static constexpr std::array<std::string_view, 14> kDays = {
      "mon", "tue", "wed", "thu", "fri", "sat", "sun",
      "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
  return std::any_of(kDays.begin(), kDays.end(), [&](std::string_view d) { return EqualsLower(token, d); });
}

// "HH:MM:SS" -> seconds of the day.
std::optional<int64_t> ParseTimeOfDay(std::string_view token) {
  int64_t parts[3];
  for (int i = 0; i < 3; ++i) {
    const size_t colon = token.find(':');
    const std::string_view part = i < 2 ? token.substr(0, colon) : token;
    if ((i < 2 && colon == std::string_view::npos) || part.size() > 2) return std::nullopt;
    const auto v = ParseDateNumber(part);
    if (!v) return std::nullopt;
    parts[i] = *v;
    if (i < 2) token.remove_prefix(colon + 1);
  }
  if (parts[0] > 23 || parts[1] > 59 || parts[2] > 60) return std::nullopt;
  return parts[0] * 3600 + parts[1] * 60 + parts[2];
}

// The three HTTP-date forms share their parts: an optional weekday, a day, a
// month name, a year (2 or 4 digits), a time and "GMT"; only the order and the
// separators differ. The day always comes before the year.
std::optional<int64_t> ParseHttpDate(std::string_view value) {
  if (value.size() > kMaxDateBytes) return std::nullopt;
  std::vector<std::string_view> tokens;
  size_t start = 0;
  for (size_t i = 0; i <= value.size(); ++i) {
    const bool sep = i == value.size() || IsBlank(value[i]) || value[i] == ',' || value[i] == '-';
    if (!sep) continue;
    if (i > start) tokens.push_back(value.substr(start, i - start));
    start = i + 1;
  }
  int month = 0;
  std::optional<int64_t> time;
  std::vector<std::string_view> numbers;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string_view t = tokens[i];
    if (t.find(':') != std::string_view::npos) {
      if (time) return std::nullopt;
      time = ParseTimeOfDay(t);
      if (!time) return std::nullopt;
    } else if (IsDigit(t[0])) {
      if (!ParseDateNumber(t)) return std::nullopt;
      numbers.push_back(t);
    } else if (int m = MonthNumber(t); m != 0 && month == 0) {
      month = m;
    } else if (i == 0 && IsWeekday(t)) {
      continue;
    } else if (i + 1 == tokens.size() && (EqualsLower(t, "gmt") || EqualsLower(t, "utc"))) {
      continue;
    } else {
      return std::nullopt;
    }
  }
  if (month == 0 || !time || numbers.size() != 2 || numbers[0].size() > 2) return std::nullopt;
  const int64_t day = *ParseDateNumber(numbers[0]);
  int64_t year = *ParseDateNumber(numbers[1]);
  if (numbers[1].size() == 2) {
    year += year < 70 ? 2000 : 1900;  // RFC 850's two-digit years
  } else if (numbers[1].size() != 4) {
    return std::nullopt;
  }
  if (day < 1 || day > 31 || year < 1970) return std::nullopt;
  return DaysFromCivil(year, month, day) * 86400 + *time;
}

// Splits `text` at `sep` outside double quotes (a backslash escapes inside
// them), as structured fields (RFC 8941) are written.
std::vector<std::string_view> SplitOutsideQuotes(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && c == sep) {
      parts.push_back(Trim(text.substr(start, i - start)));
      start = i + 1;
    }
  }
  parts.push_back(Trim(text.substr(std::min(start, text.size()))));
  return parts;
}

// "key=value" outside quotes -> (lower-cased key, value); nullopt otherwise.
std::optional<std::pair<std::string, std::string_view>> KeyValue(std::string_view part) {
  if (part.empty() || part[0] == '"') return std::nullopt;
  const size_t eq = part.find('=');
  if (eq == std::string_view::npos) return std::nullopt;
  std::string key(Trim(part.substr(0, eq)));
  for (char& c : key) c = Lower(c);
  return std::make_pair(std::move(key), Trim(part.substr(eq + 1)));
}

struct Policy {
  std::optional<int64_t> remaining;
  int64_t reset = 0;
};

}  // namespace

std::optional<Duration> ParseRetryAfter(std::string_view value, int64_t now_wall_seconds) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (IsDigit(value[0])) {
    if (const auto seconds = ParseSeconds(value)) return CappedSeconds(*seconds);
    // Not all digits: maybe an asctime-less date such as "06 Nov 1994 ...".
  }
  const auto epoch = ParseHttpDate(value);
  if (!epoch) return std::nullopt;
  return CappedSeconds(std::clamp<int64_t>(*epoch - now_wall_seconds, 0, kMaxWaitSeconds));
}

std::optional<Duration> ParseRateLimit(std::string_view value) {
  std::vector<Policy> policies;
  std::optional<int64_t> legacy_remaining, legacy_reset;
  for (std::string_view member : SplitOutsideQuotes(value, ',')) {
    // A member is `name;r=..;t=..`; the name may be missing. Older drafts
    // wrote one dictionary instead: "limit=500, remaining=0, reset=42".
    std::optional<int64_t> remaining, reset;
    for (std::string_view part : SplitOutsideQuotes(member, ';')) {
      const auto kv = KeyValue(part);
      if (!kv) continue;
      if (kv->first == "r") remaining = ParseSeconds(kv->second);
      if (kv->first == "t") reset = ParseSeconds(kv->second);
      if (kv->first == "remaining") legacy_remaining = ParseSeconds(kv->second);
      if (kv->first == "reset") legacy_reset = ParseSeconds(kv->second);
    }
    if (reset) policies.push_back(Policy{remaining, *reset});
  }
  if (policies.empty() && legacy_reset) policies.push_back(Policy{legacy_remaining, *legacy_reset});
  if (policies.empty()) return std::nullopt;

  std::optional<int64_t> exhausted_max, any_min;
  for (const Policy& p : policies) {
    if (p.remaining && *p.remaining == 0) exhausted_max = std::max(exhausted_max.value_or(0), p.reset);
    any_min = std::min(any_min.value_or(p.reset), p.reset);
  }
  return CappedSeconds(exhausted_max ? *exhausted_max : *any_min);
}

std::optional<Duration> ServerRequestedWait(const HttpResponseHead& head, int64_t now_wall_seconds) {
  if (head.status != 429 && head.status != 503) return std::nullopt;
  std::optional<Duration> wait;
  auto take = [&wait](std::optional<Duration> d) {
    if (d) wait = std::max(wait.value_or(Duration::zero()), *d);
  };
  std::string rate_limit;  // several header lines are one comma-separated list
  for (const auto& [name, value] : head.headers) {
    if (name == "ratelimit") rate_limit += (rate_limit.empty() ? "" : ",") + value;
  }
  if (head.HasHeader("retry-after")) take(ParseRetryAfter(head.Header("retry-after"), now_wall_seconds));
  if (!rate_limit.empty()) take(ParseRateLimit(rate_limit));
  return wait;
}

}  // namespace hfm
