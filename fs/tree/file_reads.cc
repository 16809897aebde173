// HubFilesystem's open files: Open, Read (readahead, verification state per
// handle, the whole-file background fetch of weight files) and Release.
#include <fnmatch.h>

#include <algorithm>
#include <cstring>

#include "fs/tree/file_handle.h"
#include "util/log.h"

namespace hfm {

std::vector<std::string> FilesystemOptions::DefaultBackgroundPatterns() {
  return {"*.safetensors", "*.bin", "*.gguf", "*.onnx", "*.pt", "*.pth", "*.h5", "*.msgpack"};
}

bool MatchesBackgroundPattern(const std::vector<std::string>& patterns, std::string_view path) {
  const size_t slash = path.rfind('/');
  const std::string name(slash == std::string_view::npos ? path : path.substr(slash + 1));
  for (const auto& pattern : patterns) {
    if (fnmatch(pattern.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

Result<OpenedFile> HubFilesystem::Open(uint64_t ino, std::optional<Caller> caller) {
  CallerScope scope(caller);
  auto node = inodes_.Get(ino);
  if (!node) return Status::NotFound("stale inode");
  HFM_RETURN_IF_ERROR(CheckAccess(*node));
  switch (node->shape) {
    case NodeShape::kRepoFile:
      return OpenRepoFile(ino, std::move(node));
    case NodeShape::kMadeFile:
      return OpenMadeFile(std::move(node));
    case NodeShape::kDirectory:
      return Status::IsADirectory("is a directory");
    case NodeShape::kSymlink:
      break;
  }
  // The kernel follows a symlink before it opens; one opened as itself is
  // refused as a directory is.
  return Status::IsADirectory("not a regular file");
}

uint64_t HubFilesystem::AddFileHandle(std::shared_ptr<FileHandle> handle) {
  MutexLock lock(&handles_mu_);
  const uint64_t id = next_handle_++;
  files_[id] = std::move(handle);
  return id;
}

Result<OpenedFile> HubFilesystem::OpenMadeFile(std::shared_ptr<const Node> node) {
  auto made = node->subtree->OpenMadeFile(*node);
  if (!made.ok()) return made.status();
  auto handle = std::make_shared<FileHandle>(blocks_->block_size(), options_.max_readahead_blocks, &link_);
  handle->node = std::move(node);
  handle->inline_bytes = std::move(made->bytes);
  OpenedFile opened;
  opened.keep_cache = made->keep_cache;
  opened.direct_io = made->direct_io;
  opened.handle = AddFileHandle(std::move(handle));
  return opened;
}

Result<OpenedFile> HubFilesystem::OpenRepoFile(uint64_t ino, std::shared_ptr<const Node> node) {
  auto handle = std::make_shared<FileHandle>(blocks_->block_size(), options_.max_readahead_blocks, &link_);
  handle->node = node;
  handle->ino = ino;
  handle->content = contents_.Get(node->entry->hash, node->entry->size);
  handle->location = FileLocation{node->repo, node->snapshot->commit(), node->entry->path,
                                  node->entry->size, node->entry->is_lfs,
                                  snapshots_.gate().CredentialFor(node->repo), node->entry->hash};
  OpenedFile opened;
  // The inode names one commit's bytes, so the kernel may keep its pages for
  // good — once they are verified. Until then each open starts from a clean
  // page cache, so pages cached from bytes that later failed verification
  // never outlive the open that read them.
  opened.keep_cache = handle->content->complete();
  {
    MutexLock lock(&handle->mu);
    handle->wants_background =
        !opened.keep_cache && MatchesBackgroundPattern(options_.background_patterns, handle->location.path);
  }
  counters_.open_files.fetch_add(1, std::memory_order_relaxed);
  opened.handle = AddFileHandle(std::move(handle));
  return opened;
}

Result<size_t> HubFilesystem::Read(uint64_t handle_id, uint64_t offset, std::span<char> out) {
  std::shared_ptr<FileHandle> handle;
  {
    MutexLock lock(&handles_mu_);
    auto it = files_.find(handle_id);
    if (it == files_.end()) return Status::InvalidArgument("unknown file handle");
    handle = it->second;
  }
  if (handle->inline_bytes) {
    const std::string& bytes = *handle->inline_bytes;
    if (offset >= bytes.size()) return size_t{0};
    const size_t n = std::min<size_t>(out.size(), bytes.size() - offset);
    std::memcpy(out.data(), bytes.data() + offset, n);
    return n;
  }
  ReadaheadPlan readahead;
  {
    MutexLock lock(&handle->mu);
    readahead = handle->readahead.OnRead(offset, out.size());
    if (handle->unverified_round && handle->content->RoundVerified(*handle->unverified_round)) {
      handle->unverified_round.reset();  // what it got was verified since
    }
    if (handle->unverified_round && *handle->unverified_round != handle->content->round()) {
      return Status::DataLoss("bytes this reader got from " + handle->location.path +
                              " failed verification");
    }
  }
  const uint64_t round_before = handle->content->round();
  const bool verified_before = handle->content->verified();
  auto n = readahead.header
               ? ReadHeader(handle->ino, *handle->content, handle->location, offset, out, readahead)
                            : handle->content->Read(handle->location, offset, out, readahead);
  if (n.ok() && *n > 0 && !verified_before) {
    MutexLock lock(&handle->mu);
    if (!handle->unverified_round) handle->unverified_round = round_before;
  }
  const uint64_t header_zone = std::max<uint64_t>(blocks_->block_size(), options_.background_after_bytes);
  if (n.ok() && offset + out.size() > header_zone) {
    bool start = false;
    {
      MutexLock lock(&handle->mu);
      start = handle->wants_background && !handle->background;
      handle->background |= start;
    }
    if (start) handle->content->StartBackground(handle->location);
  }
  counters_.reads.fetch_add(1, std::memory_order_relaxed);
  if (n.ok()) {
    counters_.bytes_served.fetch_add(*n, std::memory_order_relaxed);
  } else {
    counters_.read_errors.fetch_add(1, std::memory_order_relaxed);
  }
  // Offline, the read path logged the one line per file (no endpoint was
  // asked; the kernel retries page by page).
  if (!n.ok() && !(options_.read_path.offline && n.status().IsUnavailable())) {
    LogError("read failed: repo=" + RepoDisplayName(handle->location.repo) + " revision=" +
             handle->location.commit + " path=" + handle->location.path + " endpoint=" +
             hub_->endpoint() + " offset=" + std::to_string(offset) + ": " + n.status().ToString());
  }
  return n;
}

void HubFilesystem::Release(uint64_t handle) {
  std::shared_ptr<FileHandle> dropped;  // destroyed outside the lock
  MutexLock lock(&handles_mu_);
  auto it = files_.find(handle);
  if (it == files_.end()) return;
  dropped = std::move(it->second);
  files_.erase(it);
  if (dropped->content) counters_.open_files.fetch_sub(1, std::memory_order_relaxed);
  bool started;
  {
    MutexLock handle_lock(&dropped->mu);
    started = dropped->background;
  }
  if (started) dropped->content->StopBackground();
}

}  // namespace hfm
