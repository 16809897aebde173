#include "cli/repo_tree.h"

#include <algorithm>

namespace hfm::cli {

Result<uint64_t> LookupPath(HubFilesystem& fs, const std::string& path) {
  uint64_t ino = kRootInode;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) {
      auto e = fs.Lookup(ino, std::string_view(path).substr(start, end - start));
      if (!e.ok()) return e.status().WithContext(path);
      if (e->attr.ino == 0) return Status::NotFound(path + ": no such file or directory");
      ino = e->attr.ino;
    }
    start = end + 1;
  }
  return ino;
}

namespace {

Status Walk(HubFilesystem& fs, uint64_t dir, const std::string& prefix, bool recursive,
            std::vector<RepoEntry>* out) {
  auto handle = fs.OpenDir(dir);
  if (!handle.ok()) return handle.status();
  auto children = fs.DirEntries(*handle);
  fs.ReleaseDir(*handle);
  if (!children) return Status::Internal("directory handle vanished");
  for (const DirEntry& child : *children) {
    auto e = fs.Lookup(dir, child.name);
    if (!e.ok()) return e.status();
    if (e->attr.ino == 0) continue;
    RepoEntry entry{prefix + child.name, e->attr.is_dir, e->attr.size, e->attr.ino};
    out->push_back(entry);
    if (recursive && entry.is_dir) {
      HFM_RETURN_IF_ERROR(Walk(fs, entry.ino, entry.path + "/", recursive, out));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<RepoEntry>> ListFolder(HubFilesystem& fs, const std::string& path, bool recursive) {
  auto ino = LookupPath(fs, path);
  if (!ino.ok()) return ino.status();
  std::vector<RepoEntry> out;
  HFM_RETURN_IF_ERROR(Walk(fs, *ino, "", recursive, &out));
  std::sort(out.begin(), out.end(), [](const RepoEntry& a, const RepoEntry& b) { return a.path < b.path; });
  return out;
}

}  // namespace hfm::cli
