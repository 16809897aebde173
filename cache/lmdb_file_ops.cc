#include "cache/lmdb_file_ops.h"

#include <cstring>

namespace hfm {
namespace {
constexpr std::string_view kFileEpochKey = "file_epoch";
}  // namespace

Result<uint64_t> NextFileEpoch(MDB_txn* txn, const LmdbEnv& env) {
  MDB_val k = ToVal(kFileEpochKey), v;
  uint64_t last = 0;
  int rc = mdb_get(txn, env.internal(), &k, &v);
  if (rc == 0 && v.mv_size == sizeof(last)) {
    std::memcpy(&last, v.mv_data, sizeof(last));
  } else if (rc != 0 && rc != MDB_NOTFOUND) {
    return LmdbStatus(rc, "read file epoch");
  }
  if (last >= kMaxFileEpoch) return Status::ResourceExhausted("file epochs exhausted");
  const uint64_t next = last + 1;
  MDB_val nv{sizeof(next), const_cast<uint64_t*>(&next)};
  HFM_RETURN_IF_ERROR(LmdbStatus(mdb_put(txn, env.internal(), &k, &nv, 0), "write file epoch"));
  return next;
}

Result<std::optional<FileRecord>> GetFileRecord(MDB_txn* txn, const LmdbEnv& env,
                                                std::string_view file_key) {
  MDB_val k = ToVal(file_key), v;
  int rc = mdb_get(txn, env.files(), &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<FileRecord>();
  if (rc != 0) return LmdbStatus(rc, "read file record");
  std::optional<FileRecord> record = DecodeFileRecord(FromVal(v));
  if (!record) return Status::DataLoss("malformed file record in cache");
  return record;
}

Status PutFileRecord(MDB_txn* txn, const LmdbEnv& env, std::string_view file_key,
                     const FileRecord& record) {
  const std::string bytes = EncodeFileRecord(record);
  MDB_val k = ToVal(file_key), v = ToVal(bytes);
  return LmdbStatus(mdb_put(txn, env.files(), &k, &v, 0), "write file record");
}

Result<bool> DeleteFileStep(MDB_txn* txn, const LmdbEnv& env, std::string_view file_key,
                            uint64_t max_pages) {
  // The complete mark goes first (in the first step), so a file that is partly
  // deleted, by a crash or by a reader looking between steps, is never complete.
  // Every step gives the record a new epoch: blocks stored after it cannot be
  // vouched for by a writer that saw the blocks before it.
  auto record = GetFileRecord(txn, env, file_key);
  if (record.ok() && record->has_value()) {
    FileRecord changed = **record;
    changed.complete = false;
    auto epoch = NextFileEpoch(txn, env);
    if (!epoch.ok()) return epoch.status();
    changed.epoch = *epoch;
    HFM_RETURN_IF_ERROR(PutFileRecord(txn, env, file_key, changed));
  }

  MDB_cursor* cursor = nullptr;
  int rc = mdb_cursor_open(txn, env.blocks(), &cursor);
  if (rc != 0) return LmdbStatus(rc, "open cursor");
  const uint64_t page = env.page_size();
  uint64_t freed_pages = 0;
  bool none_left = false;
  Status status;
  for (;;) {
    // Block keys are file_key + index, so the first key at or after file_key
    // is this file's lowest block, if it has one. Seeking again after each
    // delete keeps the loop independent of where a delete leaves the cursor.
    MDB_val k = ToVal(file_key), v;
    rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND || (rc == 0 && !BlockIndexIfOwned(FromVal(k), file_key))) {
      none_left = true;
      break;
    }
    if (rc != 0) {
      status = LmdbStatus(rc, "seek blocks");
      break;
    }
    if (freed_pages >= max_pages) break;
    freed_pages += (v.mv_size + 16 + page - 1) / page;  // overflow pages, header included
    rc = mdb_cursor_del(cursor, 0);
    if (rc != 0) {
      status = LmdbStatus(rc, "delete block");
      break;
    }
  }
  mdb_cursor_close(cursor);
  if (!status.ok()) return status;
  if (!none_left) return false;
  MDB_val k = ToVal(file_key);
  rc = mdb_del(txn, env.files(), &k, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbStatus(rc, "delete file record");
  return true;
}

}  // namespace hfm
