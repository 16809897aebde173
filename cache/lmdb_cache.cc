// OpenLmdbCache: wires one LmdbEnv, its evictor and pin set into the
// BlockStore and MetaStore of a cache directory, after checking that the
// directory was written with this format and block size.
#include "cache/lmdb_cache.h"

#include <memory>
#include <string>

#include "cache/lmdb_block_store.h"
#include "cache/lmdb_env.h"
#include "cache/lmdb_evictor.h"
#include "cache/lmdb_format.h"
#include "cache/lmdb_meta_store.h"
#include "cache/pin_set.h"

namespace hfm {
namespace {

constexpr uint64_t kMinQuota = 1ull << 20;
constexpr uint32_t kMaxBlockSize = 256u << 20;

// Records the format and block size on first open; refuses a directory made
// with others, since its blocks would be misread. (A block size change needs a
// fresh directory.)
Status CheckOrRecord(LmdbEnv& env, std::string_view name, uint64_t want) {
  return env.Write([&](MDB_txn* txn) -> Status {
    MDB_val k = ToVal(name), v;
    const std::string wanted = std::to_string(want);
    int rc = mdb_get(txn, env.internal(), &k, &v);
    if (rc == MDB_NOTFOUND) {
      v = ToVal(wanted);
      return LmdbStatus(mdb_put(txn, env.internal(), &k, &v, 0), "record cache format");
    }
    if (rc != 0) return LmdbStatus(rc, "read cache format");
    if (FromVal(v) != wanted) {
      return Status::InvalidArgument("cache directory " + env.directory() + " was created with " +
                                     std::string(name) + " " + std::string(FromVal(v)) +
                                     ", not " + wanted + "; use another directory or delete it");
    }
    return Status::Ok();
  });
}

}  // namespace

Result<Cache> OpenLmdbCache(const CacheOptions& options, const LmdbCacheTuning& tuning) {
  if (options.block_size == 0 || options.block_size > kMaxBlockSize) {
    return Status::InvalidArgument("cache block size " + std::to_string(options.block_size) +
                                   " outside 1.." + std::to_string(kMaxBlockSize));
  }
  if (options.max_bytes < kMinQuota || options.max_bytes / 4 < options.block_size) {
    return Status::InvalidArgument("cache max_bytes " + std::to_string(options.max_bytes) +
                                   " is below 1 MiB or 4 blocks");
  }
  if (!(tuning.low_water > 0 && tuning.low_water < tuning.high_water && tuning.high_water <= 1)) {
    return Status::InvalidArgument("cache water marks must satisfy 0 < low < high <= 1");
  }
  auto env = LmdbEnv::Open(
      {options.directory, options.max_bytes, tuning.sync_interval, tuning.clock, tuning.write_lock_timeout});
  if (!env.ok()) return env.status();
  HFM_RETURN_IF_ERROR(CheckOrRecord(**env, "format", kCacheFormatVersion));
  HFM_RETURN_IF_ERROR(CheckOrRecord(**env, "block_size", options.block_size));

  auto pins = std::make_shared<PinSet>();
  auto evictor = std::make_shared<LmdbEvictor>(*env, pins, options.max_bytes, tuning.high_water,
                                               tuning.low_water);
  Cache cache;
  cache.blocks = NewLmdbBlockStore(*env, evictor, pins, options.block_size, options.max_bytes,
                                   tuning.clock);
  cache.meta = NewLmdbMetaStore(*env, evictor);
  return cache;
}

Result<Cache> OpenLmdbCache(const CacheOptions& options) {
  return OpenLmdbCache(options, LmdbCacheTuning{});
}

}  // namespace hfm
