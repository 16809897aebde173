// Subtree: one part of the mount's namespace, serving the nodes it made:
//   RepoTree      (repo_tree.h)       /, /ORG/NAME[@REV]/..., /datasets/..., /spaces/...
//   HfCacheView   (hf_cache_view.h)   /.hf-cache/...
//   ControlFolder (control_folder.h)  /.hfmirror/...
// HubFilesystem routes each operation on an inode to its node's subtree,
// having checked the node's shape first: a subtree is asked to look up or
// list only its directories, to open only its made files and to read only
// its symlinks. A repo file's bytes and extended attributes are the read
// path's (HubFilesystem::Open, Read, Xattrs), whichever subtree made it.
//
// Thread safety: implementations are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fs/tree/node.h"
#include "util/status.h"

namespace hfm {

struct Attr {
  uint64_t ino = 0;
  bool is_dir = false;
  bool is_symlink = false;  // the HF cache view's snapshot files
  uint64_t size = 0;
  uint32_t nlink = 1;
  int64_t mtime = 0;  // Unix seconds
};

struct DirEntry {
  std::string name;
  bool is_dir = false;
  uint64_t ino_hint = 0;  // for d_ino only; not a registered inode
  bool is_symlink = false;
};

// The entry a lookup of `name` would give a node of `shape` and `key`.
inline DirEntry MakeDirEntry(std::string name, NodeShape shape, const std::string& key) {
  // Stable and non-zero: some tools skip directory entries whose d_ino is 0.
  const uint64_t hint = std::hash<std::string>{}(key) | (uint64_t{1} << 63);
  return DirEntry{std::move(name), shape == NodeShape::kDirectory, hint, shape == NodeShape::kSymlink};
}

// Seconds the kernel may trust a name and its attributes.
struct EntryTimeouts {
  double entry = 0;
  double attr = 0;
};

// The lifetimes the subtrees choose from (set by FilesystemOptions).
struct TreeTimeouts {
  double pinned = 86400;  // where nothing can change
  double branch = 1;      // names directly under a branch
  double negative = 10;   // a missing name a branch or the Hub may gain
  // Names the mount makes up (/, /datasets, /ORG, the view's folders) never change.
  static constexpr double kVirtual = 10;
};

// A made file at one open: its bytes, and how the kernel may cache them.
struct MadeFile {
  std::string bytes;
  bool keep_cache = false;
  bool direct_io = false;
};

class Subtree {
 public:
  virtual ~Subtree() = default;

  // `name` in `dir`, a directory of this subtree; NotFound if none.
  virtual Result<std::shared_ptr<const Node>> Lookup(const Node& dir, std::string_view name) = 0;
  // `dir`'s entries, without "." and "..".
  virtual Result<std::vector<DirEntry>> List(const Node& dir) = 0;
  // `node`'s attributes; the caller fills in the inode number.
  virtual Result<Attr> AttrOf(const Node& node) = 0;
  // How long the kernel may trust `child`, reached from `parent` (which may
  // be another subtree's node, or `child` itself for a getattr).
  virtual EntryTimeouts Timeouts(const Node& parent, const Node& child) const = 0;
  // How long the kernel may trust that a name is missing from `dir`.
  virtual double NegativeTimeout(const Node& dir) const = 0;
  // A NodeShape::kMadeFile of this subtree, made for one open.
  virtual Result<MadeFile> OpenMadeFile(const Node& file) {
    return Status::Internal("this subtree makes no files");
  }
  // A NodeShape::kSymlink's target.
  virtual Result<std::string> ReadLink(const Node& link) { return Status::NotASymlink("not a symlink"); }
};

}  // namespace hfm
