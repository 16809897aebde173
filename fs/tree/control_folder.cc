#include "fs/tree/control_folder.h"

namespace hfm {
namespace {

enum class ControlNode : uint8_t {
  kDir,   // /.hfmirror
  kFile,  // /.hfmirror/stats.json, /.hfmirror/metrics (`ref`: the name)
};

constexpr std::string_view kFiles[] = {"metrics", "stats.json"};

std::string FileKey(std::string_view name) { return "C|" + std::string(name); }

}  // namespace

ControlFolder::ControlFolder(Clock* clock, TreeTimeouts timeouts, int64_t mount_time,
                             std::function<MountStats()> stats)
    : clock_(clock), timeouts_(timeouts), mount_time_(mount_time), stats_(std::move(stats)) {}

std::shared_ptr<const Node> ControlFolder::Root() {
  return MakeNode(this, ControlNode::kDir, NodeShape::kDirectory, "C|");
}

Result<std::shared_ptr<const Node>> ControlFolder::Lookup(const Node& dir, std::string_view name) {
  for (std::string_view file : kFiles) {
    if (name != file) continue;
    auto node = MakeNode(this, ControlNode::kFile, NodeShape::kMadeFile, FileKey(file));
    node->ref = std::string(file);
    return std::shared_ptr<const Node>(node);
  }
  return Status::NotFound("no such entry");
}

Result<std::vector<DirEntry>> ControlFolder::List(const Node& dir) {
  std::vector<DirEntry> out;
  for (std::string_view file : kFiles) {
    out.push_back(MakeDirEntry(std::string(file), NodeShape::kMadeFile, FileKey(file)));
  }
  return out;
}

Result<Attr> ControlFolder::AttrOf(const Node& node) {
  Attr a;
  a.is_dir = node.is_dir();
  a.mtime = mount_time_;
  if (TypeOf<ControlNode>(node) == ControlNode::kFile) {
    a.mtime = clock_->WallSeconds();
    a.size = Render(node).size();
  }
  return a;
}

EntryTimeouts ControlFolder::Timeouts(const Node& parent, const Node& child) const {
  if (TypeOf<ControlNode>(child) == ControlNode::kFile) {
    return {TreeTimeouts::kVirtual, 0};  // the size changes with every rendering
  }
  return {TreeTimeouts::kVirtual, TreeTimeouts::kVirtual};
}

double ControlFolder::NegativeTimeout(const Node& dir) const { return timeouts_.negative; }

Result<MadeFile> ControlFolder::OpenMadeFile(const Node& file) {
  MadeFile made;
  made.bytes = Render(file);
  made.direct_io = true;
  return made;
}

std::string ControlFolder::Render(const Node& file) const {
  return file.ref == "metrics" ? PrometheusText(stats_()) : StatsJson(stats_());
}

}  // namespace hfm
