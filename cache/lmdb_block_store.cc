#include "cache/lmdb_block_store.h"

#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>

#include "cache/lmdb_file_ops.h"
#include "cache/lmdb_format.h"
#include "util/log.h"
#include "util/mutex.h"

namespace hfm {
namespace {

// Last-access stamps coarser than this would not change eviction order much,
// and finer ones would make every read a write transaction.
constexpr int64_t kTouchInterval = 60;
// Touch remembers recently stamped files to skip even the read transaction.
constexpr size_t kMaxRecentTouches = 4096;

bool StampDue(int64_t last, int64_t now) {
  return now >= last + kTouchInterval || now < last;  // or the clock went back
}

class LmdbBlockStore : public BlockStore {
 public:
  LmdbBlockStore(std::shared_ptr<LmdbEnv> env, std::shared_ptr<LmdbEvictor> evictor,
                 std::shared_ptr<PinSet> pins, uint32_t block_size, uint64_t quota, Clock* clock)
      : env_(std::move(env)),
        evictor_(std::move(evictor)),
        pins_(std::move(pins)),
        block_size_(block_size),
        quota_(quota),
        clock_(clock) {}

  uint32_t block_size() const override { return block_size_; }

  Result<bool> ReadBlock(const ContentHash& file, uint32_t index, size_t offset,
                         std::span<char> out) override {
    auto txn = env_->BeginRead();
    if (!txn.ok()) return txn.status();
    MDB_val v;
    auto found = Find(txn->get(), file, index, &v);
    if (!found.ok() || !*found) return found;
    if (offset > v.mv_size || out.size() > v.mv_size - offset) {
      return Status::DataLoss("block " + std::to_string(index) + " of " + file.ToString() +
                              " holds " + std::to_string(v.mv_size) + " bytes, read wants [" +
                              std::to_string(offset) + ", " + std::to_string(offset + out.size()) +
                              ")");
    }
    env_->CopyOut(static_cast<const char*>(v.mv_data) + offset, out);
    return true;
  }

  Result<std::optional<std::string>> GetBlock(const ContentHash& file, uint32_t index) override {
    auto txn = env_->BeginRead();
    if (!txn.ok()) return txn.status();
    MDB_val v;
    auto found = Find(txn->get(), file, index, &v);
    if (!found.ok()) return found.status();
    if (!*found) return std::optional<std::string>();
    return std::optional<std::string>(env_->CopyOut(v));
  }

  Result<bool> HasBlock(const ContentHash& file, uint32_t index) override {
    auto txn = env_->BeginRead();
    if (!txn.ok()) return txn.status();
    MDB_val v;
    return Find(txn->get(), file, index, &v);
  }

  Result<uint64_t> CachedBytes(const ContentHash& file) override {
    auto txn = env_->BeginRead();
    if (!txn.ok()) return txn.status();
    const FileKey key(file);
    MDB_cursor* cursor = nullptr;
    int rc = mdb_cursor_open(txn->get(), env_->blocks(), &cursor);
    if (rc != 0) return LmdbStatus(rc, "open cursor");
    // Sizes come from the leaf nodes: the blocks' pages are not read.
    uint64_t bytes = 0;
    MDB_val k = ToVal(key.view()), v;
    for (rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
      if (!BlockIndexIfOwned(FromVal(k), key.view())) break;
      bytes += v.mv_size;
    }
    mdb_cursor_close(cursor);
    if (rc != 0 && rc != MDB_NOTFOUND) return LmdbStatus(rc, "scan blocks");
    return bytes;
  }

  Status PutBlock(const ContentHash& file, uint32_t index, std::string_view data,
                  uint64_t* epoch) override {
    if (data.empty() || data.size() > block_size_) {
      return Status::InvalidArgument("block of " + std::to_string(data.size()) +
                                     " bytes; want 1.." + std::to_string(block_size_));
    }
    const BlockKey key(file, index);
    const int64_t now = clock_->WallSeconds();
    uint64_t stored_epoch = 0;
    Status s = evictor_->Write(
        [&](MDB_txn* txn) -> Status {
          MDB_val k = ToVal(key.view()), v = ToVal(data);
          // Never replace a stored block: a writer that hashed the stored
          // bytes must find them unchanged when it marks the file complete.
          const int rc = mdb_put(txn, env_->blocks(), &k, &v, MDB_NOOVERWRITE);
          if (rc == MDB_KEYEXIST && !SameBytes(v, data)) return BlockConflict(file, index);
          if (rc != MDB_KEYEXIST) HFM_RETURN_IF_ERROR(LmdbStatus(rc, "write block"));
          // Every file with blocks has a record, so eviction can find it.
          auto e = StampForPutInTxn(txn, key.file_prefix(), now);
          if (!e.ok()) return e.status();
          stored_epoch = *e;
          return Status::Ok();
        },
        &file, LmdbEvictor::Growth::kAddsData);
    if (s.ok() && epoch != nullptr) *epoch = stored_epoch;
    return s;
  }

  Result<uint64_t> FileEpoch(const ContentHash& file) override {
    auto record = ReadRecord(file);
    if (!record.ok()) return record.status();
    return record->has_value() ? (*record)->epoch : 0;
  }

  Status MarkComplete(const ContentHash& file, uint64_t size, uint64_t epoch) override {
    const uint64_t blocks = BlockCount(size, block_size_);
    if (blocks > uint64_t{UINT32_MAX} + 1) {
      return Status::InvalidArgument("file of " + std::to_string(size) + " bytes has too many blocks");
    }
    const FileKey key(file);
    const int64_t now = clock_->WallSeconds();
    return evictor_->Write(
        [&](MDB_txn* txn) -> Status {
          HFM_RETURN_IF_ERROR(CheckEpoch(txn, file, key.view(), size, epoch));
          HFM_RETURN_IF_ERROR(CheckBlocks(txn, file, key.view(), size, blocks));
          // A malformed record is replaced; the blocks were just checked.
          return UpdateRecordInTxn(txn, key.view(), [&](FileRecord* r) {
            r->size = size;
            r->complete = true;
            r->failed_verification = false;
            r->last_access = now;
          });
        },
        &file, LmdbEvictor::Growth::kSmall);
  }

  Result<bool> IsComplete(const ContentHash& file) override {
    auto record = ReadRecord(file);
    if (!record.ok()) return record.status();
    return record->has_value() && (*record)->complete;
  }

  // `size` is not needed: the blocks of a file form one key range. Deleted in
  // steps (see DeleteFileStep): the first clears the complete mark, so from
  // then on no reader trusts the file; a large file in one transaction could
  // need a run of free pages for its free-list record that a full map lacks.
  Status DropFile(const ContentHash& file, uint64_t size) override { return evictor_->Drop(file); }

  Status MarkFailedVerification(const ContentHash& file) override {
    const FileKey key(file);
    const int64_t now = clock_->WallSeconds();
    return evictor_->Write(
        [&](MDB_txn* txn) -> Status {
          auto fresh = NextFileEpoch(txn, *env_);
          if (!fresh.ok()) return fresh.status();
          return UpdateRecordInTxn(txn, key.view(), [&](FileRecord* r) {
            r->complete = false;
            r->failed_verification = true;
            r->last_access = now;
            if (r->epoch == 0) r->epoch = *fresh;
          });
        },
        &file, LmdbEvictor::Growth::kSmall);
  }

  Result<bool> FailedVerification(const ContentHash& file) override {
    auto record = ReadRecord(file);
    if (!record.ok()) return record.status();
    return record->has_value() && (*record)->failed_verification;
  }

  BlockStoreStats Stats() override {
    BlockStoreStats stats;
    stats.file_bytes = env_->DataFileBytes();
    stats.map_size = quota_;
    auto txn = env_->BeginRead();
    if (!txn.ok()) return stats;
    MDB_stat st;
    if (mdb_stat(txn->get(), env_->blocks(), &st) == 0) stats.blocks = st.ms_entries;
    // Sizes come from the leaf nodes; the block pages themselves are not
    // touched, so this reads ~1 page per hundred blocks.
    ForEach(txn->get(), env_->blocks(), [&](const MDB_val&, const MDB_val& v) {
      stats.block_bytes += v.mv_size;
    });
    ForEach(txn->get(), env_->files(), [&](const MDB_val&, const MDB_val& v) {
      auto r = DecodeFileRecord(FromVal(v));
      if (r && r->complete) ++stats.complete_files;
    });
    return stats;
  }

  Result<std::vector<StoredFile>> ListFiles() override {
    auto txn = env_->BeginRead();
    if (!txn.ok()) return txn.status();
    // Both databases are keyed by the file's key bytes (blocks with the index
    // after them), so one ordered pass over each meets every file in order.
    std::map<std::string, StoredFile, std::less<>> files;
    Status bad;
    auto entry = [&](std::string_view file_key) -> StoredFile* {
      auto it = files.find(file_key);
      if (it != files.end()) return &it->second;
      auto hash = ContentHash::FromKeyBytes(file_key);
      if (!hash) return nullptr;
      StoredFile f;
      f.hash = *hash;
      return &files.emplace(std::string(file_key), f).first->second;
    };
    ForEach(txn->get(), env_->blocks(), [&](const MDB_val& k, const MDB_val& v) {
      std::string_view key = FromVal(k);
      if (key.size() < 5) return;
      if (StoredFile* f = entry(key.substr(0, key.size() - 4))) {
        f->blocks++;
        f->cached_bytes += v.mv_size;
      }
    });
    ForEach(txn->get(), env_->files(), [&](const MDB_val& k, const MDB_val& v) {
      auto r = DecodeFileRecord(FromVal(v));
      StoredFile* f = entry(FromVal(k));
      if (!r || !f) return;
      f->complete = r->complete;
      f->failed_verification = r->failed_verification;
      if (r->complete) f->size = r->size;
      f->last_access = r->last_access;
    });
    std::vector<StoredFile> out;
    out.reserve(files.size());
    for (auto& [key, f] : files) out.push_back(std::move(f));
    return out;
  }

  void Pin(const ContentHash& file) override { pins_->Pin(file); }
  void Unpin(const ContentHash& file) override { pins_->Unpin(file); }

  void WillRead(const ContentHash& file, uint32_t index) override {
    auto txn = env_->BeginRead();
    if (!txn.ok()) return;
    MDB_val v;
    auto found = Find(txn->get(), file, index, &v);
    if (found.ok() && *found) env_->AdviseWillNeed(v);
  }

  void Touch(const ContentHash& file) override {
    const int64_t now = clock_->WallSeconds();
    if (!TouchDue(file, now)) return;
    const FileKey key(file);
    {
      // Most touches find a fresh stamp (PutBlock's): check without the
      // writer lock, which another process or an eviction may hold.
      auto txn = env_->BeginRead();
      if (!txn.ok()) return;
      auto record = GetFileRecord(txn->get(), *env_, key.view());
      if (!record.ok() || !record->has_value() || !StampDue((*record)->last_access, now)) return;
    }
    Status s = evictor_->Write(
        [&](MDB_txn* txn) { return StampInTxn(txn, key.view(), now); }, &file,
        LmdbEvictor::Growth::kSmall);
    if (!s.ok()) LogDebug("cache: touch " + file.ToString() + ": " + s.ToString());
  }

 private:
  Result<bool> Find(MDB_txn* txn, const ContentHash& file, uint32_t index, MDB_val* v) {
    const BlockKey key(file, index);
    MDB_val k = ToVal(key.view());
    int rc = mdb_get(txn, env_->blocks(), &k, v);
    if (rc == MDB_NOTFOUND) return false;
    if (rc != 0) return LmdbStatus(rc, "read block");
    return true;
  }

  Result<std::optional<FileRecord>> ReadRecord(const ContentHash& file) {
    auto txn = env_->BeginRead();
    if (!txn.ok()) return txn.status();
    return GetFileRecord(txn->get(), *env_, FileKey(file).view());
  }

  // Reads the record of `file_key` (a new one if missing or malformed),
  // lets `change` edit it, and writes it back.
  template <typename Change>
  Status UpdateRecordInTxn(MDB_txn* txn, std::string_view file_key, Change change) {
    auto record = GetFileRecord(txn, *env_, file_key);
    if (!record.ok() && !record.status().IsDataLoss()) return record.status();
    FileRecord r = record.ok() ? record->value_or(FileRecord{}) : FileRecord{};
    change(&r);
    return PutFileRecord(txn, *env_, file_key, r);
  }

  // Stamps `now` on the record of `file_key` if due; no record, no stamp.
  Status StampInTxn(MDB_txn* txn, std::string_view file_key, int64_t now) {
    auto record = GetFileRecord(txn, *env_, file_key);
    // A malformed record is replaced: it only loses a stale stamp.
    if (!record.ok() && !record.status().IsDataLoss()) return record.status();
    if (!record.ok() || !record->has_value() || !StampDue((*record)->last_access, now)) {
      return Status::Ok();
    }
    FileRecord r = **record;
    r.last_access = now;
    return PutFileRecord(txn, *env_, file_key, r);
  }

  // For a block just stored: the file's record (created with a fresh epoch
  // if missing, malformed or a legacy one without an epoch), stamped if due.
  // Returns its epoch.
  Result<uint64_t> StampForPutInTxn(MDB_txn* txn, std::string_view file_key, int64_t now) {
    auto record = GetFileRecord(txn, *env_, file_key);
    if (!record.ok() && !record.status().IsDataLoss()) return record.status();
    FileRecord r = record.ok() ? record->value_or(FileRecord{}) : FileRecord{};
    const bool needs_epoch = r.epoch == 0;
    if (!needs_epoch && !StampDue(r.last_access, now)) return r.epoch;
    if (needs_epoch) {
      auto fresh = NextFileEpoch(txn, *env_);
      if (!fresh.ok()) return fresh.status();
      r.epoch = *fresh;
    }
    r.last_access = now;
    HFM_RETURN_IF_ERROR(PutFileRecord(txn, *env_, file_key, r));
    return r.epoch;
  }

  // The record's epoch is still the one the caller hashed the blocks under.
  Status CheckEpoch(MDB_txn* txn, const ContentHash& file, std::string_view file_key, uint64_t size,
                    uint64_t epoch) {
    auto record = GetFileRecord(txn, *env_, file_key);
    if (!record.ok()) return record.status();
    const uint64_t current = record->has_value() ? (*record)->epoch : 0;
    if (size != 0 && (epoch == 0 || current != epoch)) {
      return Status::DataLoss("cannot mark " + file.ToString() + " of " + std::to_string(size) +
                              " bytes complete: its blocks changed since they were hashed (epoch " +
                              std::to_string(current) + ", hashed under " + std::to_string(epoch) + ")");
    }
    return Status::Ok();
  }

  static bool SameBytes(const MDB_val& stored, std::string_view data) {
    return stored.mv_size == data.size() && std::memcmp(stored.mv_data, data.data(), data.size()) == 0;
  }

  static Status BlockConflict(const ContentHash& file, uint32_t index) {
    return Status::DataLoss("block " + std::to_string(index) + " of " + file.ToString() +
                            " is stored already with other bytes; kept the stored block");
  }

  // Blocks 0..blocks-1 of the file present with the right lengths, no more.
  Status CheckBlocks(MDB_txn* txn, const ContentHash& file, std::string_view file_key,
                     uint64_t size, uint64_t blocks) {
    MDB_cursor* cursor = nullptr;
    int rc = mdb_cursor_open(txn, env_->blocks(), &cursor);
    if (rc != 0) return LmdbStatus(rc, "open cursor");
    Status s;
    MDB_val k = ToVal(file_key), v;
    rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
    for (uint64_t i = 0;; ++i) {
      std::optional<uint32_t> index;
      if (rc == 0) {
        index = BlockIndexIfOwned(FromVal(k), file_key);
      } else if (rc != MDB_NOTFOUND) {
        s = LmdbStatus(rc, "scan blocks");
        break;
      }
      if (i == blocks) {
        if (index) {
          s = Status::DataLoss(file.ToString() + " of " + std::to_string(size) +
                               " bytes has a block " + std::to_string(*index) + " past its end");
        }
        break;
      }
      if (!index || *index != i) {
        s = Status::DataLoss("cannot mark " + file.ToString() + " complete: block " +
                             std::to_string(i) + " is missing");
        break;
      }
      const uint64_t want = BlockLength(size, block_size_, i);
      if (v.mv_size != want) {
        s = Status::DataLoss("cannot mark " + file.ToString() + " complete: block " +
                             std::to_string(i) + " holds " + std::to_string(v.mv_size) +
                             " bytes, want " + std::to_string(want));
        break;
      }
      rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    return s;
  }

  template <typename F>
  static void ForEach(MDB_txn* txn, MDB_dbi dbi, F&& f) {
    MDB_cursor* cursor = nullptr;
    if (mdb_cursor_open(txn, dbi, &cursor) != 0) return;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
      f(k, v);
    }
    mdb_cursor_close(cursor);
  }

  // True if `file` was not touched by this process in the last interval.
  bool TouchDue(const ContentHash& file, int64_t now) {
    MutexLock lock(&touch_mu_);
    auto [it, inserted] = recent_touches_.try_emplace(file, now);
    if (!inserted) {
      if (!StampDue(it->second, now)) return false;
      it->second = now;
    }
    if (recent_touches_.size() > kMaxRecentTouches) {
      std::erase_if(recent_touches_, [now](const auto& e) { return StampDue(e.second, now); });
    }
    return true;
  }

  const std::shared_ptr<LmdbEnv> env_;
  const std::shared_ptr<LmdbEvictor> evictor_;
  const std::shared_ptr<PinSet> pins_;
  const uint32_t block_size_;
  const uint64_t quota_;
  Clock* const clock_;

  Mutex touch_mu_;
  std::unordered_map<ContentHash, int64_t, ContentHashHasher> recent_touches_ GUARDED_BY(touch_mu_);
};

}  // namespace

std::unique_ptr<BlockStore> NewLmdbBlockStore(std::shared_ptr<LmdbEnv> env,
                                              std::shared_ptr<LmdbEvictor> evictor,
                                              std::shared_ptr<PinSet> pins, uint32_t block_size,
                                              uint64_t quota, Clock* clock) {
  return std::make_unique<LmdbBlockStore>(std::move(env), std::move(evictor), std::move(pins),
                                          block_size, quota, clock);
}

}  // namespace hfm
