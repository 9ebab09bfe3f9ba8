#include "backup/holder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

namespace relais::backup {

namespace {

constexpr const char* kLockFiles[] = {"/log/LOCK", "/keys/LOCK"};
constexpr size_t kCommandBytesMax = 512;

std::optional<pid_t> LockHolder(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 0;
  int rc = ::fcntl(fd, F_GETLK, &fl);
  ::close(fd);
  if (rc != 0 || fl.l_type == F_UNLCK) return std::nullopt;
  return fl.l_pid;
}

// /proc/PID/cmdline with its NULs as spaces, bounded.
std::string CommandOf(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  if (!f) return "";
  std::string s(kCommandBytesMax, '\0');
  f.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<size_t>(f.gcount()));
  while (!s.empty() && s.back() == '\0') s.pop_back();
  for (char& c : s)
    if (c == '\0') c = ' ';
  return s;
}

}  // namespace

std::optional<Holder> DataDirHolder(const std::string& data_dir) {
  for (const char* name : kLockFiles) {
    if (auto pid = LockHolder(data_dir + name)) return Holder{*pid, CommandOf(*pid)};
  }
  return std::nullopt;
}

std::string HeldMessage(const std::string& data_dir, const Holder& h) {
  std::string m = "the data directory " + data_dir + " is held by process " + std::to_string(h.pid);
  if (!h.command.empty()) m += " (" + h.command + ")";
  return m;
}

Result<std::unique_ptr<DirectoryLock>> DirectoryLock::Acquire(const std::string& data_dir) {
  std::unique_ptr<DirectoryLock> lock(new DirectoryLock());
  for (int i = 0; i < 2; ++i) {
    std::string path = data_dir + kLockFiles[i];
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // never opened for writing: nothing to keep out
      return Status::IoError("opening " + path + ": " + std::strerror(errno));
    }
    lock->fds_[i] = fd;
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd, F_SETLK, &fl) != 0) {
      if (auto h = DataDirHolder(data_dir)) return Status::Busy(HeldMessage(data_dir, *h));
      return Status::Busy("the data directory " + data_dir + " is held by another process");
    }
  }
  return lock;
}

DirectoryLock::~DirectoryLock() {
  for (int fd : fds_)
    if (fd >= 0) ::close(fd);  // releases the record lock
}

}  // namespace relais::backup
