// Invariant checks for the libFuzzer targets in this folder. A failed check
// prints what broke (with the offending values, escaped) and aborts, which
// libFuzzer reports as a crash and saves as crash-<sha1> for replay:
//   build-fuzz/<target> crash-<sha1>
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace hfm_fuzz {

// Printable form of arbitrary bytes for failure messages.
inline std::string Escape(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  out += '"';
  return out;
}

[[noreturn]] inline void Fail(const char* file, int line, const char* cond, const std::string& detail) {
  std::fprintf(stderr, "\n*** fuzz invariant failed at %s:%d: %s\n%s\n", file, line, cond, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace hfm_fuzz

// FUZZ_CHECK(cond, detail): `detail` is a std::string expression, only
// evaluated on failure.
#define FUZZ_CHECK(cond, detail)                                       \
  do {                                                                 \
    if (!(cond)) ::hfm_fuzz::Fail(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)
