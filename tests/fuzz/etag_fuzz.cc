// Fuzzes NormalizeEtag (ETag / X-Linked-Etag -> the content hash inside).
//
// The answer is always a contiguous part of the input with no surrounding
// blanks unless they were inside quotes; and for any text h, the forms the
// Hub sends ("h", W/"h", w/ "h" with blanks around) normalize back to
// exactly h, while h itself comes back unchanged when it needs no stripping.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fetch/etag.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using hfm_fuzz::Escape;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

void Expect(const std::string& in, std::string_view want) {
  const std::string got = hfm::NormalizeEtag(in);
  FUZZ_CHECK(got == want, Escape(in) + " -> " + Escape(got) + ", expected " + Escape(want));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string out = hfm::NormalizeEtag(in);
  const std::string detail = Escape(in) + " -> " + Escape(out);
  FUZZ_CHECK(out.size() <= in.size(), detail);
  FUZZ_CHECK(in.find(out) != std::string_view::npos, detail);
  // Without blanks or a '/', only one pair of surrounding quotes can go.
  if (in.find_first_of(" \t/") == std::string_view::npos) {
    const bool quoted = in.size() >= 2 && in.front() == '"' && in.back() == '"';
    FUZZ_CHECK(quoted ? out == in.substr(1, in.size() - 2) : out == in, detail);
  }

  const std::string h(in);
  Expect("\"" + h + "\"", h);
  Expect("W/\"" + h + "\"", h);
  Expect(" \tw/ \"" + h + "\"\t ", h);
  // A value with nothing to strip comes back as it is.
  const bool plain = !h.empty() && !IsBlank(h.front()) && !IsBlank(h.back()) && h.front() != '"' &&
                     !(h.size() >= 2 && (h[0] == 'W' || h[0] == 'w') && h[1] == '/');
  if (plain) Expect(h, h);
  return 0;
}
