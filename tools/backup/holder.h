// Who holds a data directory: the process that has RocksDB's LOCK file of
// DIR/log (or DIR/keys) locked, i.e. a running `relais serve` or a write
// command in progress (interfaces.md §3, exit 6).
//
// RocksDB locks LOCK with fcntl(F_SETLK) on the whole file; fcntl(F_GETLK)
// from another process reports the holder's pid without taking anything.
// Record locks belong to processes, so a lock held by this very process (an
// embedded engine) is not reported. Never call these on a directory this
// process has open in an Engine: closing any descriptor of a locked file drops
// every fcntl lock the process has on it, RocksDB's included.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "relais/status.h"

namespace relais::backup {

struct Holder {
  pid_t pid = 0;
  std::string command;  // the holder's command line, when /proc tells it ("" otherwise)
};

// The process holding `data_dir`, or nullopt when none (or no LOCK file).
std::optional<Holder> DataDirHolder(const std::string& data_dir);

// "the data directory D is held by process P (relais serve ...)": the start
// of every exit-6 message.
std::string HeldMessage(const std::string& data_dir, const Holder& h);

// Keeps other processes from opening `data_dir` for writing while held:
// takes the same fcntl lock RocksDB takes on DIR/log/LOCK and DIR/keys/LOCK.
// Busy (naming the holder) when another process has one of them.
class DirectoryLock {
 public:
  static Result<std::unique_ptr<DirectoryLock>> Acquire(const std::string& data_dir);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  DirectoryLock() = default;
  int fds_[2] = {-1, -1};
};

}  // namespace relais::backup
