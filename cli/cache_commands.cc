#include "cli/cache_commands.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "cache/store_maintenance.h"
#include "cli/progress.h"
#include "cli/cache_inventory.h"
#include "util/safe_text.h"
#include "fs/mount/mount_options.h"

namespace hfm::cli {
namespace {

int Fail(std::FILE* err, const char* command, const Status& status) {
  std::fprintf(err, "hfmirror cache %s: %s\n", command, EscapeUnsafeText(status.ToString()).c_str());
  return status.code() == Status::Code::kInvalidArgument ? 2 : 1;
}

std::string Bytes(uint64_t n) { return HumanBytes(static_cast<double>(n)); }

// The cache, which these commands only look into or take from: a directory
// that is not there is an error (a mistyped --cache), not a new empty cache.
Result<Cache*> ExistingCache(CliContext& ctx) {
  struct stat st;
  const std::string& dir = ctx.options().cache_dir;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::NotFound("no cache at " + dir + " (give it with --cache, or $HFMIRROR_CACHE)");
  }
  return ctx.cache();
}

const char* StateOf(const CachedRevision& r) {
  if (r.files > 0 && r.complete_files == r.files) return "complete";
  if (r.cached_bytes > 0) return "partial";
  return "listed";
}

std::string Refs(const CachedRevision& r) {
  std::string refs;
  for (const auto& name : r.revisions) refs += (refs.empty() ? "" : ",") + name;
  return refs.empty() ? "-" : refs;
}

}  // namespace

int RunCacheStats(CliContext& ctx, std::FILE* out, std::FILE* err) {
  auto cache = ExistingCache(ctx);
  if (!cache.ok()) return Fail(err, "stats", cache.status());
  const BlockStoreStats s = (*cache)->blocks->Stats();
  std::fprintf(out, "cache %s\n", EscapeUnsafeText(ctx.options().cache_dir).c_str());
  std::fprintf(out, "  blocks          %llu (%s)\n", static_cast<unsigned long long>(s.blocks),
               Bytes(s.block_bytes).c_str());
  std::fprintf(out, "  complete files  %llu\n", static_cast<unsigned long long>(s.complete_files));
  std::fprintf(out, "  data file       %s of a %s quota\n", Bytes(s.file_bytes).c_str(), Bytes(s.map_size).c_str());
  return 0;
}

int RunCacheLs(CliContext& ctx, bool json, std::FILE* out, std::FILE* err) {
  auto cache = ExistingCache(ctx);
  if (!cache.ok()) return Fail(err, "ls", cache.status());
  auto inv = TakeInventory((*cache)->blocks.get(), (*cache)->meta.get());
  if (!inv.ok()) return Fail(err, "ls", inv.status());
  if (json) {
    nlohmann::json revisions = nlohmann::json::array();
    for (const auto& r : inv->revisions) {
      revisions.push_back({{"repo", RepoDisplayName(r.repo)},
                           {"commit", r.commit},
                           {"revisions", r.revisions},
                           {"files", r.files},
                           {"bytes", r.bytes},
                           {"cached_files", r.cached_files},
                           {"complete_files", r.complete_files},
                           {"cached_bytes", r.cached_bytes},
                           {"state", StateOf(r)}});
    }
    nlohmann::json doc = {{"cache", ctx.options().cache_dir},
                          {"revisions", std::move(revisions)},
                          {"unlisted_files", inv->unlisted_files},
                          {"unlisted_bytes", inv->unlisted_bytes},
                          {"stored_files", inv->stored_files},
                          {"stored_bytes", inv->stored_bytes}};
    // Names that are not UTF-8 come out as U+FFFD rather than an exception.
    std::fprintf(out, "%s\n", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::fprintf(out, "%-40s %-12s %-16s %11s %21s  %s\n", "REPO", "COMMIT", "REFS", "FILES", "CACHED", "STATE");
  for (const auto& r : inv->revisions) {
    const std::string files = std::to_string(r.complete_files) + "/" + std::to_string(r.files);
    const std::string bytes = Bytes(r.cached_bytes) + " / " + Bytes(r.bytes);
    std::fprintf(out, "%-40s %-12s %-16s %11s %21s  %s\n", EscapeUnsafeText(RepoDisplayName(r.repo)).c_str(),
                 EscapeUnsafeText(r.commit.substr(0, 12)).c_str(), EscapeUnsafeText(Refs(r)).c_str(), files.c_str(), bytes.c_str(), StateOf(r));
  }
  if (inv->unlisted_files > 0) {
    std::fprintf(out, "unlisted: %llu files (%s) that no cached listing names\n",
                 static_cast<unsigned long long>(inv->unlisted_files), Bytes(inv->unlisted_bytes).c_str());
  }
  std::fprintf(out, "total: %llu files, %s cached, in %zu revisions\n",
               static_cast<unsigned long long>(inv->stored_files), Bytes(inv->stored_bytes).c_str(),
               inv->revisions.size());
  return 0;
}

int RunCacheVerify(CliContext& ctx, std::FILE* out, std::FILE* err) {
  auto cache = ExistingCache(ctx);
  if (!cache.ok()) return Fail(err, "verify", cache.status());
  auto names = ListedNames((*cache)->meta.get());
  if (!names.ok()) return Fail(err, "verify", names.status());
  auto name_of = [&](const ContentHash& hash) {
    auto it = names->find(hash);
    return it == names->end() ? hash.ToString() : it->second + " (" + hash.ToString() + ")";
  };
  auto outcome = VerifyStore((*cache)->blocks.get(), [&](const StoredFile& f, bool matched) {
    if (!matched) {
      std::fprintf(out, "BAD  %s: does not match its hash; dropped\n", EscapeUnsafeText(name_of(f.hash)).c_str());
    }
  });
  if (!outcome.ok()) return Fail(err, "verify", outcome.status());
  std::fprintf(out, "verified %llu complete files (%s): %zu bad%s",
               static_cast<unsigned long long>(outcome->checked_files), Bytes(outcome->checked_bytes).c_str(),
               outcome->dropped.size(), outcome->dropped.empty() ? "" : ", dropped");
  if (outcome->partial_files > 0) {
    std::fprintf(out, "; %llu partial files not checked (their hash needs bytes not cached)",
                 static_cast<unsigned long long>(outcome->partial_files));
  }
  std::fprintf(out, "\n");
  return outcome->dropped.empty() ? 0 : 1;
}

int RunCacheGc(CliContext& ctx, const std::string& max_size, std::FILE* out, std::FILE* err) {
  auto target = ParseSize(max_size);
  if (!target.ok()) return Fail(err, "gc", Status::InvalidArgument("--max-size: " + target.status().message()));
  auto cache = ExistingCache(ctx);
  if (!cache.ok()) return Fail(err, "gc", cache.status());
  auto outcome = ShrinkStore((*cache)->blocks.get(), *target);
  if (!outcome.ok()) return Fail(err, "gc", outcome.status());
  std::fprintf(out, "dropped %llu files (%s), least recently used first; the cache holds %s\n",
               static_cast<unsigned long long>(outcome->dropped_files), Bytes(outcome->freed_bytes).c_str(),
               Bytes(outcome->remaining_bytes).c_str());
  return 0;
}

int RunCacheEvict(CliContext& ctx, const std::string& spec, std::FILE* out, std::FILE* err) {
  auto parsed = ParseRepoSpec(spec);
  if (!parsed.ok()) return Fail(err, "evict", parsed.status());
  auto cache = ExistingCache(ctx);
  if (!cache.ok()) return Fail(err, "evict", cache.status());
  std::string commit;
  if (!parsed->revision.empty()) {
    auto recorded = RecordedCommit((*cache)->meta.get(), parsed->repo, parsed->revision);
    if (!recorded.ok()) return Fail(err, "evict", recorded.status());
    commit = *recorded;
  }
  auto outcome = EvictRepo((*cache)->blocks.get(), (*cache)->meta.get(), parsed->repo, commit);
  if (!outcome.ok()) return Fail(err, "evict", outcome.status());
  std::fprintf(out, "dropped %llu files (%s) of %s (%llu revision(s))",
               static_cast<unsigned long long>(outcome->dropped_files), Bytes(outcome->freed_bytes).c_str(),
               EscapeUnsafeText(spec).c_str(), static_cast<unsigned long long>(outcome->revisions));
  if (outcome->shared_files > 0) {
    std::fprintf(out, "; kept %llu files another cached repo or revision also has",
                 static_cast<unsigned long long>(outcome->shared_files));
  }
  std::fprintf(out, "\n");
  return 0;
}

int RunCachePurge(CliContext& ctx, bool yes, std::FILE* out, std::FILE* err) {
  auto cache = ExistingCache(ctx);
  if (!cache.ok()) return Fail(err, "purge", cache.status());
  if (!yes) {
    auto inv = TakeInventory((*cache)->blocks.get(), (*cache)->meta.get());
    if (!inv.ok()) return Fail(err, "purge", inv.status());
    std::fprintf(err,
                 "hfmirror cache purge: would drop %llu files (%s) and %zu listings from %s; "
                 "run it with --yes to do so\n",
                 static_cast<unsigned long long>(inv->stored_files), Bytes(inv->stored_bytes).c_str(),
                 inv->revisions.size(), ctx.options().cache_dir.c_str());
    return 1;
  }
  auto outcome = PurgeCache((*cache)->blocks.get(), (*cache)->meta.get());
  if (!outcome.ok()) return Fail(err, "purge", outcome.status());
  std::fprintf(out, "dropped %llu files (%s) and %llu listings; the cache is empty\n",
               static_cast<unsigned long long>(outcome->dropped_files), Bytes(outcome->freed_bytes).c_str(),
               static_cast<unsigned long long>(outcome->revisions));
  return 0;
}

}  // namespace hfm::cli
