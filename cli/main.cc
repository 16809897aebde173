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
#include "cli/prefetch.h"
#include "cli/progress.h"
#include "cli/repo_tree.h"
#include "cli/status.h"

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
  std::fprintf(stderr, "hfmirror %s: %s\n", command, status.ToString().c_str());
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
  for (const auto& e : *entries) {
    if (e.is_dir) {
      std::printf("%14s  %s/\n", "-", e.path.c_str());
    } else {
      std::printf("%14llu  %s\n", static_cast<unsigned long long>(e.size), e.path.c_str());
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
    std::printf("%s%s%s%s\n", prefix.c_str(), r.id.c_str(), r.gated ? "  gated" : "", r.is_private ? "  private" : "");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hfmirror: prefetch into, list, and inspect the hfmirror cache and mounts"};
  app.set_version_flag("-V,--version", std::string("hfmirror ") + HFM_VERSION);
  app.require_subcommand(1);

  CommonFlags flags;
  PrefetchRequest prefetch;
  auto* prefetch_cmd = app.add_subcommand("prefetch", "fill the cache with a repo's files, verified");
  prefetch_cmd->add_option("repo", prefetch.spec, "ORG/NAME[@REV] (datasets/ or spaces/ in front for those)")
      ->required();
  prefetch_cmd->add_option("--include", prefetch.include, "only paths matching GLOB (repeatable)");
  prefetch_cmd->add_option("--exclude", prefetch.exclude, "not paths matching GLOB (repeatable)");
  prefetch_cmd->add_option("-j,--parallel", prefetch.parallel, "files at once (default 4)");
  AddCommonFlags(prefetch_cmd, &flags);

  std::string spec, path, mountpoint;
  bool recursive = false, json = false;
  auto* ls_cmd = app.add_subcommand("ls", "list a repo folder at a revision");
  ls_cmd->add_option("repo", spec, "ORG/NAME[@REV]")->required();
  ls_cmd->add_option("path", path, "a folder in the repo (default: its root)");
  ls_cmd->add_flag("-R,--recursive", recursive, "everything below");
  AddCommonFlags(ls_cmd, &flags);

  auto* resolve_cmd = app.add_subcommand("resolve", "print the commit a revision points to");
  resolve_cmd->add_option("repo", spec, "ORG/NAME[@REV]")->required();
  AddCommonFlags(resolve_cmd, &flags);

  std::string query, kind = "model";
  int limit = 20;
  auto* search_cmd = app.add_subcommand("search", "repos whose id contains QUERY (datasets/ or spaces/ in front)");
  search_cmd->add_option("query", query, "part of a repo id")->required();
  search_cmd->add_option("--kind", kind, "model, dataset or space (default model)");
  search_cmd->add_option("--limit", limit, "at most this many (1..1000, default 20)");
  AddCommonFlags(search_cmd, &flags);

  auto* cache_cmd = app.add_subcommand("cache", "the cache");
  cache_cmd->require_subcommand(1);
  auto* cache_stats = cache_cmd->add_subcommand("stats", "what the cache holds");
  AddCommonFlags(cache_stats, &flags);
  auto* cache_ls = cache_cmd->add_subcommand("ls", "what is cached of each repo and revision");
  cache_ls->add_flag("--json", json, "as JSON");
  AddCommonFlags(cache_ls, &flags);
  auto* cache_verify = cache_cmd->add_subcommand("verify", "re-hash every complete file; drop those that fail");
  AddCommonFlags(cache_verify, &flags);
  std::string max_size;
  auto* cache_gc = cache_cmd->add_subcommand("gc", "drop least recently used files down to a size");
  cache_gc->add_option("--max-size", max_size, "what the cache may hold afterwards (50G, 512M, bytes)")->required();
  AddCommonFlags(cache_gc, &flags);
  auto* cache_evict = cache_cmd->add_subcommand("evict", "drop a repo's cached files (all revisions, or @REV)");
  cache_evict->add_option("repo", spec, "ORG/NAME[@REV]")->required();
  AddCommonFlags(cache_evict, &flags);
  bool yes = false;
  auto* cache_purge = cache_cmd->add_subcommand("purge", "empty the cache: every file and listing");
  cache_purge->add_flag("-y,--yes", yes, "really (else it says what it would drop)");
  AddCommonFlags(cache_purge, &flags);

  auto* status_cmd = app.add_subcommand("status", "running mounts: endpoints, traffic, cache hits");
  status_cmd->add_option("mountpoint", mountpoint, "one mount (default: all)");
  status_cmd->add_flag("--json", json, "the stats as JSON");

  CLI11_PARSE(app, argc, argv);

  if (*prefetch_cmd) {
    auto ctx = Context(flags);
    if (!ctx.ok()) return Fail("prefetch", ctx.status());
    return RunPrefetch(**ctx, prefetch, stdout, stderr, isatty(STDOUT_FILENO) == 1);
  }
  if (*ls_cmd) return RunLs(flags, spec, path, recursive);
  if (*resolve_cmd) return RunResolve(flags, spec);
  if (*search_cmd) return RunSearch(flags, query, kind, limit);
  if (*cache_cmd) {
    const std::string name = "cache " + cache_cmd->get_subcommands().front()->get_name();
    auto ctx = Context(flags);
    if (!ctx.ok()) return Fail(name.c_str(), ctx.status());
    CliContext& c = **ctx;
    if (*cache_stats) return RunCacheStats(c, stdout, stderr);
    if (*cache_ls) return RunCacheLs(c, json, stdout, stderr);
    if (*cache_verify) return RunCacheVerify(c, stdout, stderr);
    if (*cache_gc) return RunCacheGc(c, max_size, stdout, stderr);
    if (*cache_evict) return RunCacheEvict(c, spec, stdout, stderr);
    if (*cache_purge) return RunCachePurge(c, yes, stdout, stderr);
  }
  if (*status_cmd) return RunStatus(mountpoint, json, stdout, stderr);
  return 2;
}
