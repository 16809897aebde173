// FakeHub: an in-memory HubClient for driving HubFilesystem without a socket.
// Repos hold commits of files; branches point to commits. Counts every call
// and can serve wrong bytes or fail, so tests can assert on traffic and on
// verification.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fetch/hub_client.h"
#include "util/clock.h"
#include "util/mutex.h"

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
    MutexLock lock(&mu_);
    commits_[repo][commit] = std::move(files);
  }
  void SetRef(const std::string& repo, const std::string& ref, const std::string& commit) {
    MutexLock lock(&mu_);
    refs_[repo][ref] = commit;
  }
  void SetGated(const std::string& repo) {
    MutexLock lock(&mu_);
    gated_.insert({repo, true});
  }
  // What resolutions of `repo` say of it (kUnknown: nothing, the default).
  void SetVisibility(const std::string& repo, RepoVisibility visibility) {
    MutexLock lock(&mu_);
    visibility_[repo] = visibility;
  }
  // Makes `repo` private to this client's token: every call on it is NotFound
  // (as the Hub answers a token it does not accept), until AllowRepo().
  void HideRepo(const std::string& repo) {
    MutexLock lock(&mu_);
    hidden_.insert(repo);
  }
  // Undoes SetGated() and HideRepo(): the token is accepted for `repo`.
  void AllowRepo(const std::string& repo) {
    MutexLock lock(&mu_);
    gated_.erase(repo);
    hidden_.erase(repo);
  }
  // A fetch carrying `credential` (a caller's token) may read `repo` even
  // while it is gated or hidden; any other credential may not.
  void AcceptCredential(const std::string& repo, const std::string& credential) {
    MutexLock lock(&mu_);
    credentials_[repo].insert(credential);
  }
  // The credential of every fetch so far ("" = the client's own token).
  std::vector<std::string> fetch_credentials() {
    MutexLock lock(&mu_);
    return fetch_credentials_;
  }
  void SetHasToken(bool has_token) { has_token_ = has_token; }
  bool has_token() const override { return has_token_; }
  void SetOffline(bool offline) { offline_ = offline; }
  // Makes `path` serve `bytes` ("" = its true content) from now on.
  void SetServed(const std::string& repo, const std::string& commit, const std::string& path,
                 const std::string& bytes) {
    MutexLock lock(&mu_);
    commits_[repo][commit][path].served = bytes;
  }

  Result<std::string> ResolveRevision(const RepoId& repo, std::string_view revision,
                                      TimePoint) override {
    resolves++;
    if (offline_) return Status::Unavailable("fake network down");
    MutexLock lock(&mu_);
    if (hidden_.count(repo.name)) return Status::NotFound("RepoNotFound " + repo.name);
    // A repo with commits but no branches still resolves its commits, as the
    // Hub's /revision/<sha> does.
    auto c = commits_.find(repo.name);
    if (c != commits_.end() && c->second.count(std::string(revision))) return std::string(revision);
    auto r = refs_.find(repo.name);
    if (r == refs_.end()) return Status::NotFound("RepoNotFound " + repo.name);
    auto it = r->second.find(revision.empty() ? "main" : std::string(revision));
    if (it == r->second.end()) return Status::NotFound("RevisionNotFound");
    return it->second;
  }

  Result<RevisionInfo> ResolveRevisionInfo(const RepoId& repo, std::string_view revision, TimePoint deadline,
                                           MetadataOrigin* origin) override {
    MetadataOrigin answered;
    auto commit = ResolveRevisionFrom(repo, revision, deadline, &answered);
    if (!commit.ok()) return commit.status();
    if (origin != nullptr) *origin = answered;
    MutexLock lock(&mu_);
    auto v = visibility_.find(repo.name);
    return RevisionInfo{*commit, v == visibility_.end() ? RepoVisibility::kUnknown : v->second};
  }

  Result<std::vector<TreeEntry>> ListTree(const RepoId& repo, std::string_view commit,
                                          TimePoint) override {
    listings++;
    if (offline_) return Status::Unavailable("fake network down");
    MutexLock lock(&mu_);
    if (hidden_.count(repo.name)) return Status::NotFound("RepoNotFound");
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
      MutexLock lock(&hold_mu_);
      held_ = hold;
    }
    hold_cv_.SignalAll();
  }

  // A fetch that starts at `offset` waits before serving until
  // ReleaseHeldAt(): one slow GET among many.
  void HoldFetchAt(uint64_t offset) {
    MutexLock lock(&hold_mu_);
    held_offsets_.insert(offset);
  }
  // Fetches that start at or past `offset` wait before serving until it is
  // moved past them (UINT64_MAX: none wait).
  void HoldFetchesFrom(uint64_t offset) {
    {
      MutexLock lock(&hold_mu_);
      hold_from_ = offset;
    }
    hold_cv_.SignalAll();
  }
  // Fetches waiting in a hold now.
  int held() {
    MutexLock lock(&hold_mu_);
    return waiting_in_hold_;
  }
  // Every fetch that starts at `offset` fails at once with a network error.
  void FailFetchesAt(uint64_t offset) {
    MutexLock lock(&hold_mu_);
    failing_offsets_.insert(offset);
  }
  void StopFailingFetches() {
    MutexLock lock(&hold_mu_);
    failing_offsets_.clear();
  }
  void ReleaseHeldAt(uint64_t offset) {
    {
      MutexLock lock(&hold_mu_);
      held_offsets_.erase(offset);
    }
    hold_cv_.SignalAll();
  }

  // Every fetch from now on delivers its first `bytes` bytes, then stalls
  // until ReleaseStalled(): a test sees what readers get of a block still
  // being fetched. With `fail`, a released fetch then ends in a network error.
  void StallFetchesAfter(uint64_t bytes, bool fail = false) {
    MutexLock lock(&hold_mu_);
    stall_after_ = bytes;
    stall_fails_ = fail;
    stall_released_ = false;
  }
  // Every fetch from now on fails after `bytes` bytes and resumes at once
  // with a second attempt (as the real client's retries do), telling the
  // sink so through OnSource. 0: never.
  void FalterFetchesAt(uint64_t bytes) {
    MutexLock lock(&hold_mu_);
    falter_at_ = bytes;
  }
  void ReleaseStalled() {
    {
      MutexLock lock(&hold_mu_);
      stall_released_ = true;
    }
    hold_cv_.SignalAll();
  }
  // Every fetch from now on advances `clock` by `delay` before its first
  // byte: a server a round trip away, for a mount timing its GETs on that
  // FakeClock. Null: no delay.
  void SetFirstByteDelay(FakeClock* clock, Duration delay) {
    MutexLock lock(&hold_mu_);
    delay_clock_ = clock;
    first_byte_delay_ = delay;
  }
  // The length of every fetch asked for so far, in order of asking.
  std::vector<uint64_t> fetch_lengths() {
    MutexLock lock(&hold_mu_);
    return fetch_lengths_;
  }
  int stalled() {
    MutexLock lock(&hold_mu_);
    return stalled_;
  }

  Status FetchRange(const FileLocation& file, uint64_t offset, uint64_t length, RangeSink* sink,
                    TimePoint) override {
    FakeClock* delay_clock = nullptr;
    Duration first_byte_delay{};
    {
      MutexLock lock(&hold_mu_);
      fetch_lengths_.push_back(length);
      delay_clock = delay_clock_;
      first_byte_delay = first_byte_delay_;
      auto released = [&]() REQUIRES(hold_mu_) {
        return !held_ && !held_offsets_.count(offset) && offset < hold_from_;
      };
      ++waiting_in_hold_;
      hold_cv_.Wait(&hold_mu_, released);
      --waiting_in_hold_;
    }
    fetches++;
    if (offline_) return Status::Unavailable("fake network down");
    {
      MutexLock lock(&hold_mu_);
      if (failing_offsets_.count(offset)) return Status::Unavailable("fake connection refused");
    }
    std::string bytes;
    {
      MutexLock lock(&mu_);
      fetch_credentials_.push_back(file.credential);
      if (!file.credential.empty()) {
        if (!credentials_[file.repo.name].count(file.credential)) {
          if (visibility_[file.repo.name] == RepoVisibility::kPrivate) return Status::NotFound("RepoNotFound");
          return Status::PermissionDenied("GatedRepo");
        }
      } else if (gated_.count(file.repo.name)) {
        return Status::PermissionDenied("GatedRepo");
      } else if (hidden_.count(file.repo.name)) {
        return Status::NotFound("RepoNotFound");
      }
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
    uint64_t stall_at = UINT64_MAX, falter_at = UINT64_MAX;
    {
      MutexLock lock(&hold_mu_);
      if (stall_after_ && !stall_released_) stall_at = offset + stall_after_;
      if (falter_at_) falter_at = offset + falter_at_;
    }
    sink->OnSource(endpoint_);
    if (delay_clock) delay_clock->Advance(first_byte_delay);
    while (pos < end) {
      if (pos == falter_at) sink->OnSource(endpoint_);
      if (pos == stall_at) {
        MutexLock lock(&hold_mu_);
        ++stalled_;
        hold_cv_.Wait(&hold_mu_, [this]() REQUIRES(hold_mu_) { return stall_released_; });
        --stalled_;
        if (stall_fails_) return Status::Unavailable("fake connection reset");
      }
      uint64_t n64 = std::min<uint64_t>(piece, end - pos);
      if (stall_at > pos) n64 = std::min(n64, stall_at - pos);
      if (falter_at > pos) n64 = std::min(n64, falter_at - pos);
      const size_t n = static_cast<size_t>(n64);
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
  Mutex mu_;
  std::map<std::string, std::map<std::string, std::map<std::string, File>>> commits_ GUARDED_BY(mu_);
  std::map<std::string, std::map<std::string, std::string>> refs_ GUARDED_BY(mu_);
  std::map<std::string, bool> gated_ GUARDED_BY(mu_);
  std::map<std::string, RepoVisibility> visibility_ GUARDED_BY(mu_);
  std::set<std::string> hidden_ GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> credentials_ GUARDED_BY(mu_);
  std::vector<std::string> fetch_credentials_ GUARDED_BY(mu_);
  std::atomic<bool> has_token_{false};
  std::atomic<bool> offline_{false};
  // The holds, stalls and failures tests set on fetches.
  Mutex hold_mu_;
  CondVar hold_cv_{&hold_mu_};
  bool held_ GUARDED_BY(hold_mu_) = false;
  std::set<uint64_t> held_offsets_ GUARDED_BY(hold_mu_);
  std::set<uint64_t> failing_offsets_ GUARDED_BY(hold_mu_);
  uint64_t hold_from_ GUARDED_BY(hold_mu_) = UINT64_MAX;
  int waiting_in_hold_ GUARDED_BY(hold_mu_) = 0;
  uint64_t stall_after_ GUARDED_BY(hold_mu_) = 0;  // 0 = never stall
  bool stall_fails_ GUARDED_BY(hold_mu_) = false;
  bool stall_released_ GUARDED_BY(hold_mu_) = false;
  int stalled_ GUARDED_BY(hold_mu_) = 0;  // fetches waiting now
  uint64_t falter_at_ GUARDED_BY(hold_mu_) = 0;  // 0 = never
  FakeClock* delay_clock_ GUARDED_BY(hold_mu_) = nullptr;
  Duration first_byte_delay_ GUARDED_BY(hold_mu_){};
  std::vector<uint64_t> fetch_lengths_ GUARDED_BY(hold_mu_);
  std::string endpoint_ = "http://fake-hub";
};

}  // namespace hfm
