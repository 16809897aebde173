// Finding the user's Hub token, in the order the official clients use:
// -o token_file=PATH, $HF_TOKEN, $HUGGING_FACE_HUB_TOKEN, the file
// $HF_TOKEN_PATH, else $HF_HOME/token (default ~/.cache/huggingface/token).
// A token file readable by other users is refused: it would leak the token.
#pragma once

#include <string>

#include "util/status.h"

namespace hfm {

// The token ("" when none is configured), whitespace stripped.
Result<std::string> LoadToken(const std::string& token_file_option);

}  // namespace hfm
