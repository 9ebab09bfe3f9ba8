// The access journal (issue #4 §4): every read of a household's or dwelling's
// data, allowed or refused, kept apart from the case log in
// DIR/access-journal.ndjson, one JSON object a line:
//   {"at", "token", "role", "subject", "endpoint", "allowed", "org"}
// (`org` since the household's file, which names the organisation of each
// reader: the caller's association, or its territory, or "-"; older lines
// have none and read as "-").
//
// It fails closed: a read is answered only once its entry is written, and
// Record() errors make the server answer 503 instead of the data.
//
// Durability: Record() writes the whole line to the file (O_APPEND) before
// the response leaves, so a crash of the server loses nothing; a background
// thread fdatasyncs at most every 100 ms, so a power loss may lose the last
// 100 ms of entries. A write that fails part-way is cut back to the last
// whole line; a failed fdatasync (or a cut that fails) latches the journal
// failed — the kernel may have dropped the unsynced pages, so retrying would
// claim durability we do not have (PostgreSQL's "fsyncgate") — and every
// later Record() fails until the server is restarted. Open() repairs a torn
// tail left by a crash (truncates to the last whole line, fsyncs) and fsyncs
// the directory when it creates the file.
//
// Rotation (server/journal_files.h for the names): the active file is
// rotated once it would pass `max_bytes`, or once its first entry is a
// rotation interval old (daily), and rotated files older than `max_age` are
// deleted (defaults: CNIL's recommendation for access logs, 6 months to a
// year; docs/decisions.md). A rotation fdatasyncs the active file, renames
// it, creates the new one and fsyncs the directory, all under the journal's
// lock: the journal is the only writer of its files, Record() never writes
// into a file being renamed, and a crash at any step leaves every entry in
// exactly one file. A failed rename leaves the active file growing (logged,
// tried again kJournalRotateRetryMicros later);
// a rename done but a new file not created latches the journal failed.
//
// Threads: Record() and the queries from any thread; one background thread
// fdatasyncs and rotates by age. `mu_` guards the fd, the sizes, the seq.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "relais/engine.h"
#include "relais/status.h"
#include "relais/types.h"
#include "server/server_log.h"

namespace relais::server {

inline constexpr size_t kJournalQueryEntriesMax = 10000;  // `limit` of one page, at most
inline constexpr size_t kJournalQueryEntriesDefault = 1000;
// Bytes of journal one page reads at most: past it, the page ends early
// with a `next` cursor (a filter that matches little cannot make one request
// read the whole year).
inline constexpr int64_t kJournalPageScanBytesMax = 64 << 20;

inline constexpr int64_t kJournalMaxBytesDefault = 64 << 20;      // rotate at 64 MiB
inline constexpr int64_t kJournalMaxBytesMin = 1 << 10;
inline constexpr int64_t kJournalMaxAgeDaysDefault = 365;         // keep a year
inline constexpr int64_t kJournalMaxAgeDaysMax = 3650;
inline constexpr int64_t kJournalRotateIntervalMicros = 86400LL * 1000000;  // daily
// After a failed rename, the next rotation attempt waits this long: each
// attempt fdatasyncs under the lock, and must not be paid by every entry.
inline constexpr int64_t kJournalRotateRetryMicros = 60LL * 1000000;

struct JournalLimits {
  int64_t max_bytes = kJournalMaxBytesDefault;
  int64_t max_age_days = kJournalMaxAgeDaysDefault;
};

struct AccessEntry {
  Timestamp at;
  std::string token, role, subject, endpoint;
  bool allowed = false;
  std::string org = "-";
};

// The entries of the journal of `data_dir` about `subject` (exact match), in
// order, across the rotated files and the active one: what the household's
// file lists (lifecycle.md §3). Reads the files without the journal object,
// so that `relais file` can list them while a server appends and rotates
// (journal_files.h; a line being written is skipped). A data directory
// without a journal has no entries. Memory: the matching entries.
Result<std::vector<AccessEntry>> ReadJournalEntries(const std::string& data_dir,
                                                    std::string_view subject);

// A page of GET /v1/audit/access.
struct JournalQuery {
  std::string subject;  // exact match; empty: every subject
  std::optional<Timestamp> from, to;
  size_t limit = kJournalQueryEntriesDefault;
  std::string cursor;  // empty: from the oldest file
  int64_t scan_bytes_max = kJournalPageScanBytesMax;
};

// Test hooks: the system calls the journal makes, so that tests can make
// them fail (a short write, ENOSPC, EIO on fdatasync).
struct JournalIo {
  ssize_t (*write)(int fd, const void* buf, size_t n) = nullptr;  // nullptr: ::write
  int (*fdatasync)(int fd) = nullptr;                             // nullptr: ::fdatasync
};

struct JournalOptions {
  JournalLimits limits;
  JournalIo io;
  std::shared_ptr<Clock> clock;  // rotation and deletion by age; nullptr: SystemClock()
  ServerLog* log = nullptr;      // rotations and failures; nullptr: stderr
};

class AccessJournal {
 public:
  static Result<std::unique_ptr<AccessJournal>> Open(const std::string& data_dir,
                                                     JournalOptions options = {});
  ~AccessJournal();

  Status Record(const AccessEntry& e);
  // One page of the entries matching `q`, in order, across the rotated files
  // and the active one: {"entries":[...],"truncated":bool,"next":cursor|null}
  // (`truncated` is `next` != null). InvalidArgument for a cursor that is not
  // a position of this journal.
  Result<std::string> QueryJson(const JournalQuery& q);
  // Bytes of the active file, and of every file.
  int64_t bytes() const { return bytes_.load(); }
  int64_t total_bytes() const { return bytes_.load() + rotated_bytes_.load(); }
  int64_t rotations() const { return rotations_.load(); }
  // While a hold lives the journal's files keep their names: no rotation,
  // no deletion (the active file may pass its size cap meanwhile). A backup
  // holds it while it lists and copies the directory, so that a rotation
  // cannot rename the active file between the two and leave its entries out.
  class RotationHold {
   public:
    explicit RotationHold(AccessJournal* j) : j_(j) {}
    RotationHold(RotationHold&& o) noexcept : j_(o.j_) { o.j_ = nullptr; }
    RotationHold(const RotationHold&) = delete;
    RotationHold& operator=(const RotationHold&) = delete;
    RotationHold& operator=(RotationHold&&) = delete;
    ~RotationHold();

   private:
    AccessJournal* j_;
  };
  [[nodiscard]] RotationHold HoldRotation();
  // Forces the pending fdatasync now (tests; Close).
  Status Sync();
  // Rotates now if the active file is due by age, and deletes expired files
  // (the background thread does it every minute; tests call it after moving
  // their clock).
  Status MaintainForTest();
  void SetIoForTest(JournalIo io);

 private:
  AccessJournal(std::string data_dir, int fd, int64_t size, JournalOptions options);
  void SyncLoop();
  Status SyncLocked(std::unique_lock<std::mutex>& lock);
  // Rotates when the active file is due (by size with `incoming` more
  // bytes, or by age), then deletes what expired (after a rotation, or when
  // `incoming` is 0: the maintenance). Under `mu_`.
  Status MaybeRotateLocked(int64_t incoming);
  Status RotateLocked(Timestamp now);
  void PurgeLocked(Timestamp now);
  void Warn(const std::string& message);
  std::string dir_, path_;
  int fd_;
  JournalOptions options_;
  std::atomic<int64_t> bytes_;  // length of the whole lines of the active file
  std::atomic<int64_t> rotated_bytes_{0};
  std::atomic<int64_t> rotations_{0};
  int holds_ = 0;                           // live RotationHolds
  uint64_t active_seq_ = 1;                 // the seq the active file will be given
  std::optional<Timestamp> active_started_;  // when its first entry was written
  std::optional<Timestamp> rotate_retry_at_;  // after a failed rename: no attempt before
  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = false, stop_ = false;
  std::string failed_;  // non-empty: latched failure, every Record() fails
  std::thread syncer_;
};

}  // namespace relais::server
