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

class ListingCharge;

// Largest file size accepted from a listing (2 TiB): the largest Hub files
// are around 50-100 GB, and a listed size sets what a mount plans for on
// open, so anything far past that is hostile or corrupt.
constexpr uint64_t kMaxTreeEntrySize = uint64_t{1} << 41;

// Parses one page. `log_context` (repo, commit, endpoint) prefixes log lines
// and errors. An entry is skipped when: it is not an object; `type` is not
// "file" or "directory"; `path` is missing or unsafe (see repo_path.h); or,
// for a file, its size (lfs.size, else size) is missing, negative,
// non-integer or over kMaxTreeEntrySize, or its hash (lfs.oid: 64 hex; else
// oid: 40 hex) is malformed. For LFS files the hash is the sha256 and
// is_lfs is set; otherwise the git blob sha1.
// Returns DataLoss if the text is not JSON or not a JSON array, if more than
// 1000 of its entries were skipped, or if every one of them was (a page of
// `{}` is a broken listing, not an empty directory).
// Memory: the page is parsed one entry at a time (never as a whole DOM), and
// each entry kept is charged to `charge` (ListedPathFootprint); when the
// charge fails, so does the call (ResourceExhausted). A null `charge` means
// one of kDefaultListingCap outside any daemon-wide budget.
Result<std::vector<TreeEntry>> ParseTreePage(std::string_view json_text, std::string_view log_context,
                                             ListingCharge* charge = nullptr);

// Makes a whole listing (all pages) consistent, sorted by path so that a
// directory precedes its contents:
//  - drops entries with unsafe paths;
//  - drops a file whose path is also a directory (listed, or the parent of
//    another entry): one path cannot be both;
//  - drops later duplicates of a path (the first wins);
//  - adds directory entries for parents the listing left out, each charged
//    to `charge` BEFORE it is made (a few deep paths imply millions of
//    parents): ResourceExhausted when the charge fails. A null `charge` is
//    as for ParseTreePage.
// Works in place: the listing's paths are moved, never copied.
Result<std::vector<TreeEntry>> ValidateListing(std::vector<TreeEntry> entries, std::string_view log_context,
                                               ListingCharge* charge = nullptr);

}  // namespace hfm
