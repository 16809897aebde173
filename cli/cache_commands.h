// `hfmirror cache stats | ls | verify | gc | evict | purge`: what the cache
// holds, per repo and revision, and taking things out of it. They work on
// the cache directory alone (no network), beside a running mount too: a file
// dropped under a reader is a cache miss to it, never wrong bytes.
//
// Each returns the exit status, printing results to `out` and problems to
// `err`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "cli/cli_context.h"

namespace hfm::cli {

int RunCacheStats(CliContext& ctx, std::FILE* out, std::FILE* err);

// One line per cached repo@commit: its branches and tags, files complete of
// all, bytes cached of all, and a state (complete, partial, listed); then
// what no listing names and the totals. `json`: the same as one object.
int RunCacheLs(CliContext& ctx, bool json, std::FILE* out, std::FILE* err);

// Re-hashes every complete file; a file whose bytes no longer match is named
// and dropped. 1 if any was.
int RunCacheVerify(CliContext& ctx, std::FILE* out, std::FILE* err);

// Drops whole files, least recently used first, until the cache holds at most
// `max_size` ("50G", "512M", bytes).
int RunCacheGc(CliContext& ctx, const std::string& max_size, std::FILE* out, std::FILE* err);

// Drops the cached bytes of ORG/NAME (every cached revision) or ORG/NAME@REV,
// keeping files another cached repo or revision also has.
int RunCacheEvict(CliContext& ctx, const std::string& spec, std::FILE* out, std::FILE* err);

// Empties the cache: every file, listing and resolution. Without `yes` it
// only says what it would drop, and returns 1.
int RunCachePurge(CliContext& ctx, bool yes, std::FILE* out, std::FILE* err);

}  // namespace hfm::cli
