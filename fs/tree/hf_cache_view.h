// HfCacheView: /.hf-cache/hub, the mount's repos laid out exactly as the
// official Hugging Face cache (../shared/HUB_PROTOCOL.md), so that unmodified
// code run with HF_HUB_CACHE=/mnt/models/.hf-cache/hub HF_HUB_OFFLINE=1
// finds files by repo id (`from_pretrained("ORG/NAME")`, `hf_hub_download`):
//
//   {models,datasets,spaces}--ORG--NAME/
//     refs/REV              the commit REV resolves to, no newline
//                           (refs/refs/pr/1 for the revision refs/pr/1)
//     snapshots/COMMIT/PATH a relative symlink to ../../blobs/ETAG (one more
//                           ../ per folder level of PATH)
//     blobs/ETAG            the file's bytes; ETAG is an LFS file's sha256,
//                           else its git blob id (the Hub's ETag)
//
// Made on lookup: a repo, revision or commit appears when asked for by
// name (a listing shows the repos and blobs seen so far). The same snapshots
// serve the view and the plain paths, and a blob is a file like any other:
// same cache, same verification.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "fs/tree/inode_table.h"
#include "fs/tree/snapshot_source.h"
#include "util/status.h"

namespace hfm {

class HfCacheView {
 public:
  // The view's folder in the mount root; never listed there.
  static constexpr std::string_view kRootName = ".hf-cache";

  // A child in a listing of the view: enough for readdir.
  struct Child {
    std::string name;
    NodeType type;
    std::string key;  // the node key a lookup of `name` gives
  };

  // `snapshots` is borrowed and must outlive the view.
  explicit HfCacheView(SnapshotSource* snapshots);

  // The node for the root folder of the view (child of the mount root).
  static std::shared_ptr<const Node> RootNode();
  // `name` in a folder of the view (any NodeType::kHf* directory). NotFound
  // if there is no such name.
  Result<std::shared_ptr<const Node>> Lookup(const Node& parent, std::string_view name);
  Result<std::vector<Child>> List(const Node& dir);
  // kHfLink: the relative target, e.g. "../../blobs/<etag>".
  static std::string LinkTarget(const SnapshotEntry& file);
  // kHfRefFile: the bytes of the file (the commit).
  static std::string RefContent(const Node& ref);

 private:
  Result<std::shared_ptr<const Node>> LookupRef(const Node& parent, std::string_view name);
  Result<std::shared_ptr<const Node>> LookupBlob(const Node& parent, std::string_view etag);
  std::shared_ptr<const Node> SnapshotChild(const Node& parent, const std::shared_ptr<const Snapshot>& snap,
                                            const SnapshotEntry& entry);
  void RememberBlob(const Node& repo_node, const std::shared_ptr<const Snapshot>& snap,
                    const SnapshotEntry& file);

  SnapshotSource* const snapshots_;

  struct Blob {
    std::shared_ptr<const Snapshot> snapshot;  // keeps `entry` alive
    const SnapshotEntry* entry;
  };
  std::mutex mu_;
  // "kind|org/name|etag" -> a file with that content, for blobs/ lookups:
  // filled as snapshot files are looked up or listed.
  std::map<std::string, Blob> blobs_;  // GUARDED_BY(mu_)
};

}  // namespace hfm
