#include "fetch/lock_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "fetch/log_text.h"
#include "fetch/repo_path.h"

namespace hfm {
namespace {

using nlohmann::json;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Refuses keys of `obj` not in `allowed`, so a typo is an error, not a lock
// that silently checks less.
Status OnlyKeys(const json& obj, std::initializer_list<std::string_view> allowed, const std::string& where) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Status::InvalidArgument(where + ": unknown key \"" + LogSafe(key, 64) + "\"");
    }
  }
  return Status::Ok();
}

Result<std::string> StringAt(const json& obj, const char* key, const std::string& where) {
  if (!obj.contains(key) || !obj[key].is_string()) {
    return Status::InvalidArgument(where + ": \"" + key + "\" must be a string");
  }
  return obj[key].get<std::string>();
}

Result<std::pair<std::string, LockedFile>> ParseFile(const json& f, const std::string& where) {
  if (!f.is_object()) return Status::InvalidArgument(where + ": must be an object");
  HFM_RETURN_IF_ERROR(OnlyKeys(f, {"path", "size", "sha256", "git_sha1"}, where));
  auto path = StringAt(f, "path", where);
  if (!path.ok()) return path.status();
  if (std::string_view problem = RepoPathProblem(*path); !problem.empty()) {
    return Status::InvalidArgument(where + ": path \"" + LogSafe(*path, 200) + "\": " + std::string(problem));
  }
  if (!f.contains("size") || !f["size"].is_number_unsigned()) {
    return Status::InvalidArgument(where + ": \"size\" must be a whole number of bytes");
  }
  const bool lfs = f.contains("sha256");
  if (lfs == f.contains("git_sha1")) {
    return Status::InvalidArgument(where + ": exactly one of \"sha256\" and \"git_sha1\" is needed");
  }
  auto hex = StringAt(f, lfs ? "sha256" : "git_sha1", where);
  if (!hex.ok()) return hex.status();
  auto hash = ContentHash::FromHex(lfs ? ContentHash::Kind::kSha256 : ContentHash::Kind::kGitSha1, *hex);
  if (!hash) return Status::InvalidArgument(where + ": not a " + (lfs ? "sha256" : "git sha1") + " hash");
  return std::make_pair(*path, LockedFile{f["size"].get<uint64_t>(), *hash});
}

Result<LockedRepo> ParseRepo(const json& r, const std::string& where) {
  if (!r.is_object()) return Status::InvalidArgument(where + ": must be an object");
  HFM_RETURN_IF_ERROR(OnlyKeys(r, {"kind", "repo", "revision", "commit", "files"}, where));
  LockedRepo out;
  auto kind = StringAt(r, "kind", where);
  if (!kind.ok()) return kind.status();
  const std::optional<RepoKind> repo_kind = RepoKindFromPlural(*kind + "s");
  if (!repo_kind) return Status::InvalidArgument(where + ": \"kind\" must be model, dataset or space");
  auto name = StringAt(r, "repo", where);
  if (!name.ok()) return name.status();
  const size_t slash = name->find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == name->size() ||
      name->find('/', slash + 1) != std::string::npos || !RepoPathProblem(*name).empty() ||
      name->find('@') != std::string::npos) {
    return Status::InvalidArgument(where + ": \"repo\" must be ORG/NAME");
  }
  out.repo = RepoId{*repo_kind, *name};
  auto revision = StringAt(r, "revision", where);
  if (!revision.ok()) return revision.status();
  out.revision = *revision;
  auto commit = StringAt(r, "commit", where);
  if (!commit.ok()) return commit.status();
  if (!IsCommitId(*commit)) return Status::InvalidArgument(where + ": \"commit\" must be 40 hex digits");
  out.commit = Lower(*commit);
  if (!r.contains("files") || !r["files"].is_array()) {
    return Status::InvalidArgument(where + ": \"files\" must be an array");
  }
  for (size_t i = 0; i < r["files"].size(); ++i) {
    auto file = ParseFile(r["files"][i], where + " file " + std::to_string(i));
    if (!file.ok()) return file.status();
    if (!out.files.emplace(std::move(file->first), file->second).second) {
      return Status::InvalidArgument(where + " file " + std::to_string(i) + ": path listed twice");
    }
  }
  return out;
}

}  // namespace

Result<LockFile> LockFile::Parse(std::string_view text, const std::string& origin) {
  if (text.size() > kMaxLockFileBytes) {
    return Status::InvalidArgument(origin + ": over " + std::to_string(kMaxLockFileBytes >> 20) + " MiB");
  }
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument(origin + ": not JSON");
  if (!doc.is_object()) return Status::InvalidArgument(origin + ": not a JSON object");
  HFM_RETURN_IF_ERROR(OnlyKeys(doc, {"hfmirror_lock", "repos"}, origin));
  if (!doc.contains("hfmirror_lock") || doc["hfmirror_lock"] != 1) {
    return Status::InvalidArgument(origin + ": not an hfmirror lock file of version 1 (\"hfmirror_lock\": 1)");
  }
  if (!doc.contains("repos") || !doc["repos"].is_array()) {
    return Status::InvalidArgument(origin + ": \"repos\" must be an array");
  }
  LockFile lock;
  for (size_t i = 0; i < doc["repos"].size(); ++i) {
    auto repo = ParseRepo(doc["repos"][i], origin + ": repo " + std::to_string(i));
    if (!repo.ok()) return repo.status();
    if (lock.Find(repo->repo)) {
      return Status::InvalidArgument(origin + ": repo " + std::to_string(i) + ": " + RepoDisplayName(repo->repo) +
                                     " is locked twice");
    }
    lock.repos_.push_back(std::move(*repo));
  }
  return lock;
}

Result<LockFile> LockFile::Load(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::InvalidArgument("lock file " + path + ": cannot open: " + strerror(errno));
  std::string text;
  char buf[1 << 16];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0 && text.size() <= kMaxLockFileBytes) text.append(buf, n);
  const int read_errno = errno;
  close(fd);
  if (n < 0) return Status::InvalidArgument("lock file " + path + ": cannot read: " + strerror(read_errno));
  return Parse(text, "lock file " + path);
}

std::string LockFile::Serialize(const std::vector<LockedRepo>& repos) {
  json out = json::array();
  for (const LockedRepo& r : repos) {
    json files = json::array();
    for (const auto& [path, f] : r.files) {
      const bool lfs = f.hash.kind() == ContentHash::Kind::kSha256;
      files.push_back({{"path", path}, {"size", f.size}, {lfs ? "sha256" : "git_sha1", f.hash.ToHex()}});
    }
    std::string kind = RepoKindPlural(r.repo.kind);
    kind.pop_back();  // "models" -> "model"
    out.push_back({{"kind", kind}, {"repo", r.repo.name}, {"revision", r.revision}, {"commit", r.commit},
                   {"files", std::move(files)}});
  }
  return json{{"hfmirror_lock", 1}, {"repos", std::move(out)}}.dump(1) + "\n";
}

const LockedRepo* LockFile::Find(const RepoId& repo) const {
  for (const LockedRepo& r : repos_) {
    if (r.repo == repo) return &r;
  }
  return nullptr;
}

LockedRepo LockRepo(const RepoId& repo, const std::string& revision, const std::string& commit,
                    const std::vector<TreeEntry>& entries) {
  LockedRepo out{repo, revision, Lower(commit), {}};
  for (const TreeEntry& e : entries) {
    if (!e.is_dir) out.files[e.path] = LockedFile{e.size, e.hash};
  }
  return out;
}

std::string LockMismatch(const LockedRepo& locked, const std::vector<TreeEntry>& entries) {
  size_t files = 0;
  for (const TreeEntry& e : entries) {
    if (e.is_dir) continue;
    ++files;
    const auto it = locked.files.find(e.path);
    if (it == locked.files.end()) return "\"" + LogSafe(e.path) + "\" is not in the lock file";
    if (it->second.size != e.size) {
      return "\"" + LogSafe(e.path) + "\" is listed at " + std::to_string(e.size) + " bytes, locked at " +
             std::to_string(it->second.size);
    }
    if (!(it->second.hash == e.hash)) {
      return "\"" + LogSafe(e.path) + "\" is listed with hash " + e.hash.ToHex() + ", locked with " +
             it->second.hash.ToHex();
    }
  }
  if (files != locked.files.size()) {
    for (const auto& locked_file : locked.files) {
      const std::string& path = locked_file.first;  // a structured binding cannot be captured before clang 16
      const bool listed = std::any_of(entries.begin(), entries.end(),
                                      [&](const TreeEntry& e) { return !e.is_dir && e.path == path; });
      if (!listed) return "locked file \"" + LogSafe(path) + "\" is not in the listing";
    }
  }
  return "";
}

}  // namespace hfm
