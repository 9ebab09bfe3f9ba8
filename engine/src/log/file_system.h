// The file systems under RocksDB: owner-only modes, and the hook through which
// tests put a fault-injecting file system under both the log and the key store.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/listener.h>

#include <cstdarg>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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

// A listener that turns RocksDB's automatic recovery from background errors
// off: the engine decides when a failed store may take writes again (after a
// full disk, never after a failed fsync) and calls DB::Resume itself.
std::shared_ptr<rocksdb::EventListener> ManualRecovery();

// RocksDB's own log (DIR/log/LOG), with the last warnings and errors that
// name a file kept in memory: RocksDB's Status for a damaged write-ahead log
// says "checksum mismatch" without the file, its log line names it.
class NamingLogger : public rocksdb::Logger {
 public:
  explicit NamingLogger(std::shared_ptr<rocksdb::Logger> target);
  using rocksdb::Logger::Logv;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override;
  void Flush() override { target_->Flush(); }
  size_t GetLogFileSize() const override { return target_->GetLogFileSize(); }
  // The last few warnings that name a file ("" if none).
  std::string Recent();

 protected:
  rocksdb::Status CloseImpl() override { return target_->Close(); }

 private:
  std::shared_ptr<rocksdb::Logger> target_;
  std::mutex mu_;
  std::vector<std::string> recent_;
};

// An Env over PrivateFileSystem(hooks->fs or the default one). Owned by the
// store that opens a DB with it, and outliving that DB.
std::unique_ptr<rocksdb::Env> MakeEnv(const StorageHooks* hooks);

}  // namespace log
}  // namespace relais
