// `hfmirror lock ORG/NAME[@REV] [more...] [-o FILE]`: writes a lock file
// (fetch/lock_file.h) of each repo's commit and every file's size and hash,
// as the configured endpoints (the trusted one, when set) list them, for
// `mount.hfmirror -o lock=FILE` and `hfmirror prefetch --lock FILE` to verify
// against later with no trusted endpoint.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli_context.h"

namespace hfm::cli {

struct LockCommand {
  CLI::App* command = nullptr;
  std::vector<std::string> specs;  // ORG/NAME[@REV], datasets/..., spaces/...
  std::string output;              // -o FILE; "" = stdout
};

// Adds the `lock` subcommand to `app`; the caller adds the common flags.
std::unique_ptr<LockCommand> AddLockCommand(CLI::App* app);

// Returns the exit status: 0 when every repo was locked and the file written;
// 1 (naming the repo) otherwise, and then no file is written.
int RunLock(CliContext& context, const LockCommand& request, std::FILE* out, std::FILE* err);

}  // namespace hfm::cli
