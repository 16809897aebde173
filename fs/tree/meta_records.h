// What SnapshotSource keeps in the MetaStore, and how the cache commands
// read it back. Keys, with KINDS "models", "datasets" or "spaces":
//   rev/KINDS/ORG/NAME@REVISION  -> {"commit": C, "at": UNIX, "from": URL,
//                                    "trusted": B}: a resolution
//   tree/KINDS/ORG/NAME@COMMIT   -> the listing of that commit, with "from"
//                                    and "trusted" too
// "from" is the endpoint that answered and "trusted" whether it was the
// mount's trusted endpoint (hub_client.h). Records written before these
// fields existed decode with from "" and trusted false: usable, but never as
// trusted metadata. Older versions ignore the fields.
//   repo/KINDS/ORG/NAME          -> "": a repo that resolved once
//   access/KINDS/ORG/NAME        -> "public", "gated" or "private" (access_gate.h)
// ORG and NAME never hold '@', so the first '@' ends the repo part; a
// REVISION may hold '/' (refs/pr/1).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fetch/hub_client.h"
#include "fs/tree/snapshot.h"

namespace hfm {

inline constexpr std::string_view kRevisionKeyPrefix = "rev/";
inline constexpr std::string_view kTreeKeyPrefix = "tree/";
inline constexpr std::string_view kRepoKeyPrefix = "repo/";
inline constexpr std::string_view kAccessKeyPrefix = "access/";

std::string RevisionMetaKey(const RepoId& repo, const std::string& revision);
std::string TreeMetaKey(const RepoId& repo, const std::string& commit);
std::string KnownRepoMetaKey(const RepoId& repo);
std::string AccessMetaKey(const RepoId& repo);

// The repo and what follows its '@' in a key without its prefix
// ("models/org/name@main"); the repo alone for a repo/ key. nullopt if
// malformed.
std::optional<std::pair<RepoId, std::string>> ParseMetaKey(std::string_view key_without_prefix);

struct RevisionRecord {
  std::string commit;
  int64_t at = 0;  // Unix seconds of the resolution
  MetadataOrigin origin{};  // ({}: initializers that leave it out stay warning-free)
};
std::string EncodeRevisionRecord(const RevisionRecord& record);
// nullopt if damaged or not naming a full commit id.
std::optional<RevisionRecord> DecodeRevisionRecord(std::string_view text);

std::string EncodeListing(const Snapshot& snap, const MetadataOrigin& origin = {});
struct DecodedListing {
  std::vector<TreeEntry> entries;
  int64_t first_seen = 0;
  MetadataOrigin origin;
};
// nullopt if the record is damaged (then the listing is fetched again rather
// than trusted).
std::optional<DecodedListing> DecodeListing(std::string_view text);

}  // namespace hfm
