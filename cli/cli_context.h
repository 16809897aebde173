// CliContext: what every hfmirror subcommand runs on, built from the same
// options, environment and /etc/hfmirror.conf as the mount (fs/mount_setup.h):
// the cache (opened on first use; LMDB lets a running mount share it), and an
// in-process HubFilesystem over it, so the command reads, verifies and stores
// exactly as a read through the mount does.
//
// Thread safety: the accessors are for the main thread; the HubFilesystem
// they hand out is thread-safe.
#pragma once

#include <memory>
#include <string>

#include "cache/block_store.h"
#include "fetch/http_transport.h"
#include "fetch/hub_client.h"
#include "fs/tree/hub_filesystem.h"
#include "fs/mount/mount_options.h"

namespace hfm::cli {

struct CommonFlags {
  std::string cache;       // --cache DIR
  std::string endpoint;    // --endpoint URL[;URL]
  std::string token_file;  // --token-file PATH
  double timeout = 0;      // --timeout SECONDS (0: the mount's default)
};

// The flags onto options already read from the environment and the config
// file: each flag wins, as -o does for the mount. InvalidArgument for an
// unusable endpoint or timeout.
Status ApplyCommonFlags(const CommonFlags& flags, MountOptions* options);

class CliContext {
 public:
  // Resolves the options the way mount.hfmirror does; InvalidArgument with a
  // message for the user on anything wrong.
  static Result<std::unique_ptr<CliContext>> Create(const CommonFlags& flags);
  ~CliContext();

  const MountOptions& options() const { return options_; }
  // Now plus the request timeout: the deadline of one Hub request.
  TimePoint RequestDeadline() const;
  Result<Cache*> cache();
  Result<HubClient*> hub();
  Result<HubFilesystem*> filesystem();

 private:
  explicit CliContext(MountOptions options) : options_(std::move(options)) {}

  MountOptions options_;
  std::unique_ptr<Cache> cache_;
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<HubClient> hub_;
  std::unique_ptr<HubFilesystem> fs_;
};

// "ORG/NAME[@REV]" or "datasets/ORG/NAME[@REV]" ("spaces/..."): the repo and
// the revision ("" when none is given). InvalidArgument, for the user, if
// malformed.
struct RepoSpec {
  RepoId repo;
  std::string revision;
};
Result<RepoSpec> ParseRepoSpec(const std::string& spec);

// The spec as the path of its repo directory in the mount's namespace (REV's
// '/' written %2F).
Result<std::string> RepoPath(const std::string& spec);

}  // namespace hfm::cli
