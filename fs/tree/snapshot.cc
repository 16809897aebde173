#include "fs/tree/snapshot.h"

#include <algorithm>

namespace hfm {
namespace {

std::string_view ParentOf(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string_view NameOf(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

Snapshot::Snapshot(RepoId repo, std::string commit, std::vector<TreeEntry> entries,
                   int64_t first_seen)
    : repo_(std::move(repo)), commit_(std::move(commit)), first_seen_(first_seen) {
  root_.is_dir = true;
  for (auto& e : entries) {
    if (e.path.empty()) continue;
    SnapshotEntry s;
    s.path = e.path;
    s.name = std::string(NameOf(e.path));
    s.is_dir = e.is_dir;
    s.size = e.is_dir ? 0 : e.size;
    s.hash = e.hash;
    s.is_lfs = e.is_lfs;
    // The parser already dropped duplicates; keep the first if any remain.
    entries_.emplace(e.path, std::move(s));
  }
  // Synthesize missing parents so every entry is reachable from the root.
  std::vector<std::string> missing;
  for (const auto& [path, entry] : entries_) {
    for (std::string_view p = ParentOf(path); !p.empty(); p = ParentOf(p)) {
      auto it = entries_.find(p);
      if (it != entries_.end()) break;
      missing.emplace_back(p);
    }
  }
  for (auto& p : missing) {
    SnapshotEntry s;
    s.path = p;
    s.name = std::string(NameOf(p));
    s.is_dir = true;
    entries_.emplace(p, std::move(s));
  }
  children_[""];
  for (auto& [path, entry] : entries_) {
    std::string_view parent = ParentOf(path);
    auto pit = parent.empty() ? entries_.end() : entries_.find(parent);
    if (!parent.empty() && (pit == entries_.end() || !pit->second.is_dir)) continue;  // file as parent
    children_[std::string(parent)].push_back(&entry);
    if (entry.is_dir) {
      children_[path];
      (parent.empty() ? root_ : pit->second).subdirs++;
    } else {
      ++file_count_;
    }
  }
  for (auto& [dir, list] : children_) {
    std::sort(list.begin(), list.end(),
              [](const SnapshotEntry* a, const SnapshotEntry* b) { return a->name < b->name; });
  }
}

const SnapshotEntry* Snapshot::Find(std::string_view path) const {
  if (path.empty()) return &root_;
  auto it = entries_.find(path);
  return it == entries_.end() ? nullptr : &it->second;
}

const SnapshotEntry* Snapshot::FindChild(const SnapshotEntry& dir, std::string_view name) const {
  if (!dir.is_dir) return nullptr;
  if (dir.path.empty()) return Find(name);
  std::string path;
  path.reserve(dir.path.size() + 1 + name.size());
  path.append(dir.path).append("/").append(name);
  return Find(path);
}

const std::vector<const SnapshotEntry*>& Snapshot::Children(const SnapshotEntry& dir) const {
  static const std::vector<const SnapshotEntry*> kNone;
  auto it = children_.find(dir.path);
  return it == children_.end() ? kNone : it->second;
}

std::vector<TreeEntry> Snapshot::ToTreeEntries() const {
  std::vector<TreeEntry> out;
  out.reserve(entries_.size());
  for (const auto& [path, e] : entries_) {
    TreeEntry t;
    t.path = path;
    t.is_dir = e.is_dir;
    t.size = e.size;
    t.hash = e.hash;
    t.is_lfs = e.is_lfs;
    out.push_back(std::move(t));
  }
  return out;
}

const SnapshotEntry* Snapshot::FindFileWithHash(const ContentHash& hash) const {
  for (const auto& [path, entry] : entries_) {
    if (!entry.is_dir && entry.hash == hash) return &entry;
  }
  return nullptr;
}

}  // namespace hfm
