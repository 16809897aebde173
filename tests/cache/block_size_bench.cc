// block_size_bench: how the LMDB block cache behaves at block sizes 64 KiB,
// 256 KiB, 1 MiB and 4 MiB. Not a test (no _test.cc suffix, not globbed).
//
// For each block size, in a fresh cache directory with a quota of 1.5x the
// file size:
//   fresh:  write one file (default 1 GiB) block by block, read it back
//           sequentially, then 64 KiB reads at 200 random offsets;
//   cycled: write other files (64 MiB each) as large again, which evicts the
//           first, then a new file of the first's size, and measure it the
//           same way: eviction's cost, and the free list after a cycle.
// After each phase: data.mdb size, bytes stored, free pages, and the share of
// free pages that lie in runs long enough for a full block (LMDB stores a
// block in one contiguous run of overflow pages; shorter runs are lost space).
// Reads hit the page cache (the data was just written), so they measure the
// cache's own overhead, not the disk.
//
// Build from the repository root, after building hfm_cache in build-cache:
//   c++ -std=c++20 -O2 -I. tests/cache/block_size_bench.cc build-cache/libhfm_cache.a
//       build-cache/libhfm_util.a -llmdb -lcrypto -lpthread -o build-cache/block_size_bench
// (one line). Run: build-cache/block_size_bench [parent dir, default /tmp] [file MiB, default 1024]
#include <lmdb.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "cache/block_store.h"
#include "cache/lmdb_cache.h"
#include "util/clock.h"
#include "util/log.h"

namespace hfm {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

ContentHash Hash(uint32_t n) {
  uint8_t d[32] = {};
  std::memcpy(d, &n, sizeof(n));
  d[31] = 0xbe;
  return ContentHash(ContentHash::Kind::kSha256, d);
}

struct Phase {
  bool ok = false;
  std::string error;
  double write_mbs = 0, seq_mbs = 0, rand_p50_us = 0;
  uint64_t file_bytes = 0, stored_bytes = 0;
};

struct FreeList {
  uint64_t free_pages = 0, usable_pages = 0, map_pages = 0;
};

// Writes `bytes` of file `n`; each block's first 8 bytes carry its index.
Status WriteFile(BlockStore& store, uint32_t n, uint64_t bytes, std::string& block) {
  const uint32_t bs = store.block_size();
  for (uint64_t i = 0; i * bs < bytes; ++i) {
    const uint64_t len = std::min<uint64_t>(bs, bytes - i * bs);
    std::memcpy(block.data(), &i, sizeof(i));
    Status s = store.PutBlock(Hash(n), static_cast<uint32_t>(i), std::string_view(block.data(), len));
    if (!s.ok()) return s.WithContext("block " + std::to_string(i));
  }
  auto epoch = store.FileEpoch(Hash(n));
  if (!epoch.ok()) return epoch.status();
  return store.MarkComplete(Hash(n), bytes, *epoch);
}

// Reads [off, off+len) of file `n` through ReadBlock, block by block.
bool ReadRange(BlockStore& store, uint32_t n, uint64_t off, uint64_t len, char* out) {
  const uint32_t bs = store.block_size();
  while (len > 0) {
    const uint64_t index = off / bs, in = off % bs;
    const uint64_t chunk = std::min<uint64_t>(len, bs - in);
    auto r = store.ReadBlock(Hash(n), static_cast<uint32_t>(index), in, std::span<char>(out, chunk));
    if (!r.ok() || !*r) return false;
    off += chunk;
    len -= chunk;
    out += chunk;
  }
  return true;
}

void WriteAndMeasure(BlockStore& store, uint32_t n, uint64_t bytes, std::string& block, Phase* p) {
  const uint32_t bs = store.block_size();
  const double mib = static_cast<double>(bytes) / (1 << 20);
  double t = Now();
  Status s = WriteFile(store, n, bytes, block);
  if (!s.ok()) {
    p->error = s.ToString();
    return;
  }
  p->write_mbs = mib / (Now() - t);

  std::string buf(bs, '\0');
  t = Now();
  for (uint64_t i = 0; i * bs < bytes; ++i) {
    const uint64_t len = std::min<uint64_t>(bs, bytes - i * bs);
    auto r = store.ReadBlock(Hash(n), static_cast<uint32_t>(i), 0, std::span<char>(buf.data(), len));
    uint64_t stamp;
    std::memcpy(&stamp, buf.data(), sizeof(stamp));
    if (!r.ok() || !*r || stamp != i) {
      p->error = "sequential read of block " + std::to_string(i) + " failed";
      return;
    }
  }
  p->seq_mbs = mib / (Now() - t);

  constexpr uint64_t kRead = 64 << 10;
  std::mt19937_64 rng(42);
  std::vector<double> us;
  std::string out(kRead, '\0');
  for (int i = 0; i < 200; ++i) {
    const uint64_t off = rng() % (bytes - kRead);
    t = Now();
    if (!ReadRange(store, n, off, kRead, out.data())) {
      p->error = "random read failed";
      return;
    }
    us.push_back((Now() - t) * 1e6);
  }
  std::nth_element(us.begin(), us.begin() + us.size() / 2, us.end());
  p->rand_p50_us = us[us.size() / 2];
  p->ok = true;
}

void Sizes(BlockStore& store, Phase* p) {
  const BlockStoreStats s = store.Stats();
  p->file_bytes = s.file_bytes;
  p->stored_bytes = s.block_bytes;
}

// Reads the free list of the closed cache in `dir` with LMDB directly.
FreeList ScanFreeList(const std::string& dir, uint32_t block_size) {
  FreeList f;
  MDB_env* env = nullptr;
  if (mdb_env_create(&env) != 0) return f;
  mdb_env_set_maxdbs(env, 8);
  MDB_txn* txn = nullptr;
  MDB_cursor* cursor = nullptr;
  if (mdb_env_open(env, dir.c_str(), MDB_RDONLY, 0600) == 0 &&
      mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) == 0 && mdb_cursor_open(txn, 0, &cursor) == 0) {
    MDB_envinfo info;
    MDB_stat st;
    mdb_env_info(env, &info);
    mdb_env_stat(env, &st);
    f.map_pages = info.me_mapsize / st.ms_psize;
    std::vector<size_t> pages;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
      const auto* ids = static_cast<const size_t*>(v.mv_data);
      pages.insert(pages.end(), ids + 1, ids + 1 + ids[0]);
    }
    std::sort(pages.begin(), pages.end());
    const uint64_t need = (block_size + 16 + st.ms_psize - 1) / st.ms_psize;  // one block's run
    for (size_t i = 0, j; i < pages.size(); i = j) {
      for (j = i + 1; j < pages.size() && pages[j] == pages[j - 1] + 1;) ++j;
      if (j - i >= need) f.usable_pages += j - i;
    }
    f.free_pages = pages.size();
  }
  if (cursor) mdb_cursor_close(cursor);
  if (txn) mdb_txn_abort(txn);
  mdb_env_close(env);
  return f;
}

void PrintRow(uint32_t bs, const char* phase, const Phase& p, const FreeList& f) {
  const double mib = 1 << 20;
  std::printf("%6uK %-6s | ", bs >> 10, phase);
  if (p.ok) {
    std::printf("%7.0f %8.0f %9.1f | ", p.write_mbs, p.seq_mbs, p.rand_p50_us);
  } else {
    std::printf("%7s %8s %9s | ", "-", "-", "-");
  }
  std::printf("%8.0f %8.0f %8.1f%% %8.1f%%", p.file_bytes / mib, p.stored_bytes / mib,
              f.map_pages ? 100.0 * f.free_pages / f.map_pages : 0.0,
              f.free_pages ? 100.0 * f.usable_pages / f.free_pages : 0.0);
  if (!p.ok) std::printf("  FAILED: %s", p.error.c_str());
  std::printf("\n");
}

void RunOne(const std::string& parent, uint32_t bs, uint64_t file_bytes) {
  std::string tmpl = parent + "/hfm-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return;
  }
  const std::string dir = tmpl, cache_dir = dir + "/cache";
  FakeClock clock;  // exact LRU order: each file a minute newer than the last
  Phase fresh, cycled;
  FreeList fresh_free;
  double close_s = 0;
  for (int pass = 0; pass < 2; ++pass) {
    CacheOptions o;
    o.directory = cache_dir;
    o.block_size = bs;
    o.max_bytes = file_bytes + file_bytes / 2;
    LmdbCacheTuning tuning;
    tuning.clock = &clock;
    auto cache = OpenLmdbCache(o, tuning);
    if (!cache.ok()) {
      std::fprintf(stderr, "open: %s\n", cache.status().ToString().c_str());
      return;
    }
    BlockStore& store = *cache->blocks;
    std::string block(bs, '\0');
    std::mt19937_64 rng(bs);
    for (auto& c : block) c = static_cast<char>(rng());
    if (pass == 0) {
      WriteAndMeasure(store, 1, file_bytes, block, &fresh);
      Sizes(store, &fresh);
    } else {
      // Fill with other files as large again (evicting the first), then refill.
      constexpr uint64_t kFill = 64ull << 20;
      Status s;
      for (uint32_t n = 100; s.ok() && (n - 100) * kFill < file_bytes; ++n) {
        clock.Advance(std::chrono::minutes(1));
        s = WriteFile(store, n, kFill, block);
      }
      clock.Advance(std::chrono::minutes(1));
      if (s.ok()) {
        WriteAndMeasure(store, 2, file_bytes, block, &cycled);
      } else {
        cycled.error = "fill: " + s.ToString();
      }
      Sizes(store, &cycled);
    }
    const double t = Now();
    cache = Status::Internal("closed");  // closes: the final fdatasync
    if (pass == 1) close_s = Now() - t;
    // Between the passes the cache is closed and reopened, as after a remount.
    if (pass == 0) fresh_free = ScanFreeList(cache_dir, bs);
  }
  PrintRow(bs, "fresh", fresh, fresh_free);
  PrintRow(bs, "cycled", cycled, ScanFreeList(cache_dir, bs));
  std::printf("%6uK close (final sync) %.2f s\n", bs >> 10, close_s);
  std::fflush(stdout);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace hfm

int main(int argc, char** argv) {
  using namespace hfm;
  SetLogLevel(LogLevel::kError);  // eviction lines would drown the table
  const std::string parent = argc > 1 ? argv[1] : "/tmp";
  const uint64_t file_mib = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1024;
  std::printf("file %llu MiB, quota 1.5x, cache under %s; reads hit the page cache\n",
              static_cast<unsigned long long>(file_mib), parent.c_str());
  std::printf("free: free pages / map; usable: free pages in runs that fit a full block\n\n");
  std::printf("%-14s | %7s %8s %9s | %8s %8s %9s %9s\n", "block  phase", "wr MB/s", "seq MB/s",
              "rand64K", "file MiB", "data MiB", "free", "usable");
  std::printf("%-14s | %7s %8s %9s |\n", "", "", "", "p50 us");
  for (uint32_t bs : {64u << 10, 256u << 10, 1u << 20, 4u << 20}) RunOne(parent, bs, file_mib << 20);
  return 0;
}
