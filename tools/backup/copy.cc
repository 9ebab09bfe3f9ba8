#include "backup/copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <vector>

#include "relais/files.h"

namespace relais::backup {

namespace {

constexpr size_t kChunk = 1 << 20;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Closes a descriptor on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Status Close(const std::string& what) {
    int rc = ::close(fd);
    fd = -1;
    return rc == 0 ? Status::Ok() : Status::IoError(Errno("closing " + what));
  }
};

Result<size_t> ReadSome(int fd, char* buf, size_t n, const std::string& what) {
  for (;;) {
    ssize_t r = ::read(fd, buf, n);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno != EINTR) return Status::IoError(Errno("reading " + what));
  }
}

Status FsyncPath(const std::string& path, bool dir) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
  if (fd < 0) return Status::IoError(Errno("opening " + path));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  return rc == 0 ? Status::Ok() : Status::IoError(Errno("fsync " + path));
}

}  // namespace

Status CopyFilePrefix(const std::string& from, const std::string& to, bool whole_lines,
                      uint64_t* copied) {
  Fd in{::open(from.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) return Status::IoError(Errno("opening " + from));
  struct stat st;
  if (::fstat(in.fd, &st) != 0) return Status::IoError(Errno("stat " + from));
  Fd out{::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, files::kPrivateFileMode)};
  if (out.fd < 0) return Status::IoError(Errno("creating " + to));
  if (::fchmod(out.fd, files::kPrivateFileMode) != 0) return Status::IoError(Errno("chmod " + to));
  uint64_t left = static_cast<uint64_t>(st.st_size), written = 0, through_newline = 0;
  std::vector<char> buf(kChunk);
  while (left > 0) {
    ASSIGN_OR_RETURN(size_t n, ReadSome(in.fd, buf.data(), std::min<uint64_t>(left, kChunk), from));
    if (n == 0) break;  // truncated meanwhile: copy what there was
    RETURN_IF_ERROR(files::WriteAll(out.fd, {buf.data(), n}, to));
    for (size_t i = n; i > 0; --i) {
      if (buf[i - 1] == '\n') {
        through_newline = written + i;
        break;
      }
    }
    written += n;
    left -= n;
  }
  if (whole_lines && through_newline != written) {
    if (::ftruncate(out.fd, static_cast<off_t>(through_newline)) != 0)
      return Status::IoError(Errno("truncating " + to));
    written = through_newline;
  }
  if (::fsync(out.fd) != 0) return Status::IoError(Errno("fsync " + to));
  RETURN_IF_ERROR(out.Close(to));
  *copied = written;
  return Status::Ok();
}

Result<BackupFile> HashFile(const std::string& root, const std::string& rel) {
  std::string path = root + "/" + rel;
  Fd in{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) return Status::IoError(Errno("opening " + path));
  Sha256 h;
  BackupFile f;
  f.path = rel;
  std::vector<char> buf(kChunk);
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, ReadSome(in.fd, buf.data(), buf.size(), path));
    if (n == 0) break;
    h.Update(buf.data(), n);
    f.size += n;
  }
  f.sha256 = h.HexDigest();
  return f;
}

Status CopyChecked(const std::string& from, const std::string& to, const BackupFile& expect) {
  Fd in{::open(from.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) {
    if (errno == ENOENT)
      return Status::Corruption("the backup lacks " + expect.path + ", which BACKUP.json lists");
    return Status::IoError(Errno("opening " + from));
  }
  Fd out{::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, files::kPrivateFileMode)};
  if (out.fd < 0) return Status::IoError(Errno("creating " + to));
  if (::fchmod(out.fd, files::kPrivateFileMode) != 0) return Status::IoError(Errno("chmod " + to));
  Sha256 h;
  uint64_t seen = 0;
  std::vector<char> buf(kChunk);
  // One byte past the expected size is enough to know the file is longer.
  while (seen <= expect.size) {
    uint64_t want = std::min<uint64_t>(expect.size + 1 - seen, kChunk);
    ASSIGN_OR_RETURN(size_t n, ReadSome(in.fd, buf.data(), want, from));
    if (n == 0) break;
    h.Update(buf.data(), n);
    RETURN_IF_ERROR(files::WriteAll(out.fd, {buf.data(), n}, to));
    seen += n;
  }
  if (seen != expect.size)
    return Status::Corruption("backup file " + expect.path + " has " +
                              (seen > expect.size ? "more than " : "") + std::to_string(seen) +
                              " bytes, BACKUP.json says " + std::to_string(expect.size));
  if (h.HexDigest() != expect.sha256)
    return Status::Corruption("backup file " + expect.path +
                              " is damaged: its SHA-256 differs from BACKUP.json");
  if (::fsync(out.fd) != 0) return Status::IoError(Errno("fsync " + to));
  return out.Close(to);
}

bool IsInside(const std::string& path, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) return false;
  fs::path d = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  if (ec) return false;
  auto [pi, di] = std::mismatch(p.begin(), p.end(), d.begin(), d.end());
  return di == d.end();
}

Status FsyncTree(const std::string& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> dirs = {root};
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_symlink(ec)) continue;
    if (it->is_directory(ec)) {
      dirs.push_back(it->path().string());
    } else if (it->is_regular_file(ec)) {
      RETURN_IF_ERROR(FsyncPath(it->path().string(), false));
    }
  }
  if (ec) return Status::IoError("listing " + root + ": " + ec.message());
  // Deepest first: a directory's entry in its parent is synced after its content.
  for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) RETURN_IF_ERROR(FsyncPath(*d, true));
  return Status::Ok();
}

}  // namespace relais::backup
