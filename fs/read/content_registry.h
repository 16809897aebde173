// ContentRegistry: the one FileContent per content hash that a mount
// serves, which contents failed verification in this mount, and the
// background prefetches waiting for budget.
//
// Thread safety: all public methods are thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "fs/read/content_verifier.h"
#include "fs/read/file_content.h"
#include "fs/read/read_path_env.h"
#include "util/content_hash.h"
#include "util/mutex.h"

namespace hfm {

class ContentRegistry : public VerdictListener {
 public:
  // Every pointer in `env` must outlive the registry and every FileContent
  // it hands out.
  explicit ContentRegistry(const ReadPathEnv& env) : env_(env) {}

  // The live FileContent of `hash`, made if there is none.
  std::shared_ptr<FileContent> Get(const ContentHash& hash, uint64_t size) EXCLUDES(mu_);
  // The live FileContent of `hash`, or nullptr: never creates one.
  std::shared_ptr<FileContent> Find(const ContentHash& hash) EXCLUDES(mu_);

  // Lets every background prefetch take what the budget has free. Call with
  // no FileContent lock held.
  void PumpBackground() EXCLUDES(mu_);
  size_t background_count() EXCLUDES(mu_);
  // Stops background prefetch for good: the queues are about to go.
  void Shutdown();

  // Called (on the thread that found it, which may hold FileContent locks:
  // it must only hand the work off) when a content failed verification, so
  // pages the kernel cached from its bytes can be dropped. Set before use.
  void SetMismatchListener(std::function<void(const ContentHash&)> listener);

  void OnVerified(const ContentHash& hash) override EXCLUDES(mu_);
  void OnMismatch(const ContentHash& hash) override EXCLUDES(mu_);

 private:
  // `content` wants budget whenever some is released.
  void AddBackground(const std::shared_ptr<FileContent>& content) EXCLUDES(mu_);

  const ReadPathEnv env_;
  Mutex mu_;
  std::map<ContentHash, std::weak_ptr<FileContent>> live_ GUARDED_BY(mu_);
  std::set<ContentHash> corrupt_ GUARDED_BY(mu_);
  std::vector<std::weak_ptr<FileContent>> background_ GUARDED_BY(mu_);
  std::atomic<bool> pumping_{false};     // one PumpBackground at a time; others skip
  std::atomic<bool> pump_again_{false};  // a release came while pumping
  std::atomic<bool> shutting_down_{false};
  std::function<void(const ContentHash&)> mismatch_listener_;  // set before use
};

}  // namespace hfm
