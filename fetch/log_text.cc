#include "fetch/log_text.h"

namespace hfm {

std::string LogSafe(std::string_view text, size_t max_bytes) {
  static const char kHex[] = "0123456789abcdef";
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(0, max_bytes);
  std::string out;
  out.reserve(text.size() + 3);
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f || c == '\\' || c == '"') {
      out.append("\\x");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (cut) out.append("...");
  return out;
}

}  // namespace hfm
