// Tree listing parsing: one page of GET /api/{kind}s/{repo}/tree/{commit}
// (a JSON array of entries, see "Tree listing and pagination" in
// fetch/PROTOCOL.md) into TreeEntry values, and the checks a whole listing
// needs before it becomes a directory tree.
//
// The input comes from the network, so neither function trusts it: any byte
// string is safe to pass (no crash, no exception, work bounded by the input's
// size). Entries that cannot be trusted are skipped with one warning line
// each (capped at 100 lines per call, then one summary line, so a hostile page
// cannot flood the log).
//
// Thread safety: pure functions (they only log).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "fetch/hub_client.h"
#include "util/status.h"

namespace hfm {

// Largest file size accepted from a listing (1 PiB): larger is corruption.
constexpr uint64_t kMaxTreeEntrySize = uint64_t{1} << 50;

// Parses one page. `log_context` (repo, commit, endpoint) prefixes log lines
// and errors. An entry is skipped when: it is not an object; `type` is not
// "file" or "directory"; `path` is missing or unsafe (see repo_path.h); or,
// for a file, its size (lfs.size, else size) is missing, negative,
// non-integer or over kMaxTreeEntrySize, or its hash (lfs.oid: 64 hex; else
// oid: 40 hex) is malformed. For LFS files the hash is the sha256 and
// is_lfs is set; otherwise the git blob sha1.
// Returns DataLoss if the text is not JSON or not a JSON array.
Result<std::vector<TreeEntry>> ParseTreePage(std::string_view json_text, std::string_view log_context);

// Makes a whole listing (all pages) consistent, sorted by path so that a
// directory precedes its contents:
//  - drops entries with unsafe paths;
//  - drops a file whose path is also a directory (listed, or the parent of
//    another entry): one path cannot be both;
//  - drops later duplicates of a path (the first wins);
//  - adds directory entries for parents the listing left out.
std::vector<TreeEntry> ValidateListing(std::vector<TreeEntry> entries, std::string_view log_context);

}  // namespace hfm
