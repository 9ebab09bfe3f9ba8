// A fault-injecting file system for RocksDB, in the spirit of RocksDB's
// utilities/fault_injection_fs.h and leveldb's db/fault_injection_test.cc:
//
//   - a simulated power cut (PowerCut): every later operation fails, and the
//     data written to files since their last Sync/Fsync is dropped (truncated
//     away) once the engine is gone (DropUnsyncedData), as a machine losing
//     its page cache would;
//   - chosen operations fail on chosen files: writes (as an I/O error or as
//     ENOSPC), syncs, renames, on paths containing a substring (the log's
//     "/log/" or the key store's "/keys/").
//
// What it does not model: directory entries (a file created, synced, but its
// directory never fsynced survives here); RocksDB syncs its directories.
//
// Thread-safety: every method is thread-safe (RocksDB calls it from its
// background threads).
#pragma once

#include <rocksdb/file_system.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace relais::testing {

class FaultFs : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultFs(std::shared_ptr<rocksdb::FileSystem> base = rocksdb::FileSystem::Default());
  static const char* kClassName() { return "RelaisFaultFs"; }
  const char* Name() const override { return kClassName(); }

  enum class Op { kWrite, kSync, kRename };
  enum class How { kIoError, kNoSpace };
  // Fails every `op` on a path containing `path_part` until Clear. A failed
  // write writes nothing.
  void Fail(Op op, std::string path_part, How how = How::kIoError);
  void Clear();
  int64_t injected() const { return injected_.load(); }

  // The power cut: from now on every write, sync, rename and file creation
  // fails. Destroy the engine, then DropUnsyncedData, then Reactivate.
  void PowerCut();
  // Truncates every file written through this file system to its last synced
  // size, and removes files that were never synced. Returns the bytes dropped.
  int64_t DropUnsyncedData();
  void Reactivate();

  // --- rocksdb::FileSystem
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& s, const std::string& t,
                               const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override;

  // Called by the wrapped files.
  rocksdb::IOStatus OnAppend(const std::string& path, size_t n);
  void OnAppended(const std::string& path, size_t n);
  rocksdb::IOStatus OnSync(const std::string& path);

 private:
  struct FileState {
    uint64_t size = 0;
    uint64_t synced = 0;
    bool ever_synced = false;
  };
  rocksdb::IOStatus Injected(Op op, const std::string& path);
  rocksdb::IOStatus Wrap(const std::string& f, rocksdb::IOStatus s,
                         std::unique_ptr<rocksdb::FSWritableFile>* r, bool fresh);

  std::mutex mu_;
  std::map<std::string, FileState> files_;
  struct Rule {
    Op op;
    std::string part;
    How how;
  };
  std::vector<Rule> rules_;
  std::atomic<bool> dead_{false};
  std::atomic<int64_t> injected_{0};
};

}  // namespace relais::testing
