// The per-household data keys, in their own RocksDB (DIR/keys) so that erasing
// a household's personal data is destroying one key, apart from the log.
//
// Invariants (docs/architecture.md, failure model):
//   - a household's key, once stored, is never replaced: the writer is the only
//     creator (Adopt), and WritePending refuses to overwrite a stored key;
//   - a key is durable no later than the first event sealed with it: the
//     writer calls WritePending (a synced write) before the log write of every
//     group, so even an unsynced bulk group's keys are on disk before any of
//     its events can be;
//   - a read error is an error, never "no key".
//
// Thread-safety: all methods are thread-safe; Adopt and WritePending are
// called by the engine's writer only (one owner of key creation).
#pragma once

#include <rocksdb/db.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

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

  // The key of a household; nullopt when it has none (never created, or
  // erased). Only keys that exist are cached: asking about unknown households
  // costs no memory.
  Result<std::optional<Key>> Find(const std::string& household);
  // A fresh key, not stored: the candidate a caller seals a new household's
  // first event with, off the writer thread. The writer adopts it, or finds
  // that another request's candidate was adopted first and re-seals.
  Key NewKey();
  // Writer only: the household's key, `candidate` becoming it if the
  // household has none. Pending (in memory) until WritePending.
  Result<Key> Adopt(const std::string& household, const Key& candidate);
  // Writer only: durably writes the keys adopted since the last call (a no-op
  // when there are none). Refuses to replace a key already stored.
  Status WritePending();
  // Writer's side of an erasure (lifecycle.md §1): destroys the keys of
  // `households`, durably and physically. When it returns OK, no file under
  // the key store's directory (table files, write-ahead logs, MANIFEST, info
  // logs) holds any of their bytes: deleted, flushed, every table file
  // rewritten at the bottommost level, obsolete files purged, then every
  // file read back to check it. Households without a key are skipped.
  // Idempotent: an open completes one a crash interrupted by calling it again.
  Status Destroy(const std::vector<std::string>& households);
  // After a write failed for lack of space: leaves RocksDB's error state.
  Status Resume();
  // A RocksDB checkpoint of the key store in `dir` (which must not exist).
  Status CreateCheckpoint(const std::string& dir);

  // Reads every block of the key store's table files and checks it.
  Status VerifyChecksums();
  // Households with a key in memory (bounded by the households of the log).
  size_t CachedKeys();

 private:
  KeyStore() = default;
  Result<std::optional<Key>> FindLocked(const std::string& household);

  std::unique_ptr<rocksdb::Env> env_;  // outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::string dir_;
  bool writable_ = false;
  std::mutex destroy_mu_;  // one destruction at a time (each rewrites every table file)
  std::function<void(uint8_t*)> generator_;
  std::mutex mu_;
  std::unordered_map<std::string, Key> cache_;    // every key read or adopted
  std::unordered_map<std::string, Key> pending_;  // adopted, not yet written
};

}  // namespace relais::crypto
