// The RocksDB adapter of the log: the only file that speaks rocksdb::Status.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "relais/status.h"

namespace relais {
struct StorageHooks;
struct StorageStats;
}

namespace relais::log {

Status FromRocks(const rocksdb::Status& s, const std::string& what);

// Whether a read keeps the blocks it reads in the block cache: yes for what
// a server reads again and again (a view's stream, a judgement's), no for
// the bulk readers (cold reports, verify, snapshots), which would fill it
// with blocks read once (docs/performance.md, "Writer and read path").
enum class CacheUse { kBypass, kFill };

class Store {
 public:
  enum Family { kMeta = 0, kLog = 1, kStream = 2, kId = 3, kRef = 4, kRecords = 5, kTree = 6 };

  // Opens (creating if asked) DIR/log. A directory held by another process
  // is Status::Busy with a message that says so.
  // `block_cache_bytes`: the uncompressed blocks kept in memory, shared by
  // every family (Options::block_cache_bytes).
  static constexpr size_t kDefaultBlockCacheBytes = size_t{256} << 20;  // Options::block_cache_bytes
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, bool read_only,
                                             bool create_if_missing,
                                             const StorageHooks* hooks = nullptr,
                                             size_t block_cache_bytes = kDefaultBlockCacheBytes);
  ~Store();

  // A consistent point-in-time view for reads that must agree with each
  // other (verify: the log and its indexes). Released at destruction.
  class Snapshot {
   public:
    Snapshot(rocksdb::DB* db) : db_(db), snap_(db->GetSnapshot()) {}
    ~Snapshot() { db_->ReleaseSnapshot(snap_); }
    Snapshot(const Snapshot&) = delete;
    Snapshot& operator=(const Snapshot&) = delete;
    const rocksdb::Snapshot* get() const { return snap_; }

   private:
    rocksdb::DB* db_;
    const rocksdb::Snapshot* snap_;
  };
  std::unique_ptr<Snapshot> TakeSnapshot() { return std::make_unique<Snapshot>(db_.get()); }

  Status Write(rocksdb::WriteBatch* batch, bool sync);
  Status SyncWal();
  // Flushes every memtable to SST files, so that the next open (read-only
  // ones included) has no write-ahead log to replay.
  Status FlushMemtables();
  Status Get(Family f, std::string_view key, std::string* value, bool* found,
             const Snapshot* at = nullptr, bool fill_cache = true);
  // Multi-get of log values by key; missing keys leave found[i] false.
  Status MultiGet(Family f, const std::vector<std::string>& keys, std::vector<std::string>* values,
                  std::vector<bool>* found, const Snapshot* at = nullptr, bool fill_cache = true);
  // Whether the family exists: a read-only open of a directory written
  // before the family was added has no "records" or "tree" family.
  bool Has(Family f) const { return handles_[f] != nullptr; }
  // Visits keys with `prefix` (all keys if empty) from `start` (or the prefix).
  // `fill_cache`: keep the blocks read in the block cache. No for the long
  // scans (replay, verify, exports: they would evict what the point reads
  // keep), yes for a short one read again and again (a stream's index).
  Status Scan(Family f, std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view key, std::string_view value)>& fn,
              const Snapshot* at = nullptr, bool fill_cache = false);
  // A RocksDB checkpoint of the whole store in `dir` (which must not exist).
  Status CreateCheckpoint(const std::string& dir);
  // The last key/value of a family; found=false if empty.
  Status Last(Family f, std::string* key, std::string* value, bool* found,
              const Snapshot* at = nullptr);
  // Reads every block of every table file and checks its checksum.
  Status VerifyChecksums();
  // After a write failed for lack of space: asks RocksDB to leave its error
  // state (it re-checks the disk), then flushes the memtables so that the
  // next writes start a fresh write-ahead log after the failed record.
  Status Resume();

  rocksdb::ColumnFamilyHandle* handle(Family f) { return handles_[f]; }

  // RocksDB's statistics (tickers only: no timers, no histograms, the
  // cheapest level) and properties, summed over the families.
  void Stats(StorageStats* out);

 private:
  Store() = default;
  std::unique_ptr<rocksdb::Env> env_;  // outlives db_ (declared first)
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::shared_ptr<rocksdb::Statistics> statistics_;
};

}  // namespace relais::log
