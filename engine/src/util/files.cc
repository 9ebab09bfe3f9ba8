#include "relais/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

namespace relais::files {

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError(Errno("writing " + what));
    if (n == 0) return Status::IoError("writing " + what + ": no progress");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status FsyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(Errno("opening directory " + dir));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) {
    errno = saved;
    return Status::IoError(Errno("fsync of directory " + dir));
  }
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view bytes, mode_t mode) {
  // A name no concurrent writer of the same file shares: pid + random.
  std::random_device rd;
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(rd());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IoError(Errno("creating " + tmp));
  Status st = WriteAll(fd, bytes, tmp);
  if (st.ok() && ::fchmod(fd, mode) != 0) st = Status::IoError(Errno("chmod " + tmp));
  if (st.ok() && ::fsync(fd) != 0) st = Status::IoError(Errno("fsync " + tmp));
  if (::close(fd) != 0 && st.ok()) st = Status::IoError(Errno("closing " + tmp));
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = Status::IoError(Errno("renaming " + tmp + " to " + path));
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return FsyncDirectory(DirOf(path));
}

Result<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + " does not exist");
    return Status::IoError(Errno("opening " + path));
  }
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = Status::IoError(Errno("reading " + path));
      ::close(fd);
      return st;
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      return Status::ResourceExhausted(path + " is larger than " + std::to_string(max_bytes) +
                                       " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status MakePrivateDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir + ": " + ec.message());
  if (::chmod(dir.c_str(), kPrivateDirMode) != 0) return Status::IoError(Errno("chmod " + dir));
  return Status::Ok();
}

Status RestrictTree(const std::string& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (::chmod(root.c_str(), kPrivateDirMode) != 0) return Status::IoError(Errno("chmod " + root));
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    // Symlinks are left alone: chmod would follow them out of the tree.
    if (it->is_symlink(ec)) continue;
    mode_t mode = it->is_directory(ec) ? kPrivateDirMode : kPrivateFileMode;
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) continue;  // removed meanwhile (RocksDB compaction)
    if ((st.st_mode & 0777) == mode) continue;
    if (::chmod(it->path().c_str(), mode) != 0 && errno != ENOENT)
      return Status::IoError(Errno("chmod " + it->path().string()));
  }
  if (ec) return Status::IoError("listing " + root + ": " + ec.message());
  return Status::Ok();
}

}  // namespace relais::files
