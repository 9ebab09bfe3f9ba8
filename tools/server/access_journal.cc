#include "server/access_journal.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "relais/files.h"
#include "relais/json_writer.h"
#include "server/journal_files.h"

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

// The `at` of the first line of `fd` (nullopt when empty or unreadable).
std::optional<Timestamp> FirstEntryTime(int fd) {
  JournalLineReader reader(fd, 0);
  std::string_view line;
  int64_t start = 0;
  auto more = reader.Next(&line, &start);
  if (!more.ok() || !*more) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  std::string_view at;
  if (parser.parse(line.data(), line.size()).get(e) || e["at"].get_string().get(at))
    return std::nullopt;
  return ParseTimestamp(at);
}

}  // namespace

Result<std::unique_ptr<AccessJournal>> AccessJournal::Open(const std::string& data_dir,
                                                           JournalOptions options) {
  if (!options.clock) options.clock = SystemClock();
  std::string path = data_dir + "/" + std::string(kJournalActiveName);
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
  std::string repaired;
  if (*whole != size) {
    repaired = path + ": cut a torn last line (" + std::to_string(size - *whole) + " bytes)";
    if (::ftruncate(fd, *whole) != 0 || ::fsync(fd) != 0)
      return fail(Status::IoError("cannot repair the torn tail of " + path + ": " + Errno()));
    size = *whole;
  }
  auto rotated = ListRotatedJournals(data_dir);
  if (!rotated.ok()) return fail(rotated.status());
  std::unique_ptr<AccessJournal> j(new AccessJournal(data_dir, fd, size, std::move(options)));
  if (!repaired.empty()) j->Warn(repaired);
  for (const auto& r : *rotated) {
    j->active_seq_ = std::max(j->active_seq_, r.seq + 1);
    j->rotated_bytes_ += r.bytes;
  }
  if (size > 0) j->active_started_ = FirstEntryTime(fd).value_or(j->options_.clock->Now());
  {
    // Rotation by age and deletion are due at open too (a server stopped
    // for a long while); a failure here is logged, never fatal.
    std::lock_guard<std::mutex> lock(j->mu_);
    Status m = j->MaybeRotateLocked(0);
    if (!m.ok()) return m;
  }
  j->syncer_ = std::thread([p = j.get()] { p->SyncLoop(); });
  return j;
}

AccessJournal::AccessJournal(std::string data_dir, int fd, int64_t size, JournalOptions options)
    : dir_(std::move(data_dir)),
      path_(dir_ + "/" + std::string(kJournalActiveName)),
      fd_(fd),
      options_(std::move(options)),
      bytes_(size) {
  if (!options_.io.write) options_.io.write = ::write;
  if (!options_.io.fdatasync) options_.io.fdatasync = ::fdatasync;
}

AccessJournal::~AccessJournal() {
  if (syncer_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    syncer_.join();
  }
  Status st = Sync();
  if (!st.ok()) Warn(st.message());
  ::close(fd_);
}

void AccessJournal::Warn(const std::string& message) {
  if (options_.log) {
    options_.log->Error("access journal", [&](JsonWriter& w) { w.Key("error").String(message); });
  } else {
    std::fprintf(stderr, "relais: access journal: %s\n", message.c_str());
  }
}

void AccessJournal::SetIoForTest(JournalIo io) {
  std::lock_guard<std::mutex> lock(mu_);
  options_.io.write = io.write ? io.write : ::write;
  options_.io.fdatasync = io.fdatasync ? io.fdatasync : ::fdatasync;
}

Status AccessJournal::SyncLocked(std::unique_lock<std::mutex>& lock) {
  if (!failed_.empty()) return Status::IoError(failed_);
  if (!dirty_) return Status::Ok();
  dirty_ = false;
  auto sync = options_.io.fdatasync;
  // A duplicate: a rotation may close `fd_` while this syncs unlocked (it
  // syncs the old file itself before renaming it).
  int fd = ::dup(fd_);
  if (fd < 0) {
    dirty_ = true;
    return Status::IoError("access journal: dup: " + Errno());
  }
  lock.unlock();
  int rc = sync(fd);
  int err = errno;
  ::close(fd);
  lock.lock();
  if (rc != 0) {
    failed_ = "access journal: fdatasync failed: " + std::string(std::strerror(err)) +
              "; restart the server once the disk is healthy";
    Warn(failed_);
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
  auto maintained = std::chrono::steady_clock::now();
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    (void)SyncLocked(lock);  // a failure latches `failed_`: Record() reports it
    // Rotation by age and deletion of expired files, once a minute, so that
    // an idle journal is rotated and emptied too.
    if (!stop_ && std::chrono::steady_clock::now() - maintained > std::chrono::minutes(1)) {
      maintained = std::chrono::steady_clock::now();
      (void)MaybeRotateLocked(0);  // failures are logged or latched
    }
  }
}

Status AccessJournal::MaintainForTest() {
  std::lock_guard<std::mutex> lock(mu_);
  return MaybeRotateLocked(0);
}

AccessJournal::RotationHold AccessJournal::HoldRotation() {
  std::lock_guard<std::mutex> lock(mu_);
  ++holds_;
  return RotationHold(this);
}

AccessJournal::RotationHold::~RotationHold() {
  if (!j_) return;
  std::lock_guard<std::mutex> lock(j_->mu_);
  --j_->holds_;
}

Status AccessJournal::MaybeRotateLocked(int64_t incoming) {
  if (!failed_.empty()) return Status::IoError(failed_);
  if (holds_ > 0) return Status::Ok();  // a backup is copying the files
  Timestamp now = options_.clock->Now();
  int64_t size = bytes_.load();
  bool by_size = size > 0 && size + incoming > options_.limits.max_bytes;
  bool by_age = size > 0 && active_started_ &&
                now.micros - active_started_->micros >= kJournalRotateIntervalMicros;
  bool waiting = rotate_retry_at_ && now.micros < rotate_retry_at_->micros;
  bool rotated = false;
  if ((by_size || by_age) && !waiting) {
    Status st = RotateLocked(now);
    if (!st.ok()) {
      if (!failed_.empty()) return st;
      // The active file keeps growing past its cap: better than refusing reads.
      rotate_retry_at_ = Timestamp{now.micros + kJournalRotateRetryMicros};
      Warn("rotation failed, the active file keeps growing (next attempt in " +
           std::to_string(kJournalRotateRetryMicros / 1000000) + " s): " + st.message());
      return Status::Ok();
    }
    rotate_retry_at_.reset();
    rotated = true;
  }
  // Expired files are looked for after a rotation and by the maintenance
  // (open, then every minute: incoming 0), never by every entry: a listing
  // stats every rotated file, a year of them with the defaults.
  if (rotated || incoming == 0) PurgeLocked(now);
  return Status::Ok();
}

Status AccessJournal::RotateLocked(Timestamp now) {
  // 1. The old file's bytes are durable before its name changes.
  if (options_.io.fdatasync(fd_) != 0) {
    failed_ = "access journal: fdatasync failed: " + Errno() +
              "; restart the server once the disk is healthy";
    Warn(failed_);
    return Status::IoError(failed_);
  }
  // 2. Rename: the bytes (and every cursor's offset into them) stay.
  std::string rotated = dir_ + "/" + RotatedJournalName(active_seq_, now);
  if (::rename(path_.c_str(), rotated.c_str()) != 0)
    return Status::IoError("cannot rename " + path_ + ": " + Errno());
  // 3. The new active file. Without it nothing can be journaled: latch.
  int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
                  files::kPrivateFileMode);
  if (fd < 0) {
    failed_ = "access journal: cannot create " + path_ + " after rotating it: " + Errno() +
              "; restart the server";
    Warn(failed_);
    return Status::IoError(failed_);
  }
  // 4. Both names survive a power cut.
  Status st = files::FsyncDirectory(dir_);
  if (!st.ok()) {
    ::close(fd);
    failed_ = "access journal: " + st.message() + "; restart the server";
    Warn(failed_);
    return Status::IoError(failed_);
  }
  ::close(fd_);
  fd_ = fd;
  rotated_bytes_ += bytes_.load();
  bytes_ = 0;
  dirty_ = false;
  active_started_.reset();
  ++active_seq_;
  ++rotations_;
  if (options_.log)
    options_.log->Info("access journal rotated", [&](JsonWriter& w) {
      w.Key("file").String(rotated.substr(dir_.size() + 1));
    });
  return Status::Ok();
}

void AccessJournal::PurgeLocked(Timestamp now) {
  auto rotated = ListRotatedJournals(dir_);
  if (!rotated.ok()) return Warn(rotated.status().message());
  const int64_t max_age = options_.limits.max_age_days * 86400LL * 1000000;
  bool changed = false;
  int64_t kept = 0;
  for (size_t i = 0; i < rotated->size(); ++i) {
    const RotatedJournal& r = (*rotated)[i];
    if (now.micros - r.rotated_at.micros <= max_age) {
      kept += r.bytes;
      continue;
    }
    // The newest rotated file is emptied, not deleted: its name keeps the
    // seq count (journal_files.h) when every older file is gone too.
    bool newest = i + 1 == rotated->size();
    int rc = newest ? (r.bytes > 0 ? ::truncate(r.path.c_str(), 0) : 0) : ::unlink(r.path.c_str());
    if (rc != 0) {
      Warn("cannot delete the expired " + r.path + ": " + Errno());
      kept += r.bytes;
      continue;
    }
    changed = changed || !newest || r.bytes > 0;
  }
  rotated_bytes_ = kept;
  if (changed) {
    Status st = files::FsyncDirectory(dir_);
    if (!st.ok()) Warn(st.message());
  }
}


Status AccessJournal::Record(const AccessEntry& e) {
  JsonWriter w;
  w.BeginObject();
  w.Key("at").String(FormatTimestamp(e.at));
  w.Key("token").String(e.token);
  w.Key("role").String(e.role);
  w.Key("subject").String(e.subject);
  w.Key("endpoint").String(e.endpoint);
  w.Key("allowed").Bool(e.allowed);
  // Last, so that the lines of older servers are a prefix of the same shape.
  w.Key("org").String(e.org);
  w.EndObject();
  std::string line = w.Take();
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  if (!failed_.empty()) return Status::IoError(failed_);
  RETURN_IF_ERROR(MaybeRotateLocked(static_cast<int64_t>(line.size())));
  // The whole line, retrying short writes, under the lock: lines never
  // interleave. O_APPEND puts each piece at the end.
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = options_.io.write(fd_, line.data() + off, line.size() - off);
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
  if (bytes_.load() == 0) active_started_ = options_.clock->Now();
  bytes_ += static_cast<int64_t>(line.size());
  dirty_ = true;
  return Status::Ok();
}

Result<std::string> AccessJournal::QueryJson(const JournalQuery& q) {
  JournalCursor cursor;
  if (!q.cursor.empty()) {
    auto c = ParseJournalCursor(q.cursor);
    if (!c) return Status::InvalidArgument("cursor: '" + q.cursor.substr(0, 64) + "' is not a cursor");
    cursor = *c;
  }
  // The active file is opened under the lock, so that it is the file of
  // `active_seq` (a rotation renames it under the same lock).
  int active_fd;
  uint64_t active_seq;
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    active_seq = active_seq_;
  }
  if (active_fd < 0) return Status::IoError("cannot open " + path_ + ": " + Errno());
  if (cursor.seq > active_seq) {
    ::close(active_fd);
    return Status::InvalidArgument("cursor: '" + q.cursor + "' is past the end of the journal");
  }
  ASSIGN_OR_RETURN(OpenJournalFiles files,
                   OpenJournalFiles::Open(dir_, cursor.seq, active_seq, active_fd));
  simdjson::dom::parser parser;
  JsonWriter w;
  w.BeginObject();
  w.Key("entries").BeginArray();
  size_t count = 0;
  int64_t scanned = 0;
  std::optional<JournalCursor> next;
  for (const OpenJournalFile& f : files.files()) {
    int64_t offset = 0;
    if (f.seq == cursor.seq && cursor.offset > 0) {
      // A cursor is the offset of a line: 0, or just after a '\n'.
      char before = 0;
      struct stat fst;
      bool emptied = ::fstat(f.fd, &fst) == 0 && fst.st_size == 0;  // expired (PurgeLocked)
      if (!emptied &&
          (::pread(f.fd, &before, 1, cursor.offset - 1) != 1 || before != '\n'))
        return Status::InvalidArgument("cursor: '" + q.cursor + "' is not a position of this journal");
      offset = emptied ? 0 : cursor.offset;
    }
    // A cursor into a file deleted since (its entries expired) goes on with the next file.
    JournalLineReader reader(f.fd, offset);
    std::string_view line;
    int64_t start = 0;
    for (;;) {
      ASSIGN_OR_RETURN(bool more, reader.Next(&line, &start));
      if (!more) break;
      if (scanned >= q.scan_bytes_max) {
        next = JournalCursor{f.seq, start};
        break;
      }
      scanned += static_cast<int64_t>(line.size()) + 1;
      simdjson::dom::element e;
      if (parser.parse(line.data(), line.size()).get(e)) continue;  // not a whole entry
      std::string_view at_text, subj;
      if (e["at"].get_string().get(at_text) || e["subject"].get_string().get(subj)) continue;
      if (!q.subject.empty() && subj != q.subject) continue;
      auto at = ParseTimestamp(at_text);
      if (!at) continue;
      if (q.from && *at < *q.from) continue;
      if (q.to && !(*at < *q.to)) continue;
      if (count == q.limit) {
        next = JournalCursor{f.seq, start};
        break;
      }
      w.Raw(simdjson::minify(e));
      ++count;
    }
    if (next) break;
  }
  w.EndArray();
  w.Key("truncated").Bool(next.has_value());
  w.Key("next");
  if (next) {
    w.String(FormatJournalCursor(*next));
  } else {
    w.Null();
  }
  w.EndObject();
  return w.Take();
}

Result<std::vector<AccessEntry>> ReadJournalEntries(const std::string& data_dir,
                                                    std::string_view subject) {
  std::string path = data_dir + "/" + std::string(kJournalActiveName);
  std::vector<AccessEntry> out;
  // The active file first, then the rotated ones (journal_files.h).
  int active_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (active_fd < 0 && errno != ENOENT) return Status::IoError("cannot open " + path + ": " + Errno());
  std::error_code ec;
  if (active_fd < 0 && !std::filesystem::exists(data_dir, ec)) return out;
  ASSIGN_OR_RETURN(OpenJournalFiles files,
                   OpenJournalFiles::Open(data_dir, 0, UINT64_MAX, active_fd));
  // Most lines are about other subjects: a substring test before the parse.
  JsonWriter quoted;
  quoted.String(subject);
  const std::string needle = quoted.str();
  simdjson::dom::parser parser;
  for (const OpenJournalFile& f : files.files()) {
    JournalLineReader reader(f.fd, 0);
    std::string_view line;
    int64_t start = 0;
    for (;;) {
      ASSIGN_OR_RETURN(bool more, reader.Next(&line, &start));
      if (!more) break;
      if (line.find(needle) == std::string_view::npos) continue;
      simdjson::dom::element e;
      if (parser.parse(line.data(), line.size()).get(e)) continue;
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
  }
  return out;
}

}  // namespace relais::server
