#include "cache/lmdb_meta_store.h"

#include <string>
#include <utility>

namespace hfm {
namespace {

class LmdbMetaStore : public MetaStore {
 public:
  LmdbMetaStore(std::shared_ptr<LmdbEnv> env, std::shared_ptr<LmdbEvictor> evictor)
      : env_(std::move(env)), evictor_(std::move(evictor)), max_key_(env_->max_key_size()) {}

  Status Put(std::string_view key, std::string_view value) override {
    HFM_RETURN_IF_ERROR(CheckKey(key));
    return evictor_->Write(
        [&](MDB_txn* txn) {
          MDB_val k = ToVal(key), v = ToVal(value);
          return LmdbStatus(mdb_put(txn, env_->meta(), &k, &v, 0), "write meta");
        },
        nullptr, LmdbEvictor::Growth::kAddsData);
  }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    HFM_RETURN_IF_ERROR(CheckKey(key));
    auto txn = env_->BeginRead();
    if (!txn.ok()) return txn.status();
    MDB_val k = ToVal(key), v;
    int rc = mdb_get(txn->get(), env_->meta(), &k, &v);
    if (rc == MDB_NOTFOUND) return std::optional<std::string>();
    if (rc != 0) return LmdbStatus(rc, "read meta");
    return std::optional<std::string>(std::string(FromVal(v)));
  }

  Result<std::vector<std::string>> KeysWithPrefix(std::string_view prefix) override {
    auto txn = env_->BeginRead();
    if (!txn.ok()) return txn.status();
    MDB_cursor* cursor = nullptr;
    int rc = mdb_cursor_open(txn->get(), env_->meta(), &cursor);
    if (rc != 0) return LmdbStatus(rc, "open cursor");
    std::vector<std::string> keys;
    MDB_val k = ToVal(prefix), v;
    // LMDB refuses an empty key even to seek with.
    rc = mdb_cursor_get(cursor, &k, &v, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
    for (; rc == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
      std::string_view key = FromVal(k);
      if (key.substr(0, prefix.size()) != prefix) break;
      keys.emplace_back(key);
    }
    mdb_cursor_close(cursor);
    if (rc != 0 && rc != MDB_NOTFOUND) return LmdbStatus(rc, "scan meta");
    return keys;
  }

  Status Delete(std::string_view key) override {
    HFM_RETURN_IF_ERROR(CheckKey(key));
    return evictor_->Write(
        [&](MDB_txn* txn) {
          MDB_val k = ToVal(key);
          int rc = mdb_del(txn, env_->meta(), &k, nullptr);
          return rc == MDB_NOTFOUND ? Status::Ok() : LmdbStatus(rc, "delete meta");
        },
        nullptr, LmdbEvictor::Growth::kSmall);
  }

 private:
  Status CheckKey(std::string_view key) const {
    // LMDB's key limit (511 bytes), checked here for a clear error.
    if (key.empty() || key.size() > max_key_) {
      return Status::InvalidArgument("meta key of " + std::to_string(key.size()) +
                                     " bytes; want 1.." + std::to_string(max_key_));
    }
    return Status::Ok();
  }

  const std::shared_ptr<LmdbEnv> env_;
  const std::shared_ptr<LmdbEvictor> evictor_;
  const size_t max_key_;
};

}  // namespace

std::unique_ptr<MetaStore> NewLmdbMetaStore(std::shared_ptr<LmdbEnv> env,
                                            std::shared_ptr<LmdbEvictor> evictor) {
  return std::make_unique<LmdbMetaStore>(std::move(env), std::move(evictor));
}

}  // namespace hfm
