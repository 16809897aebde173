// HfCacheView: /.hf-cache/hub (subtree.h), the mount's repos laid out exactly as the
// official Hugging Face cache (fetch/PROTOCOL.md, "The official cache layout"), so that unmodified
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
// serve the view and the plain paths, and a blob is a repo file like any
// other: same cache, same verification.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fs/tree/snapshot_source.h"
#include "fs/tree/subtree.h"
#include "util/mutex.h"
#include "util/status.h"

namespace hfm {

class HfCacheView : public Subtree {
 public:
  // The view's folder in the mount root; never listed there.
  static constexpr std::string_view kRootName = ".hf-cache";

  // `snapshots` is borrowed and must outlive the view. `mount_time` (Unix
  // seconds) is the mtime of the view's made-up folders.
  HfCacheView(SnapshotSource* snapshots, TreeTimeouts timeouts, int64_t mount_time);

  // The root folder of the view (a child of the mount root).
  std::shared_ptr<const Node> Root();

  Result<std::shared_ptr<const Node>> Lookup(const Node& dir, std::string_view name) override;
  Result<std::vector<DirEntry>> List(const Node& dir) override;
  Result<Attr> AttrOf(const Node& node) override;
  EntryTimeouts Timeouts(const Node& parent, const Node& child) const override;
  double NegativeTimeout(const Node& dir) const override;
  // refs/REV: the commit, no newline.
  Result<MadeFile> OpenMadeFile(const Node& file) override;
  // snapshots/COMMIT/PATH: the relative target, e.g. "../../blobs/<etag>".
  Result<std::string> ReadLink(const Node& link) override;

 private:
  Result<std::shared_ptr<const Node>> LookupInRepo(const Node& repo, std::string_view name);
  Result<std::shared_ptr<const Node>> LookupRepo(std::string_view folder);
  Result<std::shared_ptr<const Node>> LookupRef(const Node& parent, std::string_view name);
  Result<std::shared_ptr<const Node>> LookupSnapshot(const Node& parent, std::string_view commit);
  Result<std::shared_ptr<const Node>> LookupBlob(const Node& parent, std::string_view etag);
  std::shared_ptr<const Node> SnapshotChild(const Node& parent, const std::shared_ptr<const Snapshot>& snap,
                                            const SnapshotEntry& entry);
  void RememberBlob(const Node& repo_node, const std::shared_ptr<const Snapshot>& snap,
                    const SnapshotEntry& file);
  std::vector<DirEntry> ListHub();
  std::vector<DirEntry> ListSnapshotDir(const Node& dir);
  std::vector<DirEntry> ListBlobs(const Node& dir);

  SnapshotSource* const snapshots_;
  const TreeTimeouts timeouts_;
  const int64_t mount_time_;

  struct Blob {
    std::shared_ptr<const Snapshot> snapshot;  // keeps `entry` alive
    const SnapshotEntry* entry;
  };
  Mutex mu_;
  // "kind|org/name|etag" -> a file with that content, for blobs/ lookups:
  // filled as snapshot files are looked up or listed.
  std::map<std::string, Blob> blobs_ GUARDED_BY(mu_);
};

}  // namespace hfm
