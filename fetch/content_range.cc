#include "fetch/content_range.h"

namespace hfm {
namespace {

constexpr uint64_t kMaxValue = uint64_t{1} << 62;

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view v) {
  while (!v.empty() && IsSpace(v.front())) v.remove_prefix(1);
  while (!v.empty() && IsSpace(v.back())) v.remove_suffix(1);
  return v;
}

std::optional<uint64_t> ParseNumber(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');  // 19 digits cannot wrap
  }
  if (value > kMaxValue) return std::nullopt;
  return value;
}

}  // namespace

std::optional<ContentRange> ParseContentRange(std::string_view value) {
  value = Trim(value);
  constexpr std::string_view kUnit = "bytes";
  if (value.size() <= kUnit.size()) return std::nullopt;
  for (size_t i = 0; i < kUnit.size(); ++i) {
    const char c = value[i];
    if ((c | 0x20) != kUnit[i]) return std::nullopt;
  }
  if (!IsSpace(value[kUnit.size()])) return std::nullopt;
  value = Trim(value.substr(kUnit.size()));

  const size_t slash = value.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view range = value.substr(0, slash);
  const std::string_view total = value.substr(slash + 1);

  ContentRange out;
  if (total != "*") {
    out.total = ParseNumber(total);
    if (!out.total) return std::nullopt;
  }
  if (range == "*") {
    if (!out.total) return std::nullopt;  // "*/*" says nothing
    out.unsatisfied = true;
    return out;
  }
  const size_t dash = range.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto first = ParseNumber(range.substr(0, dash));
  const auto last = ParseNumber(range.substr(dash + 1));
  if (!first || !last || *first > *last) return std::nullopt;
  if (out.total && *last >= *out.total) return std::nullopt;
  out.first = *first;
  out.last = *last;
  return out;
}

}  // namespace hfm
