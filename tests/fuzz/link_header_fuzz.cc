// Fuzzes ParseNextLink (the tree listing's Link: <...>; rel="next" pagination).
//
// Every input is parsed as a header: an answer must be the trimmed text
// between one '<' and the next '>' of the header (so it holds no '>' and no
// surrounding blanks), and the header must say "next" somewhere. Then the
// input is also split into a URI and a tail to build headers whose answer is
// known: a lone rel="next" / rel=next link is found, a rel="prev" link is not,
// a next link after a prev link is found, and the first next link wins
// whatever garbage follows it.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fetch/link_header.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using hfm_fuzz::Escape;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string Show(const std::optional<std::string>& r) { return r ? Escape(*r) : std::string("nullopt"); }

// Backslashes go first: inside a quoted rel, "ne\xt" is "next".
bool ContainsNextIgnoringCase(std::string_view s) {
  std::string lower(s);
  lower.erase(std::remove(lower.begin(), lower.end(), '\\'), lower.end());
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  return lower.find("next") != std::string::npos;
}

// A URI-reference as it can appear between '<' and '>': no '>' (nor '<', to
// keep it unambiguous), no surrounding blanks.
std::string CleanUri(std::string s) {
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == '<' || c == '>'; }), s.end());
  while (!s.empty() && IsBlank(s.front())) s.erase(s.begin());
  while (!s.empty() && IsBlank(s.back())) s.pop_back();
  return s;
}

void CheckArbitrary(std::string_view header) {
  const std::optional<std::string> r = hfm::ParseNextLink(header);
  if (!r) return;
  const std::string detail = "header " + Escape(header) + " -> " + Show(r);
  FUZZ_CHECK(r->find('>') == std::string::npos, detail);
  FUZZ_CHECK(r->empty() || (!IsBlank(r->front()) && !IsBlank(r->back())), detail);
  FUZZ_CHECK(ContainsNextIgnoringCase(header), detail);
  // Some '<' is followed by blanks, the answer, blanks and '>'.
  bool found = false;
  for (size_t lt = header.find('<'); !found && lt != std::string_view::npos; lt = header.find('<', lt + 1)) {
    size_t i = lt + 1;
    while (i < header.size() && IsBlank(header[i])) ++i;
    if (header.substr(i, r->size()) != *r) continue;
    i += r->size();
    while (i < header.size() && IsBlank(header[i])) ++i;
    found = i < header.size() && header[i] == '>';
  }
  FUZZ_CHECK(found, detail);
}

void Expect(const std::string& header, const std::optional<std::string>& want) {
  const std::optional<std::string> got = hfm::ParseNextLink(header);
  FUZZ_CHECK(got == want, "header " + Escape(header) + " -> " + Show(got) + ", expected " + Show(want));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckArbitrary(std::string_view(reinterpret_cast<const char*>(data), size));

  FuzzedDataProvider in(data, size);
  const std::string uri = CleanUri(in.ConsumeRandomLengthString(512));
  const std::string other = CleanUri(in.ConsumeRandomLengthString(128));
  const std::string tail = in.ConsumeRemainingBytesAsString();
  Expect("<" + uri + ">; rel=\"next\"", uri);
  Expect("<" + uri + ">;rel=next", uri);
  Expect(" < " + uri + " > ; REL = \"Next\" ", uri);
  Expect("<" + uri + ">; rel=\"prev\"", std::nullopt);
  Expect("<" + uri + ">; rel=\"nextpage\"", std::nullopt);
  Expect("<" + other + ">; rel=\"prev\", <" + uri + ">; rel=\"next\"", uri);
  Expect("<" + uri + ">; rel=\"next\", " + tail, uri);
  return 0;
}
