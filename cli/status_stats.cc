#include "cli/status_stats.h"

#include <algorithm>
#include <cstdio>
#include <initializer_list>

#include "cli/progress.h"
#include "util/safe_text.h"

namespace hfm::cli {
namespace {

// The deepest nesting of arrays and objects in `text`, counted without
// parsing (brackets inside strings do not count); stops past `limit`.
int NestingDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size() && deepest <= limit; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

enum class Kind { kString, kNumber, kInteger };

bool HasKind(const nlohmann::json& v, Kind kind) {
  switch (kind) {
    case Kind::kString: return v.is_string();
    case Kind::kNumber: return v.is_number();
    case Kind::kInteger: return v.is_number_integer();
  }
  return false;
}

// "" if each present field of `keys` in `object` has `kind`, else the first
// that does not.
std::string WrongField(const nlohmann::json& object, std::initializer_list<const char*> keys, Kind kind) {
  for (const char* key : keys) {
    const auto it = object.find(key);
    if (it != object.end() && !HasKind(*it, kind)) return key;
  }
  return "";
}

std::string CheckShape(const nlohmann::json& s) {
  std::string wrong = WrongField(s, {"version"}, Kind::kString);
  if (wrong.empty()) {
    wrong = WrongField(s, {"uptime_seconds", "bytes_fetched", "bytes_served", "cache_hit_ratio"}, Kind::kNumber);
  }
  if (wrong.empty()) wrong = WrongField(s, {"open_files", "fetches_in_flight"}, Kind::kInteger);
  if (!wrong.empty()) return "field \"" + wrong + "\" has the wrong type";
  const auto endpoints = s.find("endpoints");
  if (endpoints == s.end()) return "";
  if (!endpoints->is_array()) return "field \"endpoints\" is not an array";
  for (const auto& e : *endpoints) {
    if (!e.is_object()) return "an entry of \"endpoints\" is not an object";
    wrong = WrongField(e, {"url", "state", "last_error"}, Kind::kString);
    if (wrong.empty()) wrong = WrongField(e, {"requests", "failures"}, Kind::kInteger);
    if (wrong.empty()) wrong = WrongField(e, {"bytes"}, Kind::kNumber);
    if (!wrong.empty()) return "field \"endpoints[]." + wrong + "\" has the wrong type";
  }
  return "";
}

std::string Text(const nlohmann::json& object, const char* key, const char* missing = "") {
  const auto it = object.find(key);
  return EscapeUnsafeText(it != object.end() ? it->get<std::string>() : std::string(missing));
}

double Number(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() ? it->get<double>() : 0.0;
}

long long Integer(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return 0;
  return it->is_number_unsigned() ? static_cast<long long>(it->get<unsigned long long>()) : it->get<long long>();
}

std::string Ratio(double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", value);
  return buf;
}

}  // namespace

Result<nlohmann::json> ParseMountStats(std::string_view text) {
  if (text.size() > kMaxStatsBytes) {
    return Status::DataLoss("stats.json is larger than " + std::to_string(kMaxStatsBytes >> 20) + " MiB");
  }
  if (NestingDepth(text, kMaxStatsDepth) > kMaxStatsDepth) {
    return Status::DataLoss("stats.json nests deeper than " + std::to_string(kMaxStatsDepth) + " levels");
  }
  auto stats = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (stats.is_discarded()) return Status::DataLoss("stats.json is not JSON");
  if (!stats.is_object()) return Status::DataLoss("stats.json is not a JSON object");
  const std::string wrong = CheckShape(stats);
  if (!wrong.empty()) return Status::DataLoss("stats.json: " + wrong);
  return stats;
}

std::string FormatMountStats(const std::string& mountpoint, const nlohmann::json& s) {
  std::string out = EscapeUnsafeText(mountpoint) + "  (hfmirror " + Text(s, "version", "?") + ", up " +
                    HumanDuration(Number(s, "uptime_seconds")) + ")\n";
  const auto endpoints = s.find("endpoints");
  for (const auto& e : endpoints != s.end() ? *endpoints : nlohmann::json::array()) {
    const std::string last_error = Text(e, "last_error");
    out += "  endpoint " + Text(e, "url") + "  " + Text(e, "state") + "  requests " +
           std::to_string(Integer(e, "requests")) + "  failures " + std::to_string(Integer(e, "failures")) +
           "  bytes " + HumanBytes(Number(e, "bytes")) + (last_error.empty() ? "" : "  last error: " + last_error) +
           "\n";
  }
  out += "  fetched " + HumanBytes(Number(s, "bytes_fetched")) + "  served " + HumanBytes(Number(s, "bytes_served")) +
         "  cache hit ratio " + Ratio(Number(s, "cache_hit_ratio")) + "  open files " +
         std::to_string(Integer(s, "open_files")) + "  fetches in flight " +
         std::to_string(Integer(s, "fetches_in_flight")) + "\n";
  return out;
}

}  // namespace hfm::cli
