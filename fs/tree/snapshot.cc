#include "fs/tree/snapshot.h"

#include <algorithm>

#include "fetch/tree_parser.h"

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

bool PathLess(const SnapshotEntry& e, std::string_view path) { return e.path < path; }

}  // namespace

Result<std::shared_ptr<const Snapshot>> Snapshot::Make(RepoId repo, std::string commit,
                                                       std::vector<TreeEntry> entries, int64_t first_seen,
                                                       ListingMemory* budget, uint64_t cap) {
  const std::string context = "snapshot of " + RepoDisplayName(repo) + "@" + commit;
  ListingCharge charge(budget, cap, context);
  auto validated = ValidateListing(std::move(entries), context, &charge);
  if (!validated.ok()) return validated.status();
  // Every entry is charged once more for the snapshot's own structures; a
  // parent the validation had to add is thus charged twice, which errs on
  // the safe side and only for a listing that lacked it.
  for (const TreeEntry& e : *validated) HFM_RETURN_IF_ERROR(charge.AddPath(e.path.size()));
  return std::shared_ptr<const Snapshot>(std::make_shared<const Snapshot>(
      std::move(repo), std::move(commit), std::move(*validated), first_seen, std::move(charge)));
}

Snapshot::Snapshot(RepoId repo, std::string commit, std::vector<TreeEntry> entries, int64_t first_seen,
                   ListingCharge charge)
    : repo_(std::move(repo)), commit_(std::move(commit)), first_seen_(first_seen), charge_(std::move(charge)) {
  root_.is_dir = true;
  std::stable_sort(entries.begin(), entries.end(),
                   [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
  entries_.reserve(entries.size());
  for (TreeEntry& e : entries) {
    if (e.path.empty()) continue;
    // The parser already dropped duplicates; keep the first if any remain.
    if (!entries_.empty() && entries_.back().path == e.path) continue;
    SnapshotEntry s;
    s.name = std::string(NameOf(e.path));
    s.path = std::move(e.path);
    s.is_dir = e.is_dir;
    s.size = e.is_dir ? 0 : e.size;
    s.hash = e.hash;
    s.is_lfs = e.is_lfs;
    entries_.push_back(std::move(s));
  }
  entries.clear();
  entries.shrink_to_fit();
  // From here on entries_ is not resized, so pointers into it stay valid.
  children_.resize(entries_.size() + 1);
  for (SnapshotEntry& entry : entries_) {
    const std::string_view parent = ParentOf(entry.path);
    SnapshotEntry* dir = parent.empty() ? &root_ : const_cast<SnapshotEntry*>(Find(parent));
    if (dir == nullptr || !dir->is_dir) continue;  // unreachable: not validated
    children_[IndexOf(*dir)].push_back(&entry);
    if (entry.is_dir) {
      dir->subdirs++;
    } else {
      ++file_count_;
    }
  }
  for (auto& list : children_) {
    std::sort(list.begin(), list.end(),
              [](const SnapshotEntry* a, const SnapshotEntry* b) { return a->name < b->name; });
  }
}

size_t Snapshot::IndexOf(const SnapshotEntry& e) const {
  return &e == &root_ ? entries_.size() : static_cast<size_t>(&e - entries_.data());
}

const SnapshotEntry* Snapshot::Find(std::string_view path) const {
  if (path.empty()) return &root_;
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), path, PathLess);
  return it == entries_.end() || it->path != path ? nullptr : &*it;
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
  const SnapshotEntry* own = &dir;
  if (own != &root_ && (own < entries_.data() || own >= entries_.data() + entries_.size())) {
    own = Find(dir.path);  // a copy, not one of ours: find ours by path
    if (own == nullptr) return kNone;
  }
  return children_[IndexOf(*own)];
}

std::vector<TreeEntry> Snapshot::ToTreeEntries() const {
  std::vector<TreeEntry> out;
  out.reserve(entries_.size());
  for (const SnapshotEntry& e : entries_) {
    TreeEntry t;
    t.path = e.path;
    t.is_dir = e.is_dir;
    t.size = e.size;
    t.hash = e.hash;
    t.is_lfs = e.is_lfs;
    out.push_back(std::move(t));
  }
  return out;
}

const SnapshotEntry* Snapshot::FindFileWithHash(const ContentHash& hash) const {
  for (const SnapshotEntry& entry : entries_) {
    if (!entry.is_dir && entry.hash == hash) return &entry;
  }
  return nullptr;
}

}  // namespace hfm
