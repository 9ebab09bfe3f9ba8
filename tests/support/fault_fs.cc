#include "support/fault_fs.h"

#include <unistd.h>

#include <filesystem>

namespace relais::testing {

namespace {

class FaultFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultFile(std::unique_ptr<rocksdb::FSWritableFile> f, std::string path, FaultFs* fs)
      : FSWritableFileOwnerWrapper(std::move(f)), path_(std::move(path)), fs_(fs) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_->OnAppend(path_, d.size()); !s.ok()) return s;
    auto s = target()->Append(d, o, dbg);
    if (s.ok()) fs_->OnAppended(path_, d.size());
    return s;
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v,
                           rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_->OnAppend(path_, d.size()); !s.ok()) return s;
    auto s = target()->Append(d, o, v, dbg);
    if (s.ok()) fs_->OnAppended(path_, d.size());
    return s;
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& d, uint64_t off,
                                     const rocksdb::IOOptions& o,
                                     rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_->OnAppend(path_, d.size()); !s.ok()) return s;
    auto s = target()->PositionedAppend(d, off, o, dbg);
    if (s.ok()) fs_->OnAppended(path_, d.size());
    return s;
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_->OnSync(path_); !s.ok()) return s;
    // Flush the wrapped file's user-space buffer first, then sync it.
    auto s = target()->Sync(o, dbg);
    return s;
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (auto s = fs_->OnSync(path_); !s.ok()) return s;
    return target()->Fsync(o, dbg);
  }
  rocksdb::IOStatus RangeSync(uint64_t, uint64_t, const rocksdb::IOOptions&,
                              rocksdb::IODebugContext*) override {
    // Not a durability point (sync_file_range): nothing is promised.
    return rocksdb::IOStatus::OK();
  }

 private:
  std::string path_;
  FaultFs* fs_;
};

}  // namespace

FaultFs::FaultFs(std::shared_ptr<rocksdb::FileSystem> base) : FileSystemWrapper(base) {}

void FaultFs::Fail(Op op, std::string path_part, How how) {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.push_back({op, std::move(path_part), how});
}

void FaultFs::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.clear();
}

void FaultFs::PowerCut() { dead_ = true; }
void FaultFs::Reactivate() { dead_ = false; }

int64_t FaultFs::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t dropped = 0;
  for (auto& [path, st] : files_) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) continue;
    uint64_t real = std::filesystem::file_size(path, ec);
    if (ec) continue;
    if (!st.ever_synced) {
      dropped += static_cast<int64_t>(real);
      std::filesystem::remove(path, ec);
      continue;
    }
    if (real > st.synced) {
      dropped += static_cast<int64_t>(real - st.synced);
      if (::truncate(path.c_str(), static_cast<off_t>(st.synced)) != 0) continue;
    }
    st.size = st.synced;
  }
  files_.clear();
  return dropped;
}

rocksdb::IOStatus FaultFs::Injected(Op op, const std::string& path) {
  if (dead_) {
    ++injected_;
    return rocksdb::IOStatus::IOError("simulated power cut", path);
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const Rule& r : rules_)
    if (r.op == op && path.find(r.part) != std::string::npos) {
      ++injected_;
      if (r.how == How::kNoSpace) return rocksdb::IOStatus::NoSpace("simulated full disk", path);
      return rocksdb::IOStatus::IOError("simulated I/O error", path);
    }
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus FaultFs::OnAppend(const std::string& path, size_t) {
  return Injected(Op::kWrite, path);
}

void FaultFs::OnAppended(const std::string& path, size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  files_[path].size += n;
}

rocksdb::IOStatus FaultFs::OnSync(const std::string& path) {
  if (auto s = Injected(Op::kSync, path); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  FileState& st = files_[path];
  st.synced = st.size;
  st.ever_synced = true;
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus FaultFs::Wrap(const std::string& f, rocksdb::IOStatus s,
                                std::unique_ptr<rocksdb::FSWritableFile>* r, bool fresh) {
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (fresh) {
      files_[f] = FileState{};
    } else if (!files_.count(f)) {
      // Reopened for appending: what is there now counts as synced.
      std::error_code ec;
      uint64_t size = std::filesystem::file_size(f, ec);
      files_[f] = FileState{ec ? 0 : size, ec ? 0 : size, true};
    }
  }
  *r = std::make_unique<FaultFile>(std::move(*r), f, this);
  return s;
}

rocksdb::IOStatus FaultFs::NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                           std::unique_ptr<rocksdb::FSWritableFile>* r,
                                           rocksdb::IODebugContext* dbg) {
  if (auto s = Injected(Op::kWrite, f); !s.ok()) return s;
  return Wrap(f, target()->NewWritableFile(f, o, r, dbg), r, true);
}

rocksdb::IOStatus FaultFs::ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                                              rocksdb::IODebugContext* dbg) {
  if (auto s = Injected(Op::kWrite, f); !s.ok()) return s;
  return Wrap(f, target()->ReopenWritableFile(f, o, r, dbg), r, false);
}

rocksdb::IOStatus FaultFs::ReuseWritableFile(const std::string& f, const std::string& old,
                                             const rocksdb::FileOptions& o,
                                             std::unique_ptr<rocksdb::FSWritableFile>* r,
                                             rocksdb::IODebugContext* dbg) {
  if (auto s = Injected(Op::kWrite, f); !s.ok()) return s;
  return Wrap(f, target()->ReuseWritableFile(f, old, o, r, dbg), r, true);
}

rocksdb::IOStatus FaultFs::RenameFile(const std::string& s, const std::string& t,
                                      const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) {
  if (auto st = Injected(Op::kRename, t); !st.ok()) return st;
  auto st = target()->RenameFile(s, t, o, dbg);
  if (st.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = files_.find(s); it != files_.end()) {
      files_[t] = it->second;
      files_.erase(s);
    }
  }
  return st;
}

rocksdb::IOStatus FaultFs::DeleteFile(const std::string& f, const rocksdb::IOOptions& o,
                                      rocksdb::IODebugContext* dbg) {
  if (dead_) return rocksdb::IOStatus::IOError("simulated power cut", f);
  auto st = target()->DeleteFile(f, o, dbg);
  if (st.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    files_.erase(f);
  }
  return st;
}

}  // namespace relais::testing
