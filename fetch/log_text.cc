#include "fetch/log_text.h"

#include "util/safe_text.h"

namespace hfm {

std::string LogSafe(std::string_view text, size_t max_bytes) {
  const bool cut = text.size() > max_bytes;
  if (cut) text = text.substr(0, max_bytes);
  std::string out = EscapeUnsafeText(text, "\\\"");
  if (cut) out.append("...");
  return out;
}

}  // namespace hfm
