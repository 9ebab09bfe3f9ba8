#include "crypto/keystore.h"

#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "log/file_system.h"
#include "log/store.h"

namespace relais::crypto {

Result<std::unique_ptr<KeyStore>> KeyStore::Open(const std::string& dir, bool read_only,
                                                 std::function<void(uint8_t*)> generator,
                                                 const StorageHooks* hooks) {
  InitOnce();
  std::unique_ptr<KeyStore> ks(new KeyStore());
  ks->generator_ = std::move(generator);
  ks->env_ = log::MakeEnv(hooks);
  rocksdb::Options o;
  o.create_if_missing = !read_only;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  o.keep_log_file_num = 2;
  o.env = ks->env_.get();
  o.listeners.push_back(log::ManualRecovery());
  o.paranoid_checks = true;
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;  // as the log's
  // Erasure destroys a key by rewriting the files that hold it (Destroy):
  // no file may keep a key's bytes once obsolete. A recycled write-ahead log
  // keeps its old records until overwritten, an archived one (WAL_ttl_seconds,
  // WAL_size_limit_MB) keeps them in archive/; both off, as RocksDB's
  // defaults are, stated here so that no tuning turns them on.
  o.recycle_log_file_num = 0;
  o.WAL_ttl_seconds = 0;
  o.WAL_size_limit_MB = 0;
  // Keys are random bytes (nothing to gain), and uncompressed they are where
  // a search for them looks: Destroy's check reads the files for the bytes.
  o.compression = rocksdb::kNoCompression;
  o.bottommost_compression = rocksdb::kNoCompression;
  rocksdb::DB* db = nullptr;
  if (read_only && !std::filesystem::exists(dir + "/CURRENT")) return ks;  // no key ever made
  rocksdb::Status s = read_only ? rocksdb::DB::OpenForReadOnly(o, dir, &db)
                                : rocksdb::DB::Open(o, dir, &db);
  if (!s.ok()) return log::FromRocks(s, "opening the key store " + dir);
  ks->db_.reset(db);
  ks->dir_ = dir;
  ks->writable_ = !read_only;
  return ks;
}

KeyStore::~KeyStore() {
  if (!db_) return;
  // A clean close leaves the keys in table files (checksummed blocks that
  // verify reads) rather than only in the write-ahead log.
  if (writable_) (void)db_->Flush(rocksdb::FlushOptions());
  db_->Close();
}

Result<std::optional<Key>> KeyStore::FindLocked(const std::string& household) {
  if (auto it = cache_.find(household); it != cache_.end()) return std::optional<Key>(it->second);
  if (!db_) return std::optional<Key>();
  std::string v;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), household, &v);
  if (s.IsNotFound()) return std::optional<Key>();
  if (!s.ok()) return log::FromRocks(s, "reading the key of " + household);
  if (v.size() != 32)
    return Status::Corruption("the key store holds a " + std::to_string(v.size()) +
                              "-byte key for " + household);
  Key k;
  std::memcpy(k.data(), v.data(), 32);
  cache_.emplace(household, k);
  return std::optional<Key>(k);
}

Result<std::optional<Key>> KeyStore::Find(const std::string& household) {
  std::lock_guard<std::mutex> lock(mu_);
  return FindLocked(household);
}

Key KeyStore::NewKey() {
  Key k;
  if (generator_) {
    generator_(k.data());
  } else {
    k = RandomKey();
  }
  return k;
}

Result<Key> KeyStore::Adopt(const std::string& household, const Key& candidate) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!db_) return Status::FailedPrecondition("the key store is read-only");
  ASSIGN_OR_RETURN(std::optional<Key> existing, FindLocked(household));
  if (existing) return *existing;
  cache_.emplace(household, candidate);
  pending_.emplace(household, candidate);
  return candidate;
}

Status KeyStore::WritePending() {
  std::unordered_map<std::string, Key> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.empty()) return Status::Ok();
    pending = pending_;
  }
  rocksdb::WriteBatch b;
  for (const auto& [h, k] : pending) {
    // Defence in depth: a stored key is never replaced, whatever a caller
    // believes (the events sealed under it could never be opened again).
    std::string stored;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), h, &stored);
    if (s.ok()) {
      if (stored.size() == 32 && std::memcmp(stored.data(), k.data(), 32) == 0) continue;
      return Status::Internal("refusing to replace the stored key of " + h);
    }
    if (!s.IsNotFound()) return log::FromRocks(s, "reading the key of " + h);
    b.Put(h, rocksdb::Slice(reinterpret_cast<const char*>(k.data()), k.size()));
  }
  rocksdb::WriteOptions wo;
  // Always synced: the events sealed with these keys may be written (and
  // persisted by RocksDB at any later moment) right after this returns.
  wo.sync = true;
  RETURN_IF_ERROR(log::FromRocks(db_->Write(wo, &b), "writing the key store"));
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [h, k] : pending) pending_.erase(h);
  return Status::Ok();
}

namespace {

// Whether the file at `path` holds `needle` (read whole: the key store's files
// are small, a few bytes per household).
Result<bool> FileHolds(const std::filesystem::path& path, std::string_view needle) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    if (errno == ENOENT) return false;  // purged meanwhile
    return Status::IoError("cannot read " + path.string() + ": " + std::strerror(errno));
  }
  std::string content;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) content.append(buf, n);
  bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) return Status::IoError("cannot read " + path.string());
  return content.find(needle) != std::string::npos;
}

}  // namespace

Status KeyStore::Destroy(const std::vector<std::string>& households) {
  if (!db_ || !writable_) return Status::FailedPrecondition("the key store is not open for writing");
  std::lock_guard<std::mutex> serial(destroy_mu_);
  std::vector<Key> destroyed;
  {
    // Under mu_: a reader between the delete and the cache's erase would put
    // the key back in the cache from the store.
    std::lock_guard<std::mutex> lock(mu_);
    rocksdb::WriteBatch b;
    for (const std::string& h : households) {
      ASSIGN_OR_RETURN(std::optional<Key> k, FindLocked(h));
      if (!k) continue;
      destroyed.push_back(*k);
      b.Delete(h);
    }
    if (destroyed.empty()) return Status::Ok();
    rocksdb::WriteOptions wo;
    wo.sync = true;
    RETURN_IF_ERROR(log::FromRocks(db_->Write(wo, &b), "deleting keys from the key store"));
    for (const std::string& h : households) {
      cache_.erase(h);
      pending_.erase(h);
    }
  }
  // The delete hides the key; these remove its bytes. The flush moves the
  // memtable (which may hold the key's Put) to a table file and starts a new
  // write-ahead log, the old one (which may hold the Put) becoming obsolete;
  // the forced bottommost compaction rewrites every table file without the
  // deleted entries (no snapshot is ever taken of the key store, so nothing
  // keeps them alive).
  rocksdb::FlushOptions fo;
  fo.wait = true;
  RETURN_IF_ERROR(log::FromRocks(db_->Flush(fo), "flushing the key store"));
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  co.change_level = false;
  RETURN_IF_ERROR(log::FromRocks(db_->CompactRange(co, nullptr, nullptr), "compacting the key store"));
  // Obsolete files are purged by RocksDB's background work, which may still
  // be running when the calls above return. Enabling deletions purges what is
  // obsolete on this thread; then every file is read back, so that the
  // promise is checked, not assumed.
  RETURN_IF_ERROR(log::FromRocks(db_->DisableFileDeletions(), "holding the key store's file deletions"));
  RETURN_IF_ERROR(log::FromRocks(db_->EnableFileDeletions(/*force=*/false), "purging the key store's obsolete files"));
  constexpr int kChecksMax = 200;  // 10 ms apart: 2 s for a background purge to finish
  for (int attempt = 0;; ++attempt) {
    std::string holder;
    std::error_code ec;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_, ec)) {
      if (!entry.is_regular_file()) continue;
      for (const Key& k : destroyed) {
        ASSIGN_OR_RETURN(bool holds, FileHolds(entry.path(),
                                               {reinterpret_cast<const char*>(k.data()), k.size()}));
        if (holds) holder = entry.path().string();
      }
      if (!holder.empty()) break;
    }
    if (ec) return Status::IoError("cannot list " + dir_ + ": " + ec.message());
    if (holder.empty()) return Status::Ok();
    if (attempt + 1 == kChecksMax)
      return Status::Internal("a destroyed key is still in " + holder + " after its compaction");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Status KeyStore::Resume() {
  if (!db_) return Status::Ok();
  RETURN_IF_ERROR(log::FromRocks(db_->Resume(), "resuming the key store after a failed write"));
  // As the log's (Store::Resume): new writes start a fresh write-ahead log,
  // after whatever the failed write left in the old one.
  rocksdb::FlushOptions fo;
  fo.wait = true;
  return log::FromRocks(db_->Flush(fo), "flushing the key store after a failed write");
}

Status KeyStore::VerifyChecksums() {
  if (!db_) return Status::Ok();
  return log::FromRocks(db_->VerifyChecksum(), "checking the key store's table files");
}

size_t KeyStore::CachedKeys() {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.size();
}

Status KeyStore::CreateCheckpoint(const std::string& dir) {
  if (!db_) return Status::FailedPrecondition("the key store is not open for writing");
  rocksdb::Checkpoint* raw = nullptr;
  RETURN_IF_ERROR(log::FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw),
                                 "checkpointing the key store"));
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  return log::FromRocks(cp->CreateCheckpoint(dir, 0), "checkpointing the key store into " + dir);
}

}  // namespace relais::crypto
