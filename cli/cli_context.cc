#include "cli/cli_context.h"

#include <vector>

#include "fs/mount/credentials.h"
#include "fs/mount/mount_setup.h"

namespace hfm::cli {

Status ApplyCommonFlags(const CommonFlags& flags, MountOptions* options) {
  if (!flags.cache.empty()) options->cache_dir = flags.cache;
  if (!flags.endpoint.empty()) {
    std::vector<std::string> endpoints = SplitEndpoints(flags.endpoint);
    if (endpoints.empty()) return Status::InvalidArgument("--endpoint needs a URL");
    HFM_RETURN_IF_ERROR(CheckEndpointUrls(endpoints));
    options->endpoints = std::move(endpoints);
  }
  if (!flags.token_file.empty()) options->token_file = flags.token_file;
  if (flags.timeout > 0) {
    if (flags.timeout < 1 || flags.timeout > 1e7) {
      return Status::InvalidArgument("--timeout must be between 1 and 10000000 seconds");
    }
    options->timeout = flags.timeout;
  }
  return Status::Ok();
}

Result<std::unique_ptr<CliContext>> CliContext::Create(const CommonFlags& flags) {
  // The mount's own parser reads the environment and the config file (the
  // mount point is a placeholder it requires). The flags are then set as
  // values, never joined into an option string: a ',' or '=' inside one
  // stays part of it ("--cache 'DIR,insecure'" names a directory; it does
  // not turn TLS checks off).
  std::string program = "hfmirror";
  std::string mountpoint = "/";
  char* argv[] = {program.data(), mountpoint.data()};
  auto parsed = ParseMountOptions(2, argv);
  if (!parsed.ok()) return parsed.status();
  HFM_RETURN_IF_ERROR(ApplyCommonFlags(flags, &*parsed));
  return std::unique_ptr<CliContext>(new CliContext(std::move(*parsed)));
}

CliContext::~CliContext() {
  // Fetches first (they hand blocks to the cache), then the cache.
  if (transport_) transport_->CancelAll();
  fs_.reset();
  hub_.reset();
  transport_.reset();
  cache_.reset();
}

TimePoint CliContext::RequestDeadline() const {
  return SystemClock()->Now() + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(options_.timeout));
}

Result<Cache*> CliContext::cache() {
  if (!cache_) {
    auto opened = OpenLmdbCache(MakeCacheOptions(options_));
    if (!opened.ok()) return Status::Unavailable("cache " + options_.cache_dir + ": " + opened.status().message());
    cache_ = std::make_unique<Cache>(std::move(*opened));
  }
  return cache_.get();
}

Result<HubClient*> CliContext::hub() {
  if (!hub_) {
    auto token = LoadToken(options_.token_file);
    if (!token.ok()) return token.status();
    transport_ = NewCurlTransport(MakeTransportOptions(options_));
    hub_ = NewHubClient(MakeHubClientOptions(options_, *token, transport_.get()));
  }
  return hub_.get();
}

Result<HubFilesystem*> CliContext::filesystem() {
  if (!fs_) {
    auto c = cache();
    if (!c.ok()) return c.status();
    auto h = hub();
    if (!h.ok()) return h.status();
    fs_ = std::make_unique<HubFilesystem>(*h, (*c)->blocks.get(), (*c)->meta.get(),
                                          MakeFilesystemOptions(options_, HFM_VERSION));
  }
  return fs_.get();
}

Result<RepoSpec> ParseRepoSpec(const std::string& spec) {
  RepoSpec out;
  std::string rest = spec;
  for (RepoKind kind : {RepoKind::kDataset, RepoKind::kSpace}) {
    const std::string prefix = RepoKindUrlPrefix(kind);
    if (rest.rfind(prefix, 0) == 0) {
      out.repo.kind = kind;
      rest = rest.substr(prefix.size());
    }
  }
  const size_t at = rest.find('@');
  out.repo.name = rest.substr(0, at);
  const std::string& name = out.repo.name;
  const size_t slash = name.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == name.size() ||
      name.find('/', slash + 1) != std::string::npos) {
    return Status::InvalidArgument("'" + spec + "': expected ORG/NAME[@REV] (datasets/ or spaces/ in front for those)");
  }
  if (at != std::string::npos) {
    out.revision = rest.substr(at + 1);
    if (out.revision.empty()) return Status::InvalidArgument("'" + spec + "': empty revision after '@'");
  }
  return out;
}

Result<std::string> RepoPath(const std::string& spec) {
  auto parsed = ParseRepoSpec(spec);
  if (!parsed.ok()) return parsed.status();
  std::string path = std::string(RepoKindUrlPrefix(parsed->repo.kind)) + parsed->repo.name;
  if (parsed->revision.empty()) return path;
  path += "@";
  for (char c : parsed->revision) {
    if (c == '/') {
      path += "%2F";
    } else {
      path.push_back(c);
    }
  }
  return path;
}

}  // namespace hfm::cli
