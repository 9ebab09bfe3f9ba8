// The per-household data keys, in their own RocksDB (DIR/keys) so that erasing
// a household's personal data is destroying one key, apart from the log.
//
// Thread-safety: all methods are thread-safe. Keys are cached in memory.
#pragma once

#include <rocksdb/db.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "crypto/crypto.h"
#include "relais/status.h"

namespace relais {
struct StorageHooks;
}

namespace relais::crypto {

class KeyStore {
 public:
  static Result<std::unique_ptr<KeyStore>> Open(const std::string& dir, bool read_only,
                                                std::function<void(uint8_t*)> generator,
                                                const StorageHooks* hooks = nullptr);
  ~KeyStore();

  // The key of a household, if it exists (nullopt once erased).
  std::optional<Key> Find(const std::string& household);
  // The key of a household, created (not yet durable) if missing. `created`
  // tells the caller a Flush is due before the events that use it commit.
  Result<Key> GetOrCreate(const std::string& household, bool* created);
  // Writes keys created since the last Flush; synced when `sync`.
  Status Flush(bool sync);
  // Makes every flushed key durable.
  Status Sync();
  size_t CachedKeys() {
    std::lock_guard<std::mutex> lock(mu_);
    return cache_.size();
  }
  // A RocksDB checkpoint of the key store in `dir` (which must not exist).
  Status CreateCheckpoint(const std::string& dir);

 private:
  KeyStore() = default;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::function<void(uint8_t*)> generator_;
  std::mutex mu_;
  std::unordered_map<std::string, Key> cache_;
  std::unordered_map<std::string, Key> unflushed_;
};

}  // namespace relais::crypto
