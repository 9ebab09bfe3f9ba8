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
  rocksdb::Options o;
  o.create_if_missing = !read_only;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  o.keep_log_file_num = 2;
  ks->env_ = log::MakeEnv(hooks);
  o.env = ks->env_.get();
  rocksdb::DB* db = nullptr;
  if (read_only && !std::filesystem::exists(dir + "/CURRENT")) return ks;  // no key ever made
  rocksdb::Status s = read_only ? rocksdb::DB::OpenForReadOnly(o, dir, &db)
                                : rocksdb::DB::Open(o, dir, &db);
  if (!s.ok()) return log::FromRocks(s, "opening the key store " + dir);
  ks->db_.reset(db);
  return ks;
}

KeyStore::~KeyStore() {
  if (db_) db_->Close();
}

std::optional<Key> KeyStore::Find(const std::string& household) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = cache_.find(household); it != cache_.end()) return it->second;
  if (!db_) return std::nullopt;
  std::string v;
  if (!db_->Get(rocksdb::ReadOptions(), household, &v).ok() || v.size() != 32) return std::nullopt;
  Key k;
  std::memcpy(k.data(), v.data(), 32);
  cache_[household] = k;
  return k;
}

Result<Key> KeyStore::GetOrCreate(const std::string& household, bool* created) {
  *created = false;
  if (auto k = Find(household)) return *k;
  std::lock_guard<std::mutex> lock(mu_);
  if (!db_) return Status::FailedPrecondition("the key store is read-only");
  Key k;
  if (generator_) {
    generator_(k.data());
  } else {
    k = RandomKey();
  }
  cache_[household] = k;
  unflushed_[household] = k;
  *created = true;
  return k;
}

Status KeyStore::Flush(bool sync) {
  std::lock_guard<std::mutex> lock(mu_);
  if (unflushed_.empty()) return Status::Ok();
  rocksdb::WriteBatch b;
  for (const auto& [h, k] : unflushed_)
    b.Put(h, rocksdb::Slice(reinterpret_cast<const char*>(k.data()), k.size()));
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  RETURN_IF_ERROR(log::FromRocks(db_->Write(wo, &b), "writing the key store"));
  unflushed_.clear();
  return Status::Ok();
}

Status KeyStore::Sync() {
  RETURN_IF_ERROR(Flush(false));
  if (!db_) return Status::Ok();
  return log::FromRocks(db_->FlushWAL(true), "syncing the key store");
}

}  // namespace relais::crypto

namespace relais::crypto {

Status KeyStore::CreateCheckpoint(const std::string& dir) {
  RETURN_IF_ERROR(Sync());
  if (!db_) return Status::FailedPrecondition("the key store is not open for writing");
  rocksdb::Checkpoint* raw = nullptr;
  RETURN_IF_ERROR(log::FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw),
                                 "checkpointing the key store"));
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  return log::FromRocks(cp->CreateCheckpoint(dir, 0), "checkpointing the key store into " + dir);
}

}  // namespace relais::crypto
