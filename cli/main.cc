// hfmirror: the command beside the mount. One binary, subcommands:
//   prefetch ORG/NAME[@REV] [--include GLOB]... [--exclude GLOB]...
//   ls ORG/NAME[@REV] [PATH] [-R]
//   resolve ORG/NAME[@REV]
//   search QUERY [--kind model|dataset|space] [--limit N]
//   cache stats | ls [--json] | verify | gc --max-size SIZE | evict ORG/NAME[@REV] | purge --yes
//   status [MOUNTPOINT] [--json]
// Every subcommand that touches the Hub or the cache takes --cache,
// --endpoint and --token-file, else the environment and /etc/hfmirror.conf,
// as mount.hfmirror does (cli_context.h).
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "cli/cache_commands.h"
#include "cli/cli_context.h"
#include "cli/lock.h"
#include "cli/prefetch.h"
#include "cli/progress.h"
#include "cli/repo_tree.h"
#include "cli/status.h"
#include "util/safe_text.h"

namespace {

using namespace hfm;
using namespace hfm::cli;

void AddCommonFlags(CLI::App* app, CommonFlags* flags) {
  app->add_option("--cache", flags->cache, "the block cache (default: as mount.hfmirror)");
  app->add_option("--endpoint", flags->endpoint, "Hub or mirrors, URL[;URL...] (default: as mount.hfmirror)");
  app->add_option("--token-file", flags->token_file, "a file holding the Hub token");
  app->add_option("--timeout", flags->timeout, "seconds a request may take (default 30)");
}

Result<std::unique_ptr<CliContext>> Context(const CommonFlags& flags) { return CliContext::Create(flags); }

int Fail(const char* command, const Status& status) {
  std::fprintf(stderr, "hfmirror %s: %s\n", command, EscapeUnsafeText(status.ToString()).c_str());
  return status.code() == Status::Code::kInvalidArgument ? 2 : 1;
}

int RunLs(const CommonFlags& flags, const std::string& spec, const std::string& path, bool recursive) {
  auto ctx = Context(flags);
  if (!ctx.ok()) return Fail("ls", ctx.status());
  auto repo = RepoPath(spec);
  if (!repo.ok()) return Fail("ls", repo.status());
  auto fs = (*ctx)->filesystem();
  if (!fs.ok()) return Fail("ls", fs.status());
  auto entries = ListFolder(**fs, *repo + (path.empty() ? "" : "/" + path), recursive);
  if (!entries.ok()) return Fail("ls", entries.status());
  // Names come from the Hub or a mirror: escaped, they cannot drive the terminal.
  for (const auto& e : *entries) {
    const std::string name = EscapeUnsafeText(e.path);
    if (e.is_dir) {
      std::printf("%14s  %s/\n", "-", name.c_str());
    } else {
      std::printf("%14llu  %s\n", static_cast<unsigned long long>(e.size), name.c_str());
    }
  }
  return 0;
}

int RunResolve(const CommonFlags& flags, const std::string& spec) {
  auto ctx = Context(flags);
  if (!ctx.ok()) return Fail("resolve", ctx.status());
  auto parsed = ParseRepoSpec(spec);
  if (!parsed.ok()) return Fail("resolve", parsed.status());
  auto hub = (*ctx)->hub();
  if (!hub.ok()) return Fail("resolve", hub.status());
  auto commit = (*hub)->ResolveRevision(parsed->repo, parsed->revision, (*ctx)->RequestDeadline());
  if (!commit.ok()) return Fail("resolve", commit.status());
  std::printf("%s\n", commit->c_str());
  return 0;
}

int RunSearch(const CommonFlags& flags, const std::string& query, const std::string& kind_name, int limit) {
  auto ctx = Context(flags);
  if (!ctx.ok()) return Fail("search", ctx.status());
  RepoKind kind = RepoKind::kModel;
  if (kind_name == "dataset") {
    kind = RepoKind::kDataset;
  } else if (kind_name == "space") {
    kind = RepoKind::kSpace;
  } else if (kind_name != "model") {
    return Fail("search", Status::InvalidArgument("--kind: model, dataset or space"));
  }
  auto hub = (*ctx)->hub();
  if (!hub.ok()) return Fail("search", hub.status());
  auto found = (*hub)->Search(kind, query, limit, (*ctx)->RequestDeadline());
  if (!found.ok()) return Fail("search", found.status());
  const std::string prefix = kind == RepoKind::kModel ? "" : std::string(RepoKindPlural(kind)) + "/";
  for (const auto& r : *found) {
    std::printf("%s%s%s%s\n", prefix.c_str(), EscapeUnsafeText(r.id).c_str(), r.gated ? "  gated" : "", r.is_private ? "  private" : "");
  }
  return 0;
}

// What the command line asked for: every subcommand's arguments, as CLI11
// fills them, and the subcommands, to tell which one was given.
struct Invocation {
  CommonFlags flags;
  PrefetchRequest prefetch;
  std::string spec, path, mountpoint, query, kind = "model", max_size;
  bool recursive = false, json = false, yes = false;
  int limit = 20;
  CLI::App *prefetch_cmd = nullptr, *ls_cmd = nullptr, *resolve_cmd = nullptr, *search_cmd = nullptr;
  CLI::App *cache_cmd = nullptr, *cache_stats = nullptr, *cache_ls = nullptr, *cache_verify = nullptr;
  CLI::App *cache_gc = nullptr, *cache_evict = nullptr, *cache_purge = nullptr, *status_cmd = nullptr;
};

// prefetch, ls, resolve and search: the subcommands that name a repo or look for one.
void AddRepoCommands(CLI::App* app, Invocation* in) {
  in->prefetch_cmd = app->add_subcommand("prefetch", "fill the cache with a repo's files, verified");
  in->prefetch_cmd->add_option("repo", in->prefetch.spec, "ORG/NAME[@REV] (datasets/ or spaces/ in front for those)")
      ->required();
  in->prefetch_cmd->add_option("--include", in->prefetch.include, "only paths matching GLOB (repeatable)");
  in->prefetch_cmd->add_option("--exclude", in->prefetch.exclude, "not paths matching GLOB (repeatable)");
  in->prefetch_cmd->add_option("-j,--parallel", in->prefetch.parallel, "files at once (default 4)");
  in->prefetch_cmd->add_option("--lock", in->prefetch.lock_file, "only at the commit and hashes of this lock file");
  AddCommonFlags(in->prefetch_cmd, &in->flags);

  in->ls_cmd = app->add_subcommand("ls", "list a repo folder at a revision");
  in->ls_cmd->add_option("repo", in->spec, "ORG/NAME[@REV]")->required();
  in->ls_cmd->add_option("path", in->path, "a folder in the repo (default: its root)");
  in->ls_cmd->add_flag("-R,--recursive", in->recursive, "everything below");
  AddCommonFlags(in->ls_cmd, &in->flags);

  in->resolve_cmd = app->add_subcommand("resolve", "print the commit a revision points to");
  in->resolve_cmd->add_option("repo", in->spec, "ORG/NAME[@REV]")->required();
  AddCommonFlags(in->resolve_cmd, &in->flags);

  in->search_cmd = app->add_subcommand("search", "repos whose id contains QUERY (datasets/ or spaces/ in front)");
  in->search_cmd->add_option("query", in->query, "part of a repo id")->required();
  in->search_cmd->add_option("--kind", in->kind, "model, dataset or space (default model)");
  in->search_cmd->add_option("--limit", in->limit, "at most this many (1..1000, default 20)");
  AddCommonFlags(in->search_cmd, &in->flags);
}

void AddCacheCommands(CLI::App* app, Invocation* in) {
  in->cache_cmd = app->add_subcommand("cache", "the cache");
  CLI::App* cache = in->cache_cmd;
  cache->require_subcommand(1);
  in->cache_stats = cache->add_subcommand("stats", "what the cache holds");
  AddCommonFlags(in->cache_stats, &in->flags);
  in->cache_ls = cache->add_subcommand("ls", "what is cached of each repo and revision");
  in->cache_ls->add_flag("--json", in->json, "as JSON");
  AddCommonFlags(in->cache_ls, &in->flags);
  in->cache_verify = cache->add_subcommand("verify", "re-hash every complete file; drop those that fail");
  AddCommonFlags(in->cache_verify, &in->flags);
  in->cache_gc = cache->add_subcommand("gc", "drop least recently used files down to a size");
  in->cache_gc->add_option("--max-size", in->max_size, "what the cache may hold afterwards (50G, 512M, bytes)")
      ->required();
  AddCommonFlags(in->cache_gc, &in->flags);
  in->cache_evict = cache->add_subcommand("evict", "drop a repo's cached files (all revisions, or @REV)");
  in->cache_evict->add_option("repo", in->spec, "ORG/NAME[@REV]")->required();
  AddCommonFlags(in->cache_evict, &in->flags);
  in->cache_purge = cache->add_subcommand("purge", "empty the cache: every file and listing");
  in->cache_purge->add_flag("-y,--yes", in->yes, "really (else it says what it would drop)");
  AddCommonFlags(in->cache_purge, &in->flags);
}

void AddStatusCommand(CLI::App* app, Invocation* in) {
  in->status_cmd = app->add_subcommand("status", "running mounts: endpoints, traffic, cache hits");
  in->status_cmd->add_option("mountpoint", in->mountpoint, "one mount (default: all)");
  in->status_cmd->add_flag("--json", in->json, "the stats as JSON");
}

int RunCacheCommand(const Invocation& in) {
  const std::string name = "cache " + in.cache_cmd->get_subcommands().front()->get_name();
  auto ctx = Context(in.flags);
  if (!ctx.ok()) return Fail(name.c_str(), ctx.status());
  CliContext& c = **ctx;
  if (*in.cache_stats) return RunCacheStats(c, stdout, stderr);
  if (*in.cache_ls) return RunCacheLs(c, in.json, stdout, stderr);
  if (*in.cache_verify) return RunCacheVerify(c, stdout, stderr);
  if (*in.cache_gc) return RunCacheGc(c, in.max_size, stdout, stderr);
  if (*in.cache_evict) return RunCacheEvict(c, in.spec, stdout, stderr);
  if (*in.cache_purge) return RunCachePurge(c, in.yes, stdout, stderr);
  return 2;
}

int RunCommand(const Invocation& in) {
  if (*in.prefetch_cmd) {
    auto ctx = Context(in.flags);
    if (!ctx.ok()) return Fail("prefetch", ctx.status());
    return RunPrefetch(**ctx, in.prefetch, stdout, stderr, isatty(STDOUT_FILENO) == 1);
  }
  if (*in.ls_cmd) return RunLs(in.flags, in.spec, in.path, in.recursive);
  if (*in.resolve_cmd) return RunResolve(in.flags, in.spec);
  if (*in.search_cmd) return RunSearch(in.flags, in.query, in.kind, in.limit);
  if (*in.cache_cmd) return RunCacheCommand(in);
  if (*in.status_cmd) return RunStatus(in.mountpoint, in.json, stdout, stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hfmirror: prefetch into, list, and inspect the hfmirror cache and mounts"};
  app.set_version_flag("-V,--version", std::string("hfmirror ") + HFM_VERSION);
  app.require_subcommand(1);
  Invocation in;
  // In this order in --help.
  AddRepoCommands(&app, &in);
  AddCacheCommands(&app, &in);
  AddStatusCommand(&app, &in);
  const auto lock = AddLockCommand(&app);
  AddCommonFlags(lock->command, &in.flags);
  CLI11_PARSE(app, argc, argv);
  if (*lock->command) {
    auto ctx = Context(in.flags);
    return ctx.ok() ? RunLock(**ctx, *lock, stdout, stderr) : Fail("lock", ctx.status());
  }
  return RunCommand(in);
}
