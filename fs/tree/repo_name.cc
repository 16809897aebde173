#include "fs/tree/repo_name.h"

namespace hfm {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

bool IsValidRepoPart(std::string_view name) {
  if (name.empty() || name.size() > 96 || name.front() == '.') return false;
  for (char c : name) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes; nullopt on a malformed escape or a decoded NUL.
std::optional<std::string> PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    int hi = HexDigit(in[i + 1]);
    int lo = HexDigit(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    char c = static_cast<char>(hi << 4 | lo);
    if (c == '\0') return std::nullopt;
    out.push_back(c);
    i += 2;
  }
  return out;
}

}  // namespace

bool IsValidOrgName(std::string_view name) { return IsValidRepoPart(name); }

std::optional<RepoDirName> ParseRepoDirName(std::string_view component) {
  const size_t at = component.find('@');
  RepoDirName out;
  if (at == std::string_view::npos) {
    if (!IsValidRepoPart(component)) return std::nullopt;
    out.name = std::string(component);
    return out;
  }
  std::string_view name = component.substr(0, at);
  std::string_view rev = component.substr(at + 1);
  if (!IsValidRepoPart(name) || rev.empty()) return std::nullopt;
  auto decoded = PercentDecode(rev);
  if (!decoded || decoded->empty() || decoded->front() == '/' || decoded->back() == '/' ||
      decoded->find("..") != std::string::npos) {
    return std::nullopt;
  }
  out.name = std::string(name);
  out.revision = std::move(*decoded);
  return out;
}

}  // namespace hfm
