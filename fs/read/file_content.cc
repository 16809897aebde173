#include "fs/read/file_content.h"

namespace hfm {

FileContent::FileContent(ContentHash hash, uint64_t size, const ReadPathEnv& env, VerdictListener* verdicts,
                         BackgroundStarted on_background, bool must_verify)
    : hash_(hash),
      size_(size),
      on_background_(std::move(on_background)),
      pin_(env.store, hash),
      scheduler_(hash, size, env, [this] { return Hold(); },
                 // The hash runs on its own thread, in the order blocks arrive.
                 [this, hasher = env.hasher](const FileLocation& location, uint64_t round, uint32_t index,
                                             std::shared_ptr<const std::string> bytes) {
                   hasher->Submit([this, hold = Hold(), location, round, index, bytes] {
                     verifier_.AdvanceHash(&location, round, index, bytes);
                   });
                 }),
      verifier_(hash, size, &scheduler_, env, verdicts, [this] { return Hold(); }, must_verify),
      prefetcher_(&scheduler_, env.options.background_window_blocks, [this] { return verifier_.complete(); }),
      reader_(hash, size, &scheduler_, &verifier_, env) {}

FileContent::~FileContent() = default;

void FileContent::StartBackground(const FileLocation& location) {
  prefetcher_.Start(location);
  on_background_(shared_from_this());
  prefetcher_.Pump();
}

}  // namespace hfm
