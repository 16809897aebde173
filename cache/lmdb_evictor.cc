#include "cache/lmdb_evictor.h"

#include <algorithm>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cache/lmdb_file_ops.h"
#include "cache/lmdb_format.h"
#include "util/log.h"

namespace hfm {
namespace {

constexpr std::string_view kEvictionEpochKey = "eviction_epoch";
// Each MakeRoom round frees at least a tenth of the quota: ten rounds and
// everything evictable is gone.
constexpr int kMaxRoomRounds = 12;

bool IsMapFull(const Status& s) { return s.code() == Status::Code::kResourceExhausted; }

struct Candidate {
  int64_t last_access;
  std::string file_key;
};

}  // namespace

LmdbEvictor::LmdbEvictor(std::shared_ptr<LmdbEnv> env, std::shared_ptr<PinSet> pins,
                         uint64_t quota, double high_water, double low_water)
    : env_(std::move(env)),
      pins_(std::move(pins)),
      high_bytes_(static_cast<uint64_t>(static_cast<double>(quota) * high_water)),
      hard_bytes_(high_bytes_ + (quota - high_bytes_) / 2),
      low_bytes_(static_cast<uint64_t>(static_cast<double>(quota) * low_water)),
      quota_(quota) {
  auto used = env_->UsedBytes();
  if (used.ok()) used_.store(*used);
}

Status LmdbEvictor::Write(const std::function<Status(MDB_txn*)>& body, const ContentHash* writing,
                          Growth growth) {
  if (growth == Growth::kAddsData && used_.load() > hard_bytes_) {
    // Usage stayed above the high water: everything left is pinned or being
    // written. Filling the map to its last page would leave LMDB unable even
    // to delete (deleting needs free pages), so refuse while room is left.
    AfterCommit(used_.load(), writing);
    if (used_.load() > hard_bytes_) {
      return Status::ResourceExhausted("cache full: the files in it are pinned or being written");
    }
  }
  uint64_t used = 0;
  Status s = env_->Write(body, &used);
  for (int round = 0; IsMapFull(s) && round < kMaxRoomRounds; ++round) {
    // Pages freed by the last commit (a DropFile, another thread's eviction)
    // become usable one commit later: an empty-ish commit may be all it takes.
    // After that, each round evicts at least a tenth of the quota, since a
    // large value needs a contiguous run of free pages, not just free bytes.
    // A reader that was preempted holding an old snapshot keeps every page
    // freed since from reuse, so the bump or an eviction may itself find the
    // map full; that passes once the reader is done, so try the next round.
    LogDebug("cache: map full (" + s.message() + "), making room, round " + std::to_string(round));
    if (round == 0) {
      (void)Bump();
    } else {
      std::this_thread::yield();  // let such a reader run; a rare path
      if (MakeRoom(writing) == Room::kNone) {
        return Status::ResourceExhausted(
            used_.load() < high_bytes_
                ? "cache full: no run of free pages fits the block (fragmented free space)"
                : "cache full: every cached file is pinned or being written");
      }
    }
    s = env_->Write(body, &used);
  }
  if (IsMapFull(s)) return Status::ResourceExhausted("cache full even after eviction: " + s.message());
  if (s.ok()) {
    used_.store(used);
    AfterCommit(used, writing);
  }
  return s;
}

Status LmdbEvictor::Bump() {
  const std::string epoch = std::to_string(++bumps_);
  return env_->Write([&](MDB_txn* txn) {
    MDB_val k = ToVal(kEvictionEpochKey), v = ToVal(epoch);
    return LmdbStatus(mdb_put(txn, env_->internal(), &k, &v, 0), "record eviction");
  });
}

void LmdbEvictor::AfterCommit(uint64_t used_bytes, const ContentHash* writing) {
  if (used_bytes <= high_bytes_) return;
  // Wait for an eviction already running rather than write on past it: with
  // several writers racing into the headroom, the map fills to its last page,
  // and then even deleting fails (LMDB needs free pages to delete).
  MutexLock lock(&mu_);
  auto used = env_->UsedBytes();
  if (!used.ok()) return;
  used_.store(*used);
  if (*used <= high_bytes_) return;  // someone else evicted meanwhile
  bool freed_any = false;
  Status s = EvictTo(low_bytes_, writing, &freed_any);
  if (!s.ok()) LogWarning("cache: eviction failed: " + s.ToString());
}

LmdbEvictor::Room LmdbEvictor::MakeRoom(const ContentHash* writing) {
  MutexLock lock(&mu_);
  auto used = env_->UsedBytes();
  if (!used.ok()) return Room::kNone;
  const uint64_t step = quota_ / 10;
  const uint64_t target = std::min(low_bytes_, *used > step ? *used - step : 0);
  bool freed_any = false;
  Status s = EvictTo(target, writing, &freed_any);
  if (freed_any) return Room::kFreed;
  if (IsMapFull(s)) return Room::kBlocked;
  if (!s.ok()) LogWarning("cache: eviction failed: " + s.ToString());
  return Room::kNone;
}

Status LmdbEvictor::EvictTo(uint64_t target, const ContentHash* writing, bool* freed_any) {
  std::vector<Candidate> candidates;
  uint64_t used = 0;
  {
    auto txn = env_->BeginRead();
    if (!txn.ok()) return txn.status();
    used = env_->UsedBytes(txn->get());
    if (used <= target) return Status::Ok();
    MDB_cursor* cursor = nullptr;
    int rc = mdb_cursor_open(txn->get(), env_->files(), &cursor);
    if (rc != 0) return LmdbStatus(rc, "open cursor");
    MDB_val k, v;
    for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
      auto record = DecodeFileRecord(FromVal(v));
      // A malformed record sorts first: it is the least useful entry.
      candidates.push_back({record ? record->last_access : INT64_MIN, std::string(FromVal(k))});
    }
    mdb_cursor_close(cursor);
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.last_access != b.last_access ? a.last_access < b.last_access : a.file_key < b.file_key;
  });

  const uint64_t used_before = used;
  uint64_t evicted = 0;
  Status status;
  for (const Candidate& c : candidates) {
    if (used <= target) break;
    std::optional<ContentHash> hash = ContentHash::FromKeyBytes(c.file_key);
    if (hash && (pins_->IsPinned(*hash) || (writing != nullptr && *writing == *hash))) continue;
    status = EvictFile(c.file_key, &used);
    if (!status.ok()) break;
    ++evicted;
  }
  used_.store(used);
  if (evicted == 0) return status;
  *freed_any = true;
  // LMDB reuses pages freed by transaction N only from N+2 on (the previous
  // meta page may still point at them). One more small commit lets the very
  // next write, typically the caller's retry, use what was just freed.
  Status bump = Bump();
  if (!bump.ok()) LogWarning("cache: " + bump.ToString());
  LogInfo("cache: evicted " + std::to_string(evicted) + " files, " +
          std::to_string(used_before >> 20) + " MiB -> " + std::to_string(used >> 20) + " MiB in use");
  return status;
}

Status LmdbEvictor::DeleteInSteps(std::string_view file_key, const Writer& write) {
  uint64_t step = kLargeDeleteStepPages;
  for (bool done = false; !done;) {
    bool gone = false;
    Status s = write(
        [&](MDB_txn* txn) -> Status {
          auto r = DeleteFileStep(txn, *env_, file_key, step);
          if (!r.ok()) return r.status();
          gone = *r;
          return Status::Ok();
        },
        step == kSmallDeleteStepPages);
    if (IsMapFull(s) && step != kSmallDeleteStepPages) {
      step = kSmallDeleteStepPages;  // no run of pages for a large free-list record
      continue;
    }
    HFM_RETURN_IF_ERROR(s);
    done = gone;
  }
  return Status::Ok();
}

Status LmdbEvictor::EvictFile(std::string_view file_key, uint64_t* used) {
  // Plain LmdbEnv::Write: making room here would recurse into eviction.
  return DeleteInSteps(file_key, [&](const auto& body, bool) { return env_->Write(body, used); });
}

Status LmdbEvictor::Drop(const ContentHash& file) {
  const FileKey key(file);
  return DeleteInSteps(key.view(), [&](const auto& body, bool small) {
    // A small step that finds the map full may make room like any write.
    return small ? Write(body, &file, Growth::kSmall) : env_->Write(body);
  });
}

}  // namespace hfm
