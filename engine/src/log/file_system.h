// The file systems under RocksDB: owner-only modes, and the hook through which
// tests put a fault-injecting file system under both the log and the key store.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <memory>

namespace relais {

// Declared (opaque) in relais/engine.h: Options::storage.
struct StorageHooks {
  // The file system under DIR/log and DIR/keys; default: the OS's.
  std::shared_ptr<rocksdb::FileSystem> fs;
};

namespace log {

// `base` with every file and directory it creates set to 0600 / 0700 right
// after creation, whatever the process umask: RocksDB creates its files with
// the umask, and the log plus the key store open every household's data.
std::shared_ptr<rocksdb::FileSystem> PrivateFileSystem(std::shared_ptr<rocksdb::FileSystem> base);

// An Env over PrivateFileSystem(hooks->fs or the default one). Owned by the
// store that opens a DB with it, and outliving that DB.
std::unique_ptr<rocksdb::Env> MakeEnv(const StorageHooks* hooks);

}  // namespace log
}  // namespace relais
