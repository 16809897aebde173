// Operations on one cached file's entries inside an LMDB transaction: its
// "files" record and the run of its blocks. Shared by the block store and the
// evictor so both delete a file the same way. Internal to cache/.
//
// Thread safety: each call uses the caller's transaction, which belongs to the
// calling thread for its duration.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "cache/lmdb_env.h"
#include "cache/lmdb_format.h"
#include "util/status.h"

namespace hfm {

// The record of `file_key`, or nullopt if there is none. A record of another
// format is reported as DataLoss.
Result<std::optional<FileRecord>> GetFileRecord(MDB_txn* txn, const LmdbEnv& env,
                                                std::string_view file_key);
Status PutFileRecord(MDB_txn* txn, const LmdbEnv& env, std::string_view file_key,
                     const FileRecord& record);

// A fresh file epoch (see FileRecord::epoch) from the directory's counter
// in the "internal" database, never handed out before in this directory.
Result<uint64_t> NextFileEpoch(MDB_txn* txn, const LmdbEnv& env);

// One step of deleting a file: clears its complete mark, gives its record a
// fresh epoch (so a writer that stored or read blocks before cannot mark it
// complete from blocks deleted and stored again since), deletes its blocks
// in index order until about `max_pages` pages are freed (at least one
// block), and deletes its record once no block is left. Returns true once the
// file is gone. Callers commit each step and repeat.
//
// Why steps, and their size: every page a transaction frees goes into one
// free-list record, which LMDB stores in one contiguous run of pages (up to
// ~500 page numbers fit in one page). A big step needs such a run, and a
// fragmented, full map may not have it: the delete itself fails with
// MDB_MAP_FULL. Many small steps make many records, and LMDB 0.9 gives up
// looking for a run of N free pages after reading N*20 records, reporting
// MDB_MAP_FULL with most of the map free. So: large steps, and small ones
// only when a large one does not fit.
Result<bool> DeleteFileStep(MDB_txn* txn, const LmdbEnv& env, std::string_view file_key,
                            uint64_t max_pages);

inline constexpr uint64_t kLargeDeleteStepPages = 16384;  // a 128 KiB record
inline constexpr uint64_t kSmallDeleteStepPages = 480;    // a one-page record

}  // namespace hfm
