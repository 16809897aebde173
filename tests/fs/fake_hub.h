// FakeHub: an in-memory HubClient for driving HubFilesystem without a socket.
// Repos hold commits of files; branches point to commits. Counts every call
// and can serve wrong bytes or fail, so tests can assert on traffic and on
// verification.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "fetch/hub_client.h"

namespace hfm {

class FakeHub : public HubClient {
 public:
  struct File {
    File(std::string c = "", bool is_lfs = false, std::string wrong = "")
        : content(std::move(c)), lfs(is_lfs), served(std::move(wrong)) {}
    std::string content;
    bool lfs = false;
    std::string served;  // if set, the bytes served instead of `content`
  };

  // Adds a commit (40 hex) of `repo` with `files` (path -> file).
  void AddCommit(const std::string& repo, const std::string& commit, std::map<std::string, File> files) {
    std::lock_guard<std::mutex> lock(mu_);
    commits_[repo][commit] = std::move(files);
  }
  void SetRef(const std::string& repo, const std::string& ref, const std::string& commit) {
    std::lock_guard<std::mutex> lock(mu_);
    refs_[repo][ref] = commit;
  }
  void SetGated(const std::string& repo) {
    std::lock_guard<std::mutex> lock(mu_);
    gated_.insert({repo, true});
  }
  void SetOffline(bool offline) { offline_ = offline; }
  // Makes `path` serve `bytes` ("" = its true content) from now on.
  void SetServed(const std::string& repo, const std::string& commit, const std::string& path,
                 const std::string& bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    commits_[repo][commit][path].served = bytes;
  }

  Result<std::string> ResolveRevision(const RepoId& repo, std::string_view revision,
                                      TimePoint) override {
    resolves++;
    if (offline_) return Status::Unavailable("fake network down");
    std::lock_guard<std::mutex> lock(mu_);
    auto r = refs_.find(repo.name);
    if (r == refs_.end()) return Status::NotFound("RepoNotFound " + repo.name);
    auto it = r->second.find(revision.empty() ? "main" : std::string(revision));
    if (it == r->second.end()) {
      if (commits_[repo.name].count(std::string(revision))) return std::string(revision);
      return Status::NotFound("RevisionNotFound");
    }
    return it->second;
  }

  Result<std::vector<TreeEntry>> ListTree(const RepoId& repo, std::string_view commit,
                                          TimePoint) override {
    listings++;
    if (offline_) return Status::Unavailable("fake network down");
    std::lock_guard<std::mutex> lock(mu_);
    auto r = commits_.find(repo.name);
    if (r == commits_.end()) return Status::NotFound("RepoNotFound");
    auto c = r->second.find(std::string(commit));
    if (c == r->second.end()) return Status::NotFound("RevisionNotFound");
    std::vector<TreeEntry> out;
    for (const auto& [path, f] : c->second) {
      TreeEntry e;
      e.path = path;
      e.size = f.content.size();
      e.is_lfs = f.lfs;
      e.hash = HashBytes(f.lfs ? ContentHash::Kind::kSha256 : ContentHash::Kind::kGitSha1, f.content);
      out.push_back(e);
    }
    return out;
  }

  // While held, FetchRange waits before serving (a test's way to act while
  // fetches are known to be in flight).
  void HoldFetches(bool hold) {
    {
      std::lock_guard<std::mutex> lock(hold_mu_);
      held_ = hold;
    }
    hold_cv_.notify_all();
  }

  Status FetchRange(const FileLocation& file, uint64_t offset, uint64_t length, RangeSink* sink,
                    TimePoint) override {
    {
      std::unique_lock<std::mutex> lock(hold_mu_);
      hold_cv_.wait(lock, [this] { return !held_; });
    }
    fetches++;
    if (offline_) return Status::Unavailable("fake network down");
    std::string bytes;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (gated_.count(file.repo.name)) return Status::PermissionDenied("GatedRepo");
      auto& files = commits_[file.repo.name][file.commit];
      auto it = files.find(file.path);
      if (it == files.end()) return Status::NotFound("EntryNotFound");
      bytes = it->second.served.empty() ? it->second.content : it->second.served;
    }
    if (offset > bytes.size()) return Status::OutOfRange("416");
    length = std::min<uint64_t>(length, bytes.size() - offset);
    fetched_bytes += length;
    // Deliver in uneven pieces to exercise block splitting.
    uint64_t pos = offset;
    const uint64_t end = offset + length;
    size_t piece = 7;
    while (pos < end) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(piece, end - pos));
      if (!sink->OnBytes(bytes.data() + pos, n)) {
        aborted_transfers++;  // a real transport would close the connection
        break;
      }
      pos += n;
      piece = piece * 3 % 100003 + 1;
    }
    return Status::Ok();
  }

  const std::string& endpoint() const override { return endpoint_; }

  std::atomic<int> resolves{0};
  std::atomic<int> listings{0};
  std::atomic<int> fetches{0};
  std::atomic<uint64_t> fetched_bytes{0};
  std::atomic<int> aborted_transfers{0};

 private:
  std::mutex mu_;
  std::map<std::string, std::map<std::string, std::map<std::string, File>>> commits_;
  std::map<std::string, std::map<std::string, std::string>> refs_;
  std::map<std::string, bool> gated_;
  std::atomic<bool> offline_{false};
  std::mutex hold_mu_;
  std::condition_variable hold_cv_;
  bool held_ = false;  // GUARDED_BY(hold_mu_)
  std::string endpoint_ = "http://fake-hub";
};

}  // namespace hfm
