// Finding the user's Hub token, in the order the official clients use:
// -o token_file=PATH, $HF_TOKEN, $HUGGING_FACE_HUB_TOKEN, the file
// $HF_TOKEN_PATH, else $HF_HOME/token (default ~/.cache/huggingface/token).
//
// A token file is a secret: it is read only if it is a regular file (never
// through a symlink), owned by the user it belongs to (or root), readable
// and writable by nobody else, and at most kMaxTokenFileBytes long.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "util/status.h"

namespace hfm {

// A Hub token is ~40 bytes; anything past this is not a token file.
constexpr uint64_t kMaxTokenFileBytes = 4096;

// The token ("" when none is configured), whitespace stripped.
Result<std::string> LoadToken(const std::string& token_file_option);

// The token in the file at `path`, which `owner` (or root, if
// `root_may_own`) must own. A missing file is "" unless `required`; a file
// failing any check above is InvalidArgument with a message that says how to
// fix it (never the token).
Result<std::string> ReadTokenFile(const std::string& path, uid_t owner, bool required, bool root_may_own = true);

// The token of local user `uid` (-o per_user_token): their
// <home>/.cache/huggingface/token, home from the password database, which
// `uid` itself must own: a root-owned file there could be a hard link to
// root's own secrets. "" when the user has no home or no token file.
Result<std::string> LoadUserToken(uid_t uid);

}  // namespace hfm
