#include "fetch/tree_parser.h"

#include <algorithm>
#include <exception>
#include <string>
#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>

#include "fetch/log_text.h"
#include "fetch/repo_path.h"
#include "util/log.h"

namespace hfm {
namespace {

using Json = nlohmann::json;

constexpr int kMaxWarningsPerCall = 100;

// One warning per skipped entry, up to a cap; the rest are counted and
// reported in one line when the call ends.
class SkipLogger {
 public:
  explicit SkipLogger(std::string_view context) : context_(context) {}
  ~SkipLogger() {
    if (skipped_ > kMaxWarningsPerCall) {
      LogWarning(std::string(context_) + ": " + std::to_string(skipped_ - kMaxWarningsPerCall) +
                 " more tree entries skipped");
    }
  }
  SkipLogger(const SkipLogger&) = delete;
  SkipLogger& operator=(const SkipLogger&) = delete;

  void Skip(std::string_view path, std::string_view reason) {
    if (++skipped_ > kMaxWarningsPerCall) return;
    LogWarning(std::string(context_) + ": skipping tree entry \"" + LogSafe(path) + "\": " +
               std::string(reason));
  }

 private:
  std::string_view context_;
  int skipped_ = 0;
};

// Reads a byte count; returns why it is unusable, or "" on success.
std::string_view ReadSize(const Json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    const uint64_t size = v.get<uint64_t>();
    if (size > kMaxTreeEntrySize) return "size over 2^50";
    *out = size;
    return {};
  }
  if (v.is_number_integer()) {
    const int64_t size = v.get<int64_t>();
    if (size < 0) return "negative size";
    if (static_cast<uint64_t>(size) > kMaxTreeEntrySize) return "size over 2^50";
    *out = static_cast<uint64_t>(size);
    return {};
  }
  if (v.is_number_float()) return "non-integer size";
  return "size is not a number";
}

const std::string* StringField(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

// Fills `out` from one JSON entry; returns why it was refused, or "".
std::string_view ParseEntry(const Json& entry, TreeEntry* out) {
  if (!entry.is_object()) return "entry is not a JSON object";
  const std::string* type = StringField(entry, "type");
  if (type == nullptr) return "missing or non-string type";
  const std::string* path = StringField(entry, "path");
  if (path == nullptr) return "missing or non-string path";
  const std::string_view problem = RepoPathProblem(*path);
  if (!problem.empty()) return problem;
  out->path = *path;
  if (*type == "directory") {
    out->is_dir = true;
    return {};
  }
  if (*type != "file") return "unknown type";

  bool have_size = false;
  const auto size_it = entry.find("size");
  if (size_it != entry.end() && !size_it->is_null()) {
    const std::string_view why = ReadSize(*size_it, &out->size);
    if (!why.empty()) return why;
    have_size = true;
  }
  const auto lfs_it = entry.find("lfs");
  if (lfs_it != entry.end() && !lfs_it->is_null()) {
    if (!lfs_it->is_object()) return "lfs is not an object";
    const std::string* oid = StringField(*lfs_it, "oid");
    const auto hash = oid ? ContentHash::FromHex(ContentHash::Kind::kSha256, *oid) : std::nullopt;
    if (!hash) return "lfs.oid is not 64 hex digits";
    out->hash = *hash;
    out->is_lfs = true;
    // lfs.size is the content's size by definition; `size` should agree.
    const auto lfs_size_it = lfs_it->find("size");
    if (lfs_size_it != lfs_it->end() && !lfs_size_it->is_null()) {
      const std::string_view why = ReadSize(*lfs_size_it, &out->size);
      if (!why.empty()) return why;
      have_size = true;
    }
  } else {
    const std::string* oid = StringField(entry, "oid");
    const auto hash = oid ? ContentHash::FromHex(ContentHash::Kind::kGitSha1, *oid) : std::nullopt;
    if (!hash) return "oid is not 40 hex digits";
    out->hash = *hash;
  }
  if (!have_size) return "missing size";
  return {};
}

std::string_view PathPreview(const Json& entry) {
  if (!entry.is_object()) return "?";
  const std::string* path = StringField(entry, "path");
  return path ? std::string_view(*path) : std::string_view("?");
}

// ValidateListing's steps. Those after DropUnsafePaths hold views into the
// paths of its result, which must stay unchanged while they are in use.

// The entries whose paths are safe (see repo_path.h); the others are skipped.
std::vector<TreeEntry> DropUnsafePaths(std::vector<TreeEntry> entries, SkipLogger* skips) {
  std::vector<TreeEntry> safe;
  safe.reserve(entries.size());
  for (TreeEntry& e : entries) {
    const std::string_view problem = RepoPathProblem(e.path);
    if (problem.empty()) {
      safe.push_back(std::move(e));
    } else {
      skips->Skip(e.path, problem);
    }
  }
  return safe;
}

struct ListedDirectories {
  std::unordered_set<std::string_view> listed;  // directory entries
  // Every proper parent of every entry.
  std::unordered_set<std::string_view> parents;
};

ListedDirectories CollectDirectories(const std::vector<TreeEntry>& entries) {
  ListedDirectories dirs;
  for (const TreeEntry& e : entries) {
    const std::string_view path = e.path;
    if (e.is_dir) dirs.listed.insert(path);
    // A parent enters only together with all of its own parents, so a walk
    // can stop at the first one already present: shared prefixes are
    // visited once.
    for (size_t slash = path.rfind('/'); slash != std::string_view::npos && slash > 0;
         slash = path.rfind('/', slash - 1)) {
      if (!dirs.parents.insert(path.substr(0, slash)).second) break;
    }
  }
  return dirs;
}

// The indices of the entries to keep, in order: not a file where a directory
// is, not a later duplicate of a path. Their paths go into *kept_paths.
std::vector<size_t> KeepConsistent(const std::vector<TreeEntry>& entries, const ListedDirectories& dirs,
                                   SkipLogger* skips, std::unordered_set<std::string_view>* kept_paths) {
  std::vector<size_t> kept;
  kept.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const TreeEntry& e = entries[i];
    if (!e.is_dir && (dirs.listed.count(e.path) || dirs.parents.count(e.path))) {
      skips->Skip(e.path, "a file at a path that is also a directory");
      continue;
    }
    if (!kept_paths->insert(e.path).second) {
      skips->Skip(e.path, "duplicate path");
      continue;
    }
    kept.push_back(i);
  }
  return kept;
}

// Appends a directory entry for each parent the listing left out.
void AddMissingParents(const std::unordered_set<std::string_view>& parents,
                       const std::unordered_set<std::string_view>& kept_paths, std::string_view log_context,
                       std::vector<TreeEntry>* out) {
  size_t synthesized = 0;
  for (const std::string_view parent : parents) {
    if (kept_paths.count(parent)) continue;
    TreeEntry dir;
    dir.path = std::string(parent);
    dir.is_dir = true;
    out->push_back(std::move(dir));
    ++synthesized;
  }
  if (synthesized > 0) {
    LogWarning(std::string(log_context) + ": listing lacked " + std::to_string(synthesized) +
               " parent directories; added them");
  }
}

}  // namespace

Result<std::vector<TreeEntry>> ParseTreePage(std::string_view json_text, std::string_view log_context) {
  // nlohmann throws on allocation failure and type misuse; nothing may
  // escape this layer as an exception.
  try {
    const Json doc = Json::parse(json_text.begin(), json_text.end(), /*cb=*/nullptr,
                                 /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      return Status::DataLoss(std::string(log_context) + ": tree page is not valid JSON");
    }
    if (!doc.is_array()) {
      return Status::DataLoss(std::string(log_context) + ": tree page is not a JSON array");
    }
    std::vector<TreeEntry> out;
    out.reserve(doc.size());
    SkipLogger skips(log_context);
    for (const Json& item : doc) {
      TreeEntry entry;
      const std::string_view why = ParseEntry(item, &entry);
      if (why.empty()) {
        out.push_back(std::move(entry));
      } else {
        skips.Skip(PathPreview(item), why);
      }
    }
    return out;
  } catch (const std::exception& e) {
    return Status::DataLoss(std::string(log_context) + ": tree page could not be parsed: " + e.what());
  }
}

std::vector<TreeEntry> ValidateListing(std::vector<TreeEntry> entries, std::string_view log_context) {
  SkipLogger skips(log_context);
  std::vector<TreeEntry> safe = DropUnsafePaths(std::move(entries), &skips);
  // From here on `safe` is not resized, so views into its paths stay valid.
  const ListedDirectories dirs = CollectDirectories(safe);
  std::unordered_set<std::string_view> kept_paths;
  const std::vector<size_t> kept = KeepConsistent(safe, dirs, &skips, &kept_paths);

  std::vector<TreeEntry> out;
  out.reserve(kept.size());
  AddMissingParents(dirs.parents, kept_paths, log_context, &out);
  // Moving paths out of `safe` ends the views above: the sets are not used
  // after this point.
  for (const size_t i : kept) out.push_back(std::move(safe[i]));
  std::sort(out.begin(), out.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
  return out;
}

}  // namespace hfm
