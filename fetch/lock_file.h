// LockFile: what `hfmirror lock` writes and `-o lock=FILE` / `hfmirror
// prefetch --lock FILE` verify against, with no trusted endpoint: per repo,
// the revision asked, the commit it named, and every file's path, size and
// hash (sha256 for LFS files, the git blob sha1 otherwise).
//
//   {"hfmirror_lock": 1,
//    "repos": [{"kind": "model", "repo": "ORG/NAME", "revision": "main",
//               "commit": "<40 hex>",
//               "files": [{"path": "a/b.bin", "size": 12, "sha256": "<64 hex>"},
//                         {"path": "README.md", "size": 3, "git_sha1": "<40 hex>"}]}]}
//
// A lock file is untrusted input: at most kMaxLockFileBytes, a strict schema
// (unknown keys, wrong types, bad hashes, unsafe or repeated paths, a repo
// locked twice are all errors naming what is wrong).
//
// Thread safety: a parsed LockFile is an immutable value; functions are pure.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fetch/hub_client.h"
#include "util/status.h"

namespace hfm {

inline constexpr size_t kMaxLockFileBytes = 64u << 20;

struct LockedFile {
  uint64_t size = 0;
  ContentHash hash;  // kSha256 for LFS files, kGitSha1 otherwise
};

struct LockedRepo {
  RepoId repo;
  std::string revision;  // as asked ("" = the default branch)
  std::string commit;    // 40 lower-case hex
  std::map<std::string, LockedFile> files;  // by repo-relative path
};

class LockFile {
 public:
  // Parses `text`; `origin` (a file name) prefixes error messages.
  static Result<LockFile> Parse(std::string_view text, const std::string& origin);
  // Reads and parses the file at `path` (refusing one over the size cap).
  static Result<LockFile> Load(const std::string& path);

  // The JSON text of `repos` (sorted, one repo per entry).
  static std::string Serialize(const std::vector<LockedRepo>& repos);

  const std::vector<LockedRepo>& repos() const { return repos_; }
  // The entry locking `repo`, if any.
  const LockedRepo* Find(const RepoId& repo) const;

 private:
  std::vector<LockedRepo> repos_;
};

// The lock entry of a repo from its listing at `commit`.
LockedRepo LockRepo(const RepoId& repo, const std::string& revision, const std::string& commit,
                    const std::vector<TreeEntry>& entries);

// Why `entries` (a listing of locked.commit) disagrees with `locked`, or ""
// when every file has the locked size and hash and no file is missing or
// extra.
std::string LockMismatch(const LockedRepo& locked, const std::vector<TreeEntry>& entries);

}  // namespace hfm
