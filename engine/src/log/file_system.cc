#include "log/file_system.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "relais/files.h"

namespace relais::log {

namespace {

class PrivateFs : public rocksdb::FileSystemWrapper {
 public:
  explicit PrivateFs(std::shared_ptr<rocksdb::FileSystem> base) : FileSystemWrapper(base) {}
  static const char* kClassName() { return "RelaisPrivateFs"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    return Restrict(f, target()->NewWritableFile(f, o, r, dbg), files::kPrivateFileMode);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    return Restrict(f, target()->ReopenWritableFile(f, o, r, dbg), files::kPrivateFileMode);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    return Restrict(f, target()->ReuseWritableFile(f, old, o, r, dbg), files::kPrivateFileMode);
  }
  rocksdb::IOStatus NewRandomRWFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSRandomRWFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    return Restrict(f, target()->NewRandomRWFile(f, o, r, dbg), files::kPrivateFileMode);
  }
  rocksdb::IOStatus CreateDir(const std::string& d, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) override {
    return Restrict(d, target()->CreateDir(d, o, dbg), files::kPrivateDirMode);
  }
  rocksdb::IOStatus CreateDirIfMissing(const std::string& d, const rocksdb::IOOptions& o,
                                       rocksdb::IODebugContext* dbg) override {
    return Restrict(d, target()->CreateDirIfMissing(d, o, dbg), files::kPrivateDirMode);
  }
  rocksdb::IOStatus LockFile(const std::string& f, const rocksdb::IOOptions& o,
                             rocksdb::FileLock** l, rocksdb::IODebugContext* dbg) override {
    return Restrict(f, target()->LockFile(f, o, l, dbg), files::kPrivateFileMode);
  }

 private:
  static rocksdb::IOStatus Restrict(const std::string& path, rocksdb::IOStatus s, mode_t mode) {
    if (!s.ok()) return s;
    // A file the fault-injecting test file system keeps only in memory does
    // not exist on disk: nothing to restrict.
    if (::chmod(path.c_str(), mode) != 0 && errno != ENOENT)
      return rocksdb::IOStatus::IOError("chmod " + path, std::strerror(errno));
    return s;
  }
};

}  // namespace

std::shared_ptr<rocksdb::FileSystem> PrivateFileSystem(std::shared_ptr<rocksdb::FileSystem> base) {
  return std::make_shared<PrivateFs>(std::move(base));
}

namespace {
class ManualRecoveryListener : public rocksdb::EventListener {
 public:
  const char* Name() const override { return "RelaisManualRecovery"; }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    *auto_recovery = false;
  }
};
}  // namespace

NamingLogger::NamingLogger(std::shared_ptr<rocksdb::Logger> target)
    : rocksdb::Logger(target->GetInfoLogLevel()), target_(std::move(target)) {}

void NamingLogger::Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  target_->Logv(level, format, ap);
  if (level >= rocksdb::InfoLogLevel::WARN_LEVEL) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, format, copy);
    std::string line(buf);
    if (line.find(".log") != std::string::npos || line.find(".sst") != std::string::npos ||
        line.find("MANIFEST") != std::string::npos) {
      std::lock_guard<std::mutex> lock(mu_);
      recent_.push_back(std::move(line));
      if (recent_.size() > 4) recent_.erase(recent_.begin());
    }
  }
  va_end(copy);
}

std::string NamingLogger::Recent() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& l : recent_) out += (out.empty() ? "" : "; ") + l;
  return out;
}

std::shared_ptr<rocksdb::EventListener> ManualRecovery() {
  static auto listener = std::make_shared<ManualRecoveryListener>();
  return listener;
}

std::unique_ptr<rocksdb::Env> MakeEnv(const StorageHooks* hooks) {
  std::shared_ptr<rocksdb::FileSystem> base =
      hooks && hooks->fs ? hooks->fs : rocksdb::FileSystem::Default();
  return rocksdb::NewCompositeEnv(PrivateFileSystem(std::move(base)));
}

}  // namespace relais::log
