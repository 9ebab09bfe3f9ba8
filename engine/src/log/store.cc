#include "log/store.h"

#include <rocksdb/statistics.h>

#include "relais/engine.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>

#include <algorithm>
#include <filesystem>

#include "log/file_system.h"
#include "log/log_format.h"

namespace relais::log {

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  std::string msg = what + ": " + s.ToString();
  // RocksDB reports a held LOCK file as an IO error mentioning the lock.
  if (s.IsIOError() && (msg.find("lock") != std::string::npos || msg.find("LOCK") != std::string::npos))
    return Status::Busy(what + ": the data directory is in use by another relais process (" +
                        s.ToString() + ")");
  if (s.IsCorruption()) return Status::Corruption(msg);
  // A full disk is not a failed disk: nothing was written, and appends work
  // again once space is freed (Store::Resume).
  if (s.IsNoSpace()) return Status::ResourceExhausted("the disk is full: " + msg);
  if (s.IsNotFound()) return Status::NotFound(msg);
  return Status::IoError(msg);
}

namespace {

// The stream index's keys are subject '\0' || version (BE64): this gives
// the subject part, the stream a key belongs to.
class StreamOfKey : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "relais.StreamOfKey"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), key.size() - 8);
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() >= 8; }
};

rocksdb::ColumnFamilyOptions FamilyOptions(Store::Family f, const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  // The log is read by point (a history reads a stream's events one by one,
  // spread over the log): a block missing from the cache is decompressed
  // whole for one event, so its blocks are small; the dictionary below keeps
  // small blocks compressing as well as large ones.
  t.block_size = f == Store::kLog ? 4 * 1024 : 16 * 1024;
  if (f == Store::kId || f == Store::kStream || f == Store::kRef) {
    // Random point lookups (idempotency checks of new ids are misses): a bloom
    // filter answers most of them without reading a block.
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  }
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  if (f == Store::kId || f == Store::kStream) {
    // New ids miss: a whole-key bloom filter in the memtable answers them too.
    o.memtable_prefix_bloom_size_ratio = 0.05;
    o.memtable_whole_key_filtering = true;
  }
  if (f == Store::kStream) {
    // Each stream's versions arrive in order, one stream's next version
    // long after its previous: the memtable keeps, per stream, where its
    // last key went, and inserts the next one there instead of searching
    // the skip list from its top (a memory-only hint: nothing on disk
    // changes). Measured in docs/performance.md ("CPU per event, by stage").
    o.memtable_insert_with_hint_prefix_extractor = std::make_shared<StreamOfKey>();
  }
  o.compression = rocksdb::kLZ4Compression;
  o.bottommost_compression = rocksdb::kZSTD;
  if (f == Store::kLog) {
    // The events, ~85% of the bytes: small values that repeat the same field
    // names, enum words and subject shapes, so ZSTD with a dictionary trained
    // on each file's blocks wins most (docs/performance.md, "Read path and bytes on disk").
    // On every level, not only the bottommost: a log this size stays in L0/L1
    // for a long time, written once by a flush and rarely compacted again.
    o.compression = rocksdb::kZSTD;
    o.compression_opts.max_dict_bytes = 16 * 1024;
    o.compression_opts.zstd_max_train_bytes = 100 * 16 * 1024;
    o.bottommost_compression_opts = o.compression_opts;
    o.bottommost_compression_opts.enabled = true;
  }
  if (f == Store::kTree) {
    // Hashes do not compress: spend no CPU trying.
    o.compression = rocksdb::kNoCompression;
    o.bottommost_compression = rocksdb::kNoCompression;
  }
  o.write_buffer_size = f == Store::kLog ? 64 << 20 : 32 << 20;
  return o;
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, bool read_only,
                                           bool create_if_missing, const StorageHooks* hooks,
                                           size_t block_cache_bytes) {
  std::error_code ec;
  if (!read_only && create_if_missing) std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir + ": " + ec.message());
  std::unique_ptr<Store> store(new Store());
  store->env_ = MakeEnv(hooks);
  if (read_only && !std::filesystem::exists(dir + "/CURRENT"))
    return Status::NotFound("no relais data in " + dir);

  rocksdb::DBOptions dbo;
  dbo.create_if_missing = create_if_missing;
  dbo.create_missing_column_families = true;
  dbo.max_background_jobs = 2;
  dbo.bytes_per_sync = 1 << 20;
  dbo.keep_log_file_num = 4;
  dbo.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  dbo.env = store->env_.get();
  dbo.listeners.push_back(ManualRecovery());
  // Tickers for the metrics (WAL syncs, stalls, bytes flushed and compacted).
  store->statistics_ = rocksdb::CreateDBStatistics();
  store->statistics_->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
  dbo.statistics = store->statistics_;
  // Damage is found on open where it is cheap (table file sizes against the
  // MANIFEST, every WAL record's checksum) and refused, not skipped.
  dbo.paranoid_checks = true;
  dbo.skip_checking_sst_file_sizes_on_db_open = false;
  // A torn last record (a write the crash interrupted, never acknowledged as
  // durable) is dropped; a damaged record before it is refused. RocksDB's
  // default (point in time) would stop at the damage and silently drop every
  // acknowledged event after it.
  dbo.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;

  // One cache for every family, sized by the caller: a history reads each
  // event from a different block of the log (a stream's events are spread
  // over it), and RocksDB's own default (8 MiB per family) made nearly every
  // one a decompression from the page cache (docs/performance.md, "W4").
  // Only the reads a server repeats fill it (log::CacheUse): replay, verify,
  // cold reports and snapshots read past it.
  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(std::max<size_t>(block_cache_bytes, 1 << 20));
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, FamilyOptions(kMeta, cache)},
      {kLogFamily, FamilyOptions(kLog, cache)},
      {kStreamFamily, FamilyOptions(kStream, cache)},
      {kIdFamily, FamilyOptions(kId, cache)},
      {kRefFamily, FamilyOptions(kRef, cache)},
      {kRecordsFamily, FamilyOptions(kRecords, cache)},
      {kTreeFamily, FamilyOptions(kTree, cache)},
  };
  // A read-only open cannot create a family: a directory written before the
  // records (or tree) family existed is opened without it (Has() is false).
  std::vector<bool> absent(cfs.size(), false);
  if (read_only) {
    std::vector<std::string> names;
    if (rocksdb::DB::ListColumnFamilies(dbo, dir, &names).ok()) {
      std::vector<rocksdb::ColumnFamilyDescriptor> present;
      for (size_t i = 0; i < cfs.size(); ++i) {
        absent[i] = i >= kRecords && std::find(names.begin(), names.end(), cfs[i].name) == names.end();
        if (!absent[i]) present.push_back(cfs[i]);
      }
      cfs = std::move(present);
    }
  }
  std::shared_ptr<NamingLogger> logger;
  {
    std::shared_ptr<rocksdb::Logger> file_logger;
    if (!read_only && rocksdb::CreateLoggerFromOptions(dir, dbo, &file_logger).ok()) {
      logger = std::make_shared<NamingLogger>(std::move(file_logger));
      dbo.info_log = logger;
    }
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = read_only
                          ? rocksdb::DB::OpenForReadOnly(dbo, dir, cfs, &store->handles_, &db)
                          : rocksdb::DB::Open(dbo, dir, cfs, &store->handles_, &db);
  if (!s.ok()) {
    std::string named = logger ? logger->Recent() : "";
    return FromRocks(s, "opening " + dir + (named.empty() ? "" : " (" + named + ")"));
  }
  store->db_.reset(db);
  // Handles by family number, null for an absent family.
  std::vector<rocksdb::ColumnFamilyHandle*> opened = std::move(store->handles_);
  store->handles_.assign(absent.size(), nullptr);
  for (size_t i = 0, j = 0; i < absent.size(); ++i)
    if (!absent[i]) store->handles_[i] = opened[j++];

  std::string format;
  bool found = false;
  RETURN_IF_ERROR(store->Get(kMeta, kFormatKey, &format, &found));
  if (!found) {
    if (read_only) return Status::Corruption(dir + " is not a relais log (no format marker)");
    rocksdb::WriteBatch b;
    b.Put(store->handles_[kMeta], kFormatKey, kFormatValue);
    RETURN_IF_ERROR(store->Write(&b, true));
  } else if (format == kFormatValueV1 && !read_only) {
    // The family was created by this open (create_missing_column_families).
    rocksdb::WriteBatch b;
    b.Put(store->handles_[kMeta], kFormatKey, kFormatValue);
    RETURN_IF_ERROR(store->Write(&b, true));
  } else if (format != kFormatValue && format != kFormatValueV1) {
    return Status::Corruption(dir + " has format '" + format + "', this relais reads '" +
                              kFormatValue + "' and '" + kFormatValueV1 + "'");
  }
  return store;
}

Store::~Store() {
  if (db_) {
    for (auto* h : handles_)
      if (h) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
}

Status Store::Write(rocksdb::WriteBatch* batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return FromRocks(db_->Write(wo, batch), "writing the log");
}

Status Store::SyncWal() {
  return FromRocks(db_->FlushWAL(true), "syncing the log");
}

Status Store::FlushMemtables() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  return FromRocks(db_->Flush(fo, handles_), "flushing the log");
}

Status Store::Get(Family f, std::string_view key, std::string* value, bool* found,
                  const Snapshot* at, bool fill_cache) {
  *found = false;
  if (!handles_[f]) return Status::Ok();  // an absent family is empty
  rocksdb::ReadOptions ro;
  ro.fill_cache = fill_cache;
  if (at) ro.snapshot = at->get();
  rocksdb::Status s = db_->Get(ro, handles_[f], rocksdb::Slice(key.data(), key.size()), value);
  *found = s.ok();
  if (s.IsNotFound()) return Status::Ok();
  return FromRocks(s, "reading the log");
}

Status Store::MultiGet(Family f, const std::vector<std::string>& keys,
                       std::vector<std::string>* values, std::vector<bool>* found,
                       const Snapshot* at, bool fill_cache) {
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(keys.size(), handles_[f]);
  rocksdb::ReadOptions ro;
  ro.fill_cache = fill_cache;
  if (at) ro.snapshot = at->get();
  std::vector<rocksdb::Status> st = db_->MultiGet(ro, cfs, slices, values);
  found->assign(keys.size(), false);
  for (size_t i = 0; i < st.size(); ++i) {
    if (st[i].ok()) {
      (*found)[i] = true;
    } else if (!st[i].IsNotFound()) {
      return FromRocks(st[i], "reading the log");
    }
  }
  return Status::Ok();
}

Status Store::Scan(Family f, std::string_view prefix, std::string_view start,
                   const std::function<bool(std::string_view, std::string_view)>& fn,
                   const Snapshot* at, bool fill_cache) {
  if (!handles_[f]) return Status::Ok();  // an absent family is empty
  rocksdb::ReadOptions ro;
  ro.fill_cache = fill_cache;
  if (at) ro.snapshot = at->get();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[f]));
  std::string_view from = start.empty() ? prefix : start;
  for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid(); it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (!prefix.empty() && k.substr(0, prefix.size()) != prefix) break;
    if (!fn(k, std::string_view(it->value().data(), it->value().size()))) break;
  }
  return FromRocks(it->status(), "scanning the log");
}

Status Store::CreateCheckpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpointing the log"));
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  // log_size_for_flush = 0: flush the memtables first, so the copy holds
  // every committed write in its SST files, not only in a copied WAL.
  return FromRocks(cp->CreateCheckpoint(dir, 0), "checkpointing the log into " + dir);
}

Status Store::VerifyChecksums() {
  return FromRocks(db_->VerifyChecksum(), "checking the log's table files");
}

Status Store::Resume() {
  RETURN_IF_ERROR(FromRocks(db_->Resume(), "resuming the log after a failed write"));
  return FlushMemtables();
}

Status Store::Last(Family f, std::string* key, std::string* value, bool* found,
                   const Snapshot* at) {
  rocksdb::ReadOptions ro;
  if (at) ro.snapshot = at->get();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handles_[f]));
  it->SeekToLast();
  *found = it->Valid();
  if (*found) {
    *key = it->key().ToString();
    *value = it->value().ToString();
  }
  return FromRocks(it->status(), "reading the log");
}

void Store::Stats(StorageStats* out) {
  auto ticker = [&](rocksdb::Tickers t) {
    return statistics_ ? static_cast<int64_t>(statistics_->getTickerCount(t)) : 0;
  };
  out->wal_syncs = ticker(rocksdb::WAL_FILE_SYNCED);
  out->wal_bytes = ticker(rocksdb::WAL_FILE_BYTES);
  out->write_stall_micros = ticker(rocksdb::STALL_MICROS);
  out->flushed_bytes = ticker(rocksdb::FLUSH_WRITE_BYTES);
  out->compacted_bytes = ticker(rocksdb::COMPACT_WRITE_BYTES);
  auto sum = [&](const std::string& property) {
    uint64_t v = 0;
    return db_->GetAggregatedIntProperty(property, &v) ? static_cast<int64_t>(v) : 0;
  };
  out->compaction_pending = sum(rocksdb::DB::Properties::kCompactionPending);
  out->pending_compaction_bytes = sum(rocksdb::DB::Properties::kEstimatePendingCompactionBytes);
  out->sst_bytes = sum(rocksdb::DB::Properties::kTotalSstFilesSize);
  out->live_sst_bytes = sum(rocksdb::DB::Properties::kLiveSstFilesSize);
  out->memtable_bytes = sum(rocksdb::DB::Properties::kCurSizeAllMemTables);
  {
    uint64_t used = 0;  // one cache for every family: read it once
    if (db_->GetIntProperty(rocksdb::DB::Properties::kBlockCacheUsage, &used))
      out->block_cache_bytes = static_cast<int64_t>(used);
  }
  uint64_t v = 0;
  // DB-wide properties (not per family).
  out->running_compactions =
      db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions, &v) ? static_cast<int64_t>(v) : 0;
  out->write_stopped =
      db_->GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &v) ? static_cast<int64_t>(v) : 0;
}

}  // namespace relais::log
