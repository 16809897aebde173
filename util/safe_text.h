// Text from outside (file names from a listing, server messages, another
// mount's stats) made safe for one line of a log or a terminal: control
// characters (C0, DEL, C1), bidirectional overrides and invalid UTF-8 are
// written as \xNN, so such text can neither forge a line nor send escape
// sequences to a terminal. Valid printable UTF-8 passes unchanged.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace hfm {

// `text` with every unsafe byte (see above), and every byte listed in
// `also_escape`, written as \xNN (lower-case hex).
std::string EscapeUnsafeText(std::string_view text, std::string_view also_escape = {});

}  // namespace hfm
