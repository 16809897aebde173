// Fuzzes the path and URL handling that turns names from the kernel and the
// network into repo names, file names and request URLs:
//   ParseRepoDirName / IsValidOrgName (fs/repo_name.h), RepoPathProblem
//   (fetch/repo_path.h), PercentEncodePath{,Segment} / PercentEncodeRevision,
//   ResolveRedirect and StripQuery (fetch/url.h).
//
// ParseRepoDirName and RepoPathProblem are compared with reference models
// written from their headers; a parsed repo name must round-trip through
// PercentEncodeRevision; every encoding must decode back to its input; a
// resolved redirect must be a parseable http(s) URL without a fragment, blanks
// or dot segments that resolves to itself, and a relative Location must never
// leave the answering host (the token goes only to the endpoint's host);
// StripQuery must never keep a query or userinfo.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fetch/repo_path.h"
#include "fetch/url.h"
#include "fs/tree/repo_name.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using hfm_fuzz::Escape;

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Strict %XX decoding; nullopt on a malformed escape. `*decoded_nul` is set
// if "%00" was decoded.
std::optional<std::string> Decode(std::string_view s, bool* decoded_nul = nullptr) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = Hex(s[i + 1]);
    const int lo = Hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    if (hi == 0 && lo == 0 && decoded_nul) *decoded_nul = true;
    out += static_cast<char>(hi << 4 | lo);
    i += 2;
  }
  return out;
}

// ---- ParseRepoDirName ----

bool ReferenceRepoPart(std::string_view s) {
  if (s.empty() || s.size() > 96 || s.front() == '.') return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::optional<hfm::RepoDirName> ReferenceRepoDirName(std::string_view component) {
  const size_t at = component.find('@');
  hfm::RepoDirName out;
  out.name = std::string(component.substr(0, at));
  if (!ReferenceRepoPart(out.name)) return std::nullopt;
  if (at == std::string_view::npos) return out;
  const std::string_view rev = component.substr(at + 1);
  // A "%00" is refused; a raw NUL byte is not (the kernel never passes one in a name).
  bool decoded_nul = false;
  const auto decoded = Decode(rev, &decoded_nul);
  if (!decoded || decoded->empty() || decoded_nul || decoded->front() == '/' ||
      decoded->back() == '/' || decoded->find("..") != std::string::npos) {
    return std::nullopt;
  }
  out.revision = *decoded;
  return out;
}

std::string Show(const std::optional<hfm::RepoDirName>& r) {
  return r ? "{name " + Escape(r->name) + ", revision " + Escape(r->revision) + "}" : std::string("nullopt");
}

bool Same(const std::optional<hfm::RepoDirName>& a, const std::optional<hfm::RepoDirName>& b) {
  if (!a || !b) return !a && !b;
  return a->name == b->name && a->revision == b->revision;
}

void CheckRepoDirName(std::string_view component) {
  const auto got = hfm::ParseRepoDirName(component);
  const auto want = ReferenceRepoDirName(component);
  FUZZ_CHECK(Same(got, want), Escape(component) + " -> " + Show(got) + ", the reference says " + Show(want));
  FUZZ_CHECK(hfm::IsValidOrgName(component) == ReferenceRepoPart(component), "IsValidOrgName " + Escape(component));
  // What the filesystem shows for a repo must parse back to the same repo
  // (a raw NUL, which no name from the kernel holds, would be shown as the
  // refused "%00").
  if (!got || got->revision.find('\0') != std::string::npos) return;
  const std::string shown =
      got->revision.empty() ? got->name : got->name + "@" + hfm::PercentEncodeRevision(got->revision);
  const auto again = hfm::ParseRepoDirName(shown);
  FUZZ_CHECK(Same(again, got), Escape(component) + " -> " + Show(got) + " shown as " + Escape(shown) + " -> " +
                                   Show(again));
}

// ---- RepoPathProblem ----

bool ReferencePathSafe(std::string_view path) {
  if (path.empty() || path.size() > hfm::kMaxRepoPathBytes) return false;
  size_t depth = 0;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string_view seg = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (seg.empty() || seg == "." || seg == ".." || seg.size() > hfm::kMaxRepoPathSegmentBytes) return false;
    if (seg.find('\0') != std::string_view::npos) return false;
    if (++depth > hfm::kMaxRepoPathDepth) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

void CheckRepoPath(std::string_view path) {
  const std::string_view problem = hfm::RepoPathProblem(path);
  FUZZ_CHECK(problem.empty() == ReferencePathSafe(path),
             Escape(path) + ": RepoPathProblem says " + Escape(problem) + ", the reference says " +
                 (ReferencePathSafe(path) ? "safe" : "unsafe"));
}

// ---- percent-encoding ----

void CheckEncoding(std::string_view s) {
  const std::string seg = hfm::PercentEncodePathSegment(s);
  for (size_t i = 0; i < seg.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(seg[i]);
    if (c == '%') {
      FUZZ_CHECK(i + 2 < seg.size() && std::string_view("0123456789ABCDEF").find(seg[i + 1]) != std::string_view::npos &&
                     std::string_view("0123456789ABCDEF").find(seg[i + 2]) != std::string_view::npos,
                 Escape(s) + " -> " + Escape(seg));
      i += 2;
    } else {
      FUZZ_CHECK(IsUnreserved(c), Escape(s) + " -> " + Escape(seg) + " keeps a reserved byte");
    }
  }
  FUZZ_CHECK(Decode(seg) == std::string(s), Escape(s) + " -> " + Escape(seg) + " does not decode back");
  FUZZ_CHECK(hfm::PercentEncodeRevision(s) == seg, Escape(s));

  const std::string path = hfm::PercentEncodePath(s);
  FUZZ_CHECK(Decode(path) == std::string(s), Escape(s) + " -> " + Escape(path) + " does not decode back");
  // The same '/'s, each segment encoded as a segment.
  size_t start = 0, out_start = 0;
  while (true) {
    const size_t slash = s.find('/', start);
    const size_t out_slash = path.find('/', out_start);
    FUZZ_CHECK((slash == std::string_view::npos) == (out_slash == std::string::npos),
               Escape(s) + " -> " + Escape(path) + ": the '/'s differ");
    const std::string_view in_seg = s.substr(start, slash == std::string_view::npos ? slash : slash - start);
    const std::string_view out_seg =
        std::string_view(path).substr(out_start, out_slash == std::string::npos ? out_slash : out_slash - out_start);
    FUZZ_CHECK(out_seg == hfm::PercentEncodePathSegment(in_seg), Escape(s) + " -> " + Escape(path));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
    out_start = out_slash + 1;
  }
}

// ---- redirects ----

bool HasBlankOrControl(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return true;
  }
  return false;
}

bool HasDotSegment(std::string_view path_and_query) {
  const std::string_view path = path_and_query.substr(0, path_and_query.find('?'));
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string_view seg = path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (seg == "." || seg == "..") return true;
    if (slash == std::string_view::npos) return false;
    start = slash + 1;
  }
}

bool IsRelative(std::string_view location) {
  while (!location.empty() && (location.front() == ' ' || location.front() == '\t')) location.remove_prefix(1);
  if (location.starts_with("//")) return false;
  // RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
  for (size_t i = 0; i < location.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(location[i]);
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (c == ':') return i == 0;
    if (!(alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')))) return true;
  }
  return true;
}

// A base URL like the ones HubClient asks: a clean endpoint and an encoded
// repo path. Invariants that depend on the base being clean use only these.
std::string CleanBase(FuzzedDataProvider& in) {
  static const char* const kOrigins[] = {"https://huggingface.co", "http://127.0.0.1:8080",
                                         "https://cdn-lfs.hf.co", "http://[::1]:9000", "https://hf-mirror.com"};
  std::string base = kOrigins[in.ConsumeIntegralInRange<size_t>(0, 4)];
  // As HubClient builds them: a revision ParseRepoDirName accepted (or a
  // commit), a path RepoPathProblem accepted.
  std::string revision = in.ConsumeRandomLengthString(40);
  if (revision.empty() || revision.find("..") != std::string::npos || revision == ".") revision = "main";
  std::string path = in.ConsumeRandomLengthString(80);
  if (!hfm::RepoPathProblem(path).empty()) path = "config.json";
  base += "/api/models/org/name/resolve/" + hfm::PercentEncodeRevision(revision) + "/" + hfm::PercentEncodePath(path);
  if (in.ConsumeBool()) base += "?X-Amz-Signature=" + hfm::PercentEncodePathSegment(in.ConsumeRandomLengthString(20));
  return base;
}

void CheckRedirect(FuzzedDataProvider& in) {
  const bool clean = in.ConsumeBool();
  const std::string base = clean ? CleanBase(in) : in.ConsumeRandomLengthString(200);
  const std::string location = in.ConsumeRemainingBytesAsString();
  const std::optional<std::string> r = hfm::ResolveRedirect(base, location);
  if (!r) return;
  const std::string detail = "base " + Escape(base) + " + Location " + Escape(location) + " -> " + Escape(*r);
  const auto parsed = hfm::ParseUrl(*r);
  FUZZ_CHECK(parsed.has_value(), detail + " does not parse");
  FUZZ_CHECK(r->starts_with("http://") || r->starts_with("https://"), detail);
  FUZZ_CHECK(r->find('#') == std::string::npos, detail + " keeps a fragment");
  if (!clean) return;
  FUZZ_CHECK(!HasBlankOrControl(*r), detail + " has a blank, control or non-ASCII byte");
  FUZZ_CHECK(!HasDotSegment(parsed->path_and_query), detail + " has a dot segment");
  if (IsRelative(location)) {
    FUZZ_CHECK(hfm::SameHost(base, *r), detail + ": a relative Location changed the host");
  }
  const std::optional<std::string> again = hfm::ResolveRedirect(base, *r);
  FUZZ_CHECK(again == r, detail + ", which resolves to " + (again ? Escape(*again) : std::string("nullopt")));
}

void CheckStripQuery(std::string_view url) {
  const std::string s = hfm::StripQuery(url);
  const std::string detail = Escape(url) + " -> " + Escape(s);
  FUZZ_CHECK(s.find_first_of("?#") == std::string::npos, detail + " keeps a query or fragment");
  const size_t sep = s.find("://");
  if (sep != std::string::npos) {
    const std::string_view authority = std::string_view(s).substr(sep + 3, s.find('/', sep + 3) - (sep + 3));
    FUZZ_CHECK(authority.find('@') == std::string_view::npos, detail + " keeps userinfo");
  }
  if (hfm::ParseUrl(url)) FUZZ_CHECK(hfm::SameHost(url, s), detail + " changed the host");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckRepoDirName(text);
  CheckRepoPath(text);
  CheckEncoding(text);
  CheckStripQuery(text);
  FuzzedDataProvider in(data, size);
  CheckRedirect(in);
  return 0;
}
