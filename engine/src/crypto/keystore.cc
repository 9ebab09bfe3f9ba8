#include "crypto/keystore.h"

#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <cstring>
#include <filesystem>

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
  rocksdb::DB* db = nullptr;
  if (read_only && !std::filesystem::exists(dir + "/CURRENT")) return ks;  // no key ever made
  rocksdb::Status s = read_only ? rocksdb::DB::OpenForReadOnly(o, dir, &db)
                                : rocksdb::DB::Open(o, dir, &db);
  if (!s.ok()) return log::FromRocks(s, "opening the key store " + dir);
  ks->db_.reset(db);
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
