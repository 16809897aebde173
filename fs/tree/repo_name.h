// Names in the mount's namespace, in the official hf:// filesystem's syntax:
//   /ORG/NAME[@REV]/...   /datasets/ORG/NAME[@REV]/...   /spaces/ORG/NAME[@REV]/...
// REV is a branch, tag, 40-hex commit or "refs%2Fpr%2F1" (a '/' in a revision
// is written %2F so the revision stays one path component).
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hfm {

struct RepoDirName {
  std::string name;      // the repo's NAME (without org)
  std::string revision;  // decoded; "" = the default branch
};

// Parses the last component of a repo directory ("NAME" or "NAME@REV").
// Returns nullopt for names that cannot be a Hub repo (empty, '.'-leading,
// characters the Hub never allows, an empty or undecodable revision).
std::optional<RepoDirName> ParseRepoDirName(std::string_view component);

// True for a plausible Hub org/user name: [A-Za-z0-9._-], not '.'-leading, at
// most 96 bytes. Tools probe mounts for names like ".Trash" or "autorun.inf";
// rejecting what the Hub cannot hold keeps those probes off the network.
bool IsValidOrgName(std::string_view name);


}  // namespace hfm
