#include "fetch/url.h"

#include <cstdint>
#include <vector>

namespace hfm {
namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool IsAlpha(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLower(c);
  return out;
}

int DefaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

// The scheme of `ref` if it starts with one ("scheme:"), else "".
std::string_view SchemeOf(std::string_view ref) {
  if (ref.empty() || !IsAlpha(static_cast<unsigned char>(ref[0]))) return {};
  for (size_t i = 1; i < ref.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(ref[i]);
    if (c == ':') return ref.substr(0, i);
    if (!(IsAlpha(c) || IsDigit(c) || c == '+' || c == '-' || c == '.')) return {};
  }
  return {};
}

bool HasControlOrSpace(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return true;
  }
  return false;
}

// RFC 3986 section 5.2.4 on a path that starts with '/'. Each step consumes
// one segment, so the work is linear in the path length.
std::string RemoveDotSegments(std::string_view path) {
  std::vector<std::string_view> out;
  bool trailing_slash = false;
  std::string_view rest = path.substr(1);
  while (true) {
    const size_t slash = rest.find('/');
    const bool last = slash == std::string_view::npos;
    const std::string_view seg = last ? rest : rest.substr(0, slash);
    if (seg == ".") {
      trailing_slash = last;
    } else if (seg == "..") {
      if (!out.empty()) out.pop_back();
      trailing_slash = last;
    } else {
      out.push_back(seg);
      trailing_slash = false;
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  std::string result;
  result.reserve(path.size());
  for (const auto& seg : out) {
    result.push_back('/');
    result.append(seg);
  }
  if (result.empty() || trailing_slash) result.push_back('/');
  return result;
}

// Splits "path?query" and normalizes the path part.
std::string NormalizePathAndQuery(std::string_view path_and_query) {
  const size_t q = path_and_query.find('?');
  std::string_view path = path_and_query.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : path_and_query.substr(q);
  std::string out = path.empty() ? std::string("/") : RemoveDotSegments(path);
  out.append(query);
  return out;
}

std::string_view DropFragment(std::string_view s) { return s.substr(0, s.find('#')); }

// Servers sometimes put raw spaces or UTF-8 in a Location; curl refuses
// such URLs, so they are percent-encoded (the rest is left as sent).
std::string EncodeSpacesAndNonAscii(std::string_view s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c == ' ' || c >= 0x80) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace

std::string PercentEncodePathSegment(std::string_view segment) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (unsigned char c : segment) {
    if (IsUnreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string PercentEncodePath(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  while (true) {
    const size_t slash = path.find('/');
    out.append(PercentEncodePathSegment(path.substr(0, slash)));
    if (slash == std::string_view::npos) break;
    out.push_back('/');
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string PercentEncodeRevision(std::string_view revision) {
  return PercentEncodePathSegment(revision);
}

std::string ParsedUrl::Origin() const {
  std::string out = scheme + "://" + host;
  if (port != DefaultPort(scheme)) out += ":" + std::to_string(port);
  return out;
}

std::optional<ParsedUrl> ParseUrl(std::string_view url) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  ParsedUrl out;
  out.scheme = Lower(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  const size_t auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view tail = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);

  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);

  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
  }
  if (host.empty() || HasControlOrSpace(host)) return std::nullopt;
  // A ':' left in a host that is not an IPv6 literal ("a:b:80") names no host.
  if (host[0] != '[' && host.find_first_of("[]\\:") != std::string_view::npos) return std::nullopt;
  out.host = Lower(host);
  out.port = DefaultPort(out.scheme);
  if (!port.empty()) {
    if (port.size() > 5) return std::nullopt;
    int value = 0;
    for (unsigned char c : port) {
      if (!IsDigit(c)) return std::nullopt;
      value = value * 10 + (c - '0');
    }
    if (value < 1 || value > 65535) return std::nullopt;
    out.port = value;
  }
  tail = DropFragment(tail);
  if (tail.empty() || tail[0] != '/') out.path_and_query = "/";
  out.path_and_query.append(tail);
  return out;
}

bool SameHost(std::string_view a, std::string_view b) {
  const auto pa = ParseUrl(a);
  const auto pb = ParseUrl(b);
  return pa && pb && pa->scheme == pb->scheme && pa->host == pb->host && pa->port == pb->port;
}

namespace {

std::optional<std::string> ResolveRedirectUnchecked(std::string_view base_url, std::string_view location) {
  while (!location.empty() && (location.front() == ' ' || location.front() == '\t')) location.remove_prefix(1);
  while (!location.empty() && (location.back() == ' ' || location.back() == '\t')) location.remove_suffix(1);
  if (location.empty()) return std::nullopt;
  for (unsigned char c : location) {
    if (c < 0x20 || c == 0x7f) return std::nullopt;
  }
  const auto base = ParseUrl(base_url);
  if (!base) return std::nullopt;
  const std::string encoded = EncodeSpacesAndNonAscii(location);
  location = encoded;

  std::optional<ParsedUrl> target;
  if (!SchemeOf(location).empty()) {
    target = ParseUrl(location);
  } else if (location.size() >= 2 && location[0] == '/' && location[1] == '/') {
    target = ParseUrl(base->scheme + ":" + std::string(location));
  }
  if (target) return target->Origin() + NormalizePathAndQuery(target->path_and_query);
  if (!SchemeOf(location).empty() || location.starts_with("//")) return std::nullopt;

  location = DropFragment(location);
  if (location.empty()) return base->Origin() + base->path_and_query;
  const std::string_view base_pq = base->path_and_query;
  const std::string_view base_path = base_pq.substr(0, base_pq.find('?'));
  if (location[0] == '/') return base->Origin() + NormalizePathAndQuery(location);
  if (location[0] == '?') return base->Origin() + std::string(base_path) + std::string(location);
  // A relative path replaces the last segment of the base path.
  std::string merged(base_path.substr(0, base_path.rfind('/') + 1));
  merged.append(location);
  return base->Origin() + NormalizePathAndQuery(merged);
}

}  // namespace

std::optional<std::string> ResolveRedirect(std::string_view base_url, std::string_view location) {
  // Whatever the Location said, the caller gets a URL it can parse or none:
  // encoding spaces and bytes can turn a garbled authority (found by fuzzing:
  // "//\xff t\xc3\xbc:6z53") into something that is no URL at all.
  auto resolved = ResolveRedirectUnchecked(base_url, location);
  if (resolved && !ParseUrl(*resolved)) return std::nullopt;
  return resolved;
}

bool HasUserinfo(std::string_view url) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return false;
  const std::string_view rest = url.substr(sep + 3);
  return rest.substr(0, rest.find_first_of("/?#")).find('@') != std::string_view::npos;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  // 127.a.b.c as four decimal octets; "127.evil.com" is a name, not loopback.
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  int digits = 0;
  for (char c : host) {
    if (c == '.') {
      if (digits == 0 || digits > 3) return false;
      ++dots;
      digits = 0;
    } else if (IsDigit(static_cast<unsigned char>(c))) {
      ++digits;
    } else {
      return false;
    }
  }
  return dots == 3 && digits >= 1 && digits <= 3;
}

bool IsCleartextToForeignHost(std::string_view url, const std::vector<std::string>& allowed_hosts) {
  const auto parsed = ParseUrl(url);
  if (!parsed || parsed->scheme != "http" || IsLoopbackHost(parsed->host)) return false;
  for (const std::string& allowed : allowed_hosts) {
    if (Lower(allowed) == parsed->host) return false;
  }
  return true;
}

std::string StripQuery(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::string(url);
  const size_t auth_start = sep + 3;
  const size_t auth_end = url.find('/', auth_start);
  const std::string_view authority = url.substr(auth_start, auth_end == std::string_view::npos
                                                                ? std::string_view::npos
                                                                : auth_end - auth_start);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, auth_start));
  out.append(url.substr(auth_start + at + 1));
  return out;
}

}  // namespace hfm
