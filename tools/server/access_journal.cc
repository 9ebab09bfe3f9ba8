#include "server/access_journal.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "relais/files.h"
#include "relais/json_writer.h"

namespace relais::server {

namespace {

std::string Errno() { return std::strerror(errno); }

// The length of the file up to and including its last '\n' (0 when none),
// reading backwards in blocks: the journal may be large, the tail is short.
Result<int64_t> LastWholeLineEnd(int fd, int64_t size, const std::string& path) {
  char buf[8192];
  int64_t end = size;
  while (end > 0) {
    int64_t start = end > static_cast<int64_t>(sizeof buf) ? end - sizeof buf : 0;
    ssize_t n = ::pread(fd, buf, static_cast<size_t>(end - start), start);
    if (n != end - start) return Status::IoError("cannot read " + path + ": " + Errno());
    for (int64_t i = n - 1; i >= 0; --i)
      if (buf[i] == '\n') return start + i + 1;
    end = start;
  }
  return int64_t{0};
}

}  // namespace

Result<std::unique_ptr<AccessJournal>> AccessJournal::Open(const std::string& data_dir,
                                                           JournalIo io) {
  std::string path = data_dir + "/access-journal.ndjson";
  bool created = false;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
                  files::kPrivateFileMode);
  if (fd >= 0) {
    created = true;
  } else if (errno == EEXIST) {
    fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  }
  if (fd < 0) return Status::IoError("cannot open " + path + ": " + Errno());
  auto fail = [&](Status st) {
    ::close(fd);
    return st;
  };
  if (::fchmod(fd, files::kPrivateFileMode) != 0)
    return fail(Status::IoError("cannot chmod " + path + ": " + Errno()));
  if (created) {
    // The new file's name must survive a power cut, or the entries written
    // to it are lost with it.
    Status st = files::FsyncDirectory(data_dir);
    if (!st.ok()) return fail(st);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) return fail(Status::IoError("cannot stat " + path + ": " + Errno()));
  int64_t size = st.st_size;
  // A crash during a write may have left part of a line: cut it, so that the
  // next entry does not run into it.
  auto whole = LastWholeLineEnd(fd, size, path);
  if (!whole.ok()) return fail(whole.status());
  if (*whole != size) {
    std::fprintf(stderr, "relais serve: %s: cutting a torn last line (%lld bytes)\n",
                 path.c_str(), static_cast<long long>(size - *whole));
    if (::ftruncate(fd, *whole) != 0 || ::fsync(fd) != 0)
      return fail(Status::IoError("cannot repair the torn tail of " + path + ": " + Errno()));
    size = *whole;
  }
  return std::unique_ptr<AccessJournal>(new AccessJournal(path, fd, size, io));
}

AccessJournal::AccessJournal(std::string path, int fd, int64_t size, JournalIo io)
    : path_(std::move(path)), fd_(fd), bytes_(size), io_(io) {
  if (!io_.write) io_.write = ::write;
  if (!io_.fdatasync) io_.fdatasync = ::fdatasync;
  syncer_ = std::thread([this] { SyncLoop(); });
}

AccessJournal::~AccessJournal() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  syncer_.join();
  Status st = Sync();
  if (!st.ok()) std::fprintf(stderr, "relais serve: %s\n", st.message().c_str());
  ::close(fd_);
}

void AccessJournal::SetIoForTest(JournalIo io) {
  std::lock_guard<std::mutex> lock(mu_);
  io_.write = io.write ? io.write : ::write;
  io_.fdatasync = io.fdatasync ? io.fdatasync : ::fdatasync;
}

Status AccessJournal::SyncLocked(std::unique_lock<std::mutex>& lock) {
  if (!failed_.empty()) return Status::IoError(failed_);
  if (!dirty_) return Status::Ok();
  dirty_ = false;
  auto sync = io_.fdatasync;
  lock.unlock();
  int rc = sync(fd_);
  int err = errno;
  lock.lock();
  if (rc != 0) {
    failed_ = "access journal: fdatasync failed: " + std::string(std::strerror(err)) +
              "; restart the server once the disk is healthy";
    std::fprintf(stderr, "relais serve: %s\n", failed_.c_str());
    return Status::IoError(failed_);
  }
  return Status::Ok();
}

Status AccessJournal::Sync() {
  std::unique_lock<std::mutex> lock(mu_);
  return SyncLocked(lock);
}

void AccessJournal::SyncLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    (void)SyncLocked(lock);  // a failure latches `failed_`: Record() reports it
  }
}

Status AccessJournal::Record(const AccessEntry& e) {
  JsonWriter w;
  w.BeginObject();
  w.Key("at").String(FormatTimestamp(e.at));
  w.Key("token").String(e.token);
  w.Key("role").String(e.role);
  w.Key("org").String(e.org);
  w.Key("subject").String(e.subject);
  w.Key("endpoint").String(e.endpoint);
  w.Key("allowed").Bool(e.allowed);
  w.EndObject();
  std::string line = w.Take();
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  if (!failed_.empty()) return Status::IoError(failed_);
  // The whole line, retrying short writes, under the lock: lines never
  // interleave. O_APPEND puts each piece at the end.
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = io_.write(fd_, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = n < 0 ? Errno() : "no progress";
      if (off > 0 && ::ftruncate(fd_, bytes_.load()) != 0) {
        // The torn line stays: nothing may be appended after it.
        failed_ = "access journal: a torn line could not be cut: " + Errno() +
                  "; restart the server (it repairs the tail)";
        return Status::IoError(failed_);
      }
      return Status::IoError("access journal: write failed: " + why);
    }
    off += static_cast<size_t>(n);
  }
  bytes_ += static_cast<int64_t>(line.size());
  dirty_ = true;
  return Status::Ok();
}

Result<std::string> AccessJournal::QueryJson(const std::string& subject,
                                             std::optional<Timestamp> from,
                                             std::optional<Timestamp> to) {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path_);
  simdjson::dom::parser parser;
  JsonWriter w;
  w.BeginObject();
  w.Key("entries").BeginArray();
  size_t count = 0;
  bool truncated = false;
  std::string line;
  while (std::getline(in, line)) {
    simdjson::dom::element e;
    if (parser.parse(line).get(e)) continue;  // a line being written right now
    std::string_view at_text, subj;
    if (e["at"].get_string().get(at_text) || e["subject"].get_string().get(subj)) continue;
    if (!subject.empty() && subj != subject) continue;
    auto at = ParseTimestamp(at_text);
    if (!at) continue;
    if (from && *at < *from) continue;
    if (to && !(*at < *to)) continue;
    if (count == kJournalQueryEntriesMax) {
      truncated = true;
      break;
    }
    w.Raw(simdjson::minify(e));
    ++count;
  }
  w.EndArray();
  w.Key("truncated").Bool(truncated);
  w.EndObject();
  return w.Take();
}

Result<std::vector<AccessEntry>> ReadJournalEntries(const std::string& data_dir,
                                                    std::string_view subject) {
  std::string path = data_dir + "/access-journal.ndjson";
  std::vector<AccessEntry> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return out;
    return Status::IoError("cannot read " + path);
  }
  // Most lines are about other subjects: a substring test before the parse.
  JsonWriter quoted;
  quoted.String(subject);
  const std::string needle = quoted.str();
  simdjson::dom::parser parser;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(needle) == std::string::npos) continue;
    simdjson::dom::element e;
    if (parser.parse(line).get(e)) continue;  // a line being written right now
    std::string_view at_text, subj, role, org, endpoint, token;
    bool allowed = false;
    if (e["at"].get_string().get(at_text) || e["subject"].get_string().get(subj) ||
        e["role"].get_string().get(role) || e["endpoint"].get_string().get(endpoint) ||
        e["allowed"].get_bool().get(allowed))
      continue;
    if (subj != subject) continue;
    auto at = ParseTimestamp(at_text);
    if (!at) continue;
    if (e["org"].get_string().get(org)) org = "-";
    if (e["token"].get_string().get(token)) token = "";
    AccessEntry a;
    a.at = *at;
    a.token = std::string(token);
    a.role = std::string(role);
    a.subject = std::string(subj);
    a.endpoint = std::string(endpoint);
    a.allowed = allowed;
    a.org = std::string(org);
    out.push_back(std::move(a));
  }
  if (in.bad()) return Status::IoError("cannot read " + path);
  return out;
}

}  // namespace relais::server
