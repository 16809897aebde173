// ControlFolder: /.hfmirror/ (subtree.h), what the mount is doing, as files
// rendered anew at each open:
//   stats.json  MountStats as JSON (fs/read/mount_stats.h)
//   metrics     the same in the Prometheus text format
// Not listed in the mount root.
//
// Thread safety: all methods are thread-safe if `stats` is.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fs/read/mount_stats.h"
#include "fs/tree/subtree.h"
#include "util/clock.h"

namespace hfm {

class ControlFolder : public Subtree {
 public:
  // The folder's name in the mount root.
  static constexpr std::string_view kRootName = ".hfmirror";

  // `clock` is borrowed and must outlive this object; `stats` gives the
  // mount's figures at the moment of a call.
  ControlFolder(Clock* clock, TreeTimeouts timeouts, int64_t mount_time, std::function<MountStats()> stats);

  // The folder itself (a child of the mount root).
  std::shared_ptr<const Node> Root();

  Result<std::shared_ptr<const Node>> Lookup(const Node& dir, std::string_view name) override;
  Result<std::vector<DirEntry>> List(const Node& dir) override;
  Result<Attr> AttrOf(const Node& node) override;
  EntryTimeouts Timeouts(const Node& parent, const Node& child) const override;
  double NegativeTimeout(const Node& dir) const override;
  // One picture per open; no page cache, so every open sees a new one
  // whatever size the last getattr reported.
  Result<MadeFile> OpenMadeFile(const Node& file) override;

 private:
  std::string Render(const Node& file) const;

  Clock* const clock_;
  const TreeTimeouts timeouts_;
  const int64_t mount_time_;
  const std::function<MountStats()> stats_;
};

}  // namespace hfm
