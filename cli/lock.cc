#include "cli/lock.h"

#include <cstdio>
#include <fstream>

#include "fetch/lock_file.h"

namespace hfm::cli {
namespace {

// Writes `text` to `path` whole or not at all: a temporary file beside it,
// renamed over it.
Status WriteWhole(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.flush();
    if (!f) return Status::Unavailable("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::Unavailable("cannot rename " + tmp + " to " + path);
  }
  return Status::Ok();
}

Result<LockedRepo> LockOne(CliContext& context, HubClient* hub, const std::string& spec) {
  auto parsed = ParseRepoSpec(spec);
  if (!parsed.ok()) return parsed.status();
  auto commit = hub->ResolveRevision(parsed->repo, parsed->revision, context.RequestDeadline());
  if (!commit.ok()) return commit.status();
  auto entries = hub->ListTree(parsed->repo, *commit, context.RequestDeadline());
  if (!entries.ok()) return entries.status();
  return LockRepo(parsed->repo, parsed->revision, *commit, *entries);
}

}  // namespace

std::unique_ptr<LockCommand> AddLockCommand(CLI::App* app) {
  auto lock = std::make_unique<LockCommand>();
  lock->command = app->add_subcommand("lock", "write a lock file: each repo's commit and every file's hash");
  lock->command->add_option("repos", lock->specs, "ORG/NAME[@REV] ... (datasets/ or spaces/ in front for those)")
      ->required();
  lock->command->add_option("-o,--output", lock->output, "the lock file to write (default: stdout)");
  return lock;
}

int RunLock(CliContext& context, const LockCommand& request, std::FILE* out, std::FILE* err) {
  auto hub = context.hub();
  if (!hub.ok()) {
    std::fprintf(err, "hfmirror lock: %s\n", hub.status().ToString().c_str());
    return 1;
  }
  std::vector<LockedRepo> repos;
  for (const std::string& spec : request.specs) {
    auto locked = LockOne(context, *hub, spec);
    if (!locked.ok()) {
      std::fprintf(err, "hfmirror lock: %s: %s\n", spec.c_str(), locked.status().ToString().c_str());
      return locked.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
    }
    for (const LockedRepo& r : repos) {
      if (r.repo == locked->repo) {
        std::fprintf(err, "hfmirror lock: %s: the repo is named twice\n", spec.c_str());
        return 2;
      }
    }
    repos.push_back(std::move(*locked));
  }
  const std::string text = LockFile::Serialize(repos);
  if (request.output.empty()) {
    std::fputs(text.c_str(), out);
    return 0;
  }
  if (Status s = WriteWhole(request.output, text); !s.ok()) {
    std::fprintf(err, "hfmirror lock: %s\n", s.ToString().c_str());
    return 1;
  }
  for (const LockedRepo& r : repos) {
    std::fprintf(out, "%s@%s: %zu files\n", RepoDisplayName(r.repo).c_str(), r.commit.c_str(), r.files.size());
  }
  return 0;
}

}  // namespace hfm::cli
