// Text from the network (paths from a listing, X-Error-Message values) made
// safe for one log line: control bytes and quotes escaped, length capped, so a
// hostile server cannot forge log lines or flood them.
//
// Thread safety: pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hfm {

// `text` cut to at most `max_bytes` input bytes ("..." marks a cut), with
// what EscapeUnsafeText (util/safe_text.h) escapes, '\\' and '"' written as
// \xNN: quoted in a message, it cannot close its quotes.
std::string LogSafe(std::string_view text, size_t max_bytes = 200);

}  // namespace hfm
