#include "cli/prefetch.h"

#include <fnmatch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "cli/progress.h"
#include "cli/repo_tree.h"
#include "fetch/lock_file.h"
#include "fs/tree/file_xattrs.h"
#include "util/mutex.h"
#include "util/safe_text.h"

namespace hfm::cli {
namespace {

bool MatchesAny(const std::string& path, const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (fnmatch(p.c_str(), path.c_str(), 0) == 0) return true;
  }
  return false;
}

bool IsComplete(HubFilesystem& fs, uint64_t ino) {
  auto x = fs.Xattrs(ino);
  return x.ok() && FindXattr(*x, "user.hfmirror.state") == "complete";
}

// A read waits for a rate limit only up to its timeout; prefetch has no one
// waiting on it, so it waits as long as the server asks, this many times per
// file, each wait at most kMaxRateLimitWait (a server asking for more is
// not to be trusted with our time).
constexpr int kMaxRateLimitWaits = 8;
constexpr Duration kMaxRateLimitWait = std::chrono::minutes(15);

// The longest wait a server asked for that is still running, and who asked.
std::optional<std::pair<std::string, Duration>> RateLimitWait(HubClient* hub) {
  std::optional<std::pair<std::string, Duration>> longest;
  for (const EndpointStats& e : hub->Stats()) {
    if (e.rate_limited_for > Duration::zero() && (!longest || e.rate_limited_for > longest->second)) {
      longest.emplace(e.endpoint, e.rate_limited_for);
    }
  }
  return longest;
}

// After a failed read: waits out a server's rate limit, showing it; false
// when there is none to wait for (the failure stands).
bool WaitForRateLimit(HubClient* hub, const RepoEntry& file, int* waits, std::FILE* err) {
  if (hub == nullptr || *waits >= kMaxRateLimitWaits) return false;
  auto wait = RateLimitWait(hub);
  if (!wait) return false;
  ++*waits;
  const Duration d = std::min(wait->second, kMaxRateLimitWait);
  std::fprintf(err, "hfmirror prefetch: %s: %s asks us to wait: waiting %.0f s\n", EscapeUnsafeText(file.path).c_str(),
               EscapeUnsafeText(wait->first).c_str(), std::chrono::duration<double>(d).count());
  std::this_thread::sleep_for(d);
  return true;
}

// Reads the whole file through the filesystem; `done` grows as bytes come.
// A read refused for a server's rate limit is asked again after the wait.
Status ReadWhole(HubFilesystem& fs, HubClient* hub, const RepoEntry& file, std::atomic<uint64_t>* done,
                 Progress* progress, std::FILE* err) {
  auto opened = fs.Open(file.ino);
  if (!opened.ok()) return opened.status();
  std::string buf(1 << 20, '\0');
  Status st;
  int waits = 0;
  for (uint64_t offset = 0;;) {
    auto n = fs.Read(opened->handle, offset, std::span<char>(buf.data(), buf.size()));
    const bool transient = !n.ok() && (n.status().IsUnavailable() || n.status().IsDeadlineExceeded());
    if (transient && WaitForRateLimit(hub, file, &waits, err)) continue;
    if (!n.ok()) {
      st = n.status();
      break;
    }
    if (*n == 0) break;
    offset += *n;
    progress->Update(done->fetch_add(*n) + *n);
  }
  fs.Release(opened->handle);
  return st;
}

// The files that failed, as the worker threads report them.
class FailureList {
 public:
  void Add(std::string failure) {
    MutexLock lock(&mu_);
    list_.push_back(std::move(failure));
  }
  std::vector<std::string> Take() {
    MutexLock lock(&mu_);
    return std::move(list_);
  }

 private:
  Mutex mu_;
  std::vector<std::string> list_ GUARDED_BY(mu_);
};

// The spec at the commit the lock file pins its repo to.
Result<std::string> LockedSpec(const std::string& spec, const LockFile& lock) {
  auto parsed = ParseRepoSpec(spec);
  if (!parsed.ok()) return parsed.status();
  const LockedRepo* locked = lock.Find(parsed->repo);
  if (!locked) return Status::InvalidArgument(spec + ": not in the lock file");
  if (!parsed->revision.empty() && parsed->revision != locked->revision && parsed->revision != locked->commit) {
    return Status::InvalidArgument(spec + ": the lock file pins this repo at \"" + locked->revision + "\"");
  }
  return std::string(RepoKindUrlPrefix(parsed->repo.kind)) + parsed->repo.name + "@" + locked->commit;
}

// OK when the filesystem's listing (the hashes its reads are verified
// against, from its xattrs) agrees with the lock; else DataLoss naming how.
Status CheckAgainstLock(HubFilesystem& fs, const std::string& spec, const std::vector<RepoEntry>& entries,
                        const LockFile& lock) {
  auto parsed = ParseRepoSpec(spec);
  if (!parsed.ok()) return parsed.status();
  std::vector<TreeEntry> listed;
  for (const RepoEntry& e : entries) {
    if (e.is_dir) continue;
    auto x = fs.Xattrs(e.ino);
    if (!x.ok()) return x.status();
    const std::optional<std::string> sha256 = FindXattr(*x, "user.hfmirror.sha256");
    const std::optional<std::string> sha1 = FindXattr(*x, "user.hfmirror.git_sha1");
    auto hash = sha256 ? ContentHash::FromHex(ContentHash::Kind::kSha256, *sha256)
                       : ContentHash::FromHex(ContentHash::Kind::kGitSha1, sha1.value_or(""));
    if (!hash) return Status::DataLoss(e.path + ": no hash to check against the lock file");
    TreeEntry t;
    t.path = e.path;
    t.size = e.size;
    t.hash = *hash;
    listed.push_back(std::move(t));
  }
  const std::string mismatch = LockMismatch(*lock.Find(parsed->repo), listed);
  if (mismatch.empty()) return Status::Ok();
  return Status::DataLoss("the listing disagrees with the lock file: " + mismatch);
}

// With a lock file: loads it and pins `spec` to the commit it locks.
Status PinToLock(const std::string& lock_file, std::optional<LockFile>* lock, std::string* spec) {
  if (lock_file.empty()) return Status::Ok();
  auto loaded = LockFile::Load(lock_file);
  if (!loaded.ok()) return loaded.status();
  auto locked = LockedSpec(*spec, *loaded);
  if (!locked.ok()) return locked.status();
  *lock = std::move(*loaded);
  *spec = *locked;
  return Status::Ok();
}

// Every entry below the repo, checked against the lock when there is one.
Result<std::vector<RepoEntry>> ListChecked(HubFilesystem& fs, const std::string& repo_path, const std::string& spec,
                                           const std::optional<LockFile>& lock) {
  auto entries = ListFolder(fs, repo_path, /*recursive=*/true);
  if (!entries.ok() || !lock) return entries;
  HFM_RETURN_IF_ERROR(CheckAgainstLock(fs, spec, *entries, *lock));
  return entries;
}

}  // namespace

bool Selected(const std::string& path, const std::vector<std::string>& include,
              const std::vector<std::string>& exclude) {
  return (include.empty() || MatchesAny(path, include)) && !MatchesAny(path, exclude);
}

int RunPrefetch(CliContext& context, const PrefetchRequest& request, std::FILE* out, std::FILE* err, bool tty) {
  std::optional<LockFile> lock;
  std::string spec = request.spec;
  if (Status st = PinToLock(request.lock_file, &lock, &spec); !st.ok()) {
    std::fprintf(err, "hfmirror prefetch: %s\n", st.message().c_str());
    return 2;
  }
  auto repo_path = RepoPath(spec);
  auto fs = repo_path.ok() ? context.filesystem() : Result<HubFilesystem*>(repo_path.status());
  if (!fs.ok()) {
    std::fprintf(err, "hfmirror prefetch: %s\n", EscapeUnsafeText(fs.status().message()).c_str());
    return 2;
  }
  auto entries = ListChecked(**fs, *repo_path, spec, lock);
  if (!entries.ok()) {
    std::fprintf(err, "hfmirror prefetch: %s: %s\n", EscapeUnsafeText(request.spec).c_str(),
                 EscapeUnsafeText(entries.status().ToString()).c_str());
    return 1;
  }
  std::vector<RepoEntry> files;
  uint64_t total = 0;
  for (auto& e : *entries) {
    if (e.is_dir || !Selected(e.path, request.include, request.exclude)) continue;
    total += e.size;
    files.push_back(std::move(e));
  }
  Progress progress(out, tty, "prefetch " + request.spec, total);
  auto hub_or = context.hub();
  HubClient* hub = hub_or.ok() ? *hub_or : nullptr;
  std::atomic<uint64_t> done{0};
  std::atomic<size_t> next{0};
  std::atomic<size_t> already{0};
  FailureList failure_list;
  auto worker = [&] {
    for (size_t i = next++; i < files.size(); i = next++) {
      const RepoEntry& f = files[i];
      if (IsComplete(**fs, f.ino)) {  // nothing to fetch: count it and move on
        ++already;
        progress.Update(done.fetch_add(f.size) + f.size);
        continue;
      }
      Status st = ReadWhole(**fs, hub, f, &done, &progress, err);
      if (st.ok() && !IsComplete(**fs, f.ino)) st = Status::DataLoss("read whole but not verified complete");
      if (!st.ok()) failure_list.Add(f.path + ": " + st.ToString());
    }
  };
  std::vector<std::thread> threads;
  const int n = std::max(1, std::min<int>(request.parallel, static_cast<int>(files.size())));
  for (int t = 0; t < n; ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  const std::vector<std::string> failures = failure_list.Take();
  progress.Finish(done.load());
  std::fprintf(out, "%zu file(s), %s; %zu already complete in the cache %s\n", files.size(),
               HumanBytes(static_cast<double>(total)).c_str(), already.load(), EscapeUnsafeText(context.options().cache_dir).c_str());
  if (!failures.empty()) {
    std::fprintf(err, "hfmirror prefetch: %zu file(s) failed:\n", failures.size());
    for (const auto& f : failures) std::fprintf(err, "  %s\n", EscapeUnsafeText(f).c_str());
    return 1;
  }
  return 0;
}

}  // namespace hfm::cli
