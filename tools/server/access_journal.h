// The access journal (issue #4 §4): every read of a household's or dwelling's
// data, allowed or refused, kept apart from the case log in
// DIR/access-journal.ndjson, one JSON object a line:
//   {"at", "token", "role", "org", "subject", "endpoint", "allowed"}
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
// the directory when it creates the file. Thread-safe.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "relais/status.h"
#include "relais/types.h"

namespace relais::server {

inline constexpr size_t kJournalQueryEntriesMax = 10000;  // entries in one answer

struct AccessEntry {
  Timestamp at;
  std::string token, role, subject, endpoint;
  bool allowed = false;
  std::string org = "-";
};

// The entries of the journal of `data_dir` about `subject` (exact match), in
// order: what the household's file lists (lifecycle.md §3). Reads the file
// without the journal object, so that `relais file` can list them while a
// server appends (a line being written is skipped, as in QueryJson). A data
// directory without a journal has no entries. Memory: the matching entries.
Result<std::vector<AccessEntry>> ReadJournalEntries(const std::string& data_dir,
                                                    std::string_view subject);

// Test hooks: the system calls the journal makes, so that tests can make
// them fail (a short write, ENOSPC, EIO on fdatasync).
struct JournalIo {
  ssize_t (*write)(int fd, const void* buf, size_t n) = nullptr;  // nullptr: ::write
  int (*fdatasync)(int fd) = nullptr;                             // nullptr: ::fdatasync
};

class AccessJournal {
 public:
  static Result<std::unique_ptr<AccessJournal>> Open(const std::string& data_dir,
                                                     JournalIo io = {});
  ~AccessJournal();

  Status Record(const AccessEntry& e);
  // Entries of `subject` (all when empty) with from <= at < to, in order;
  // `*truncated` when more than kJournalQueryEntriesMax matched.
  Result<std::string> QueryJson(const std::string& subject, std::optional<Timestamp> from,
                                std::optional<Timestamp> to);
  int64_t bytes() const { return bytes_.load(); }
  // Forces the pending fdatasync now (tests; Close).
  Status Sync();
  void SetIoForTest(JournalIo io);

 private:
  AccessJournal(std::string path, int fd, int64_t size, JournalIo io);
  void SyncLoop();
  Status SyncLocked(std::unique_lock<std::mutex>& lock);
  std::string path_;
  int fd_;
  std::atomic<int64_t> bytes_;  // length of the whole lines written
  std::mutex mu_;
  std::condition_variable cv_;
  JournalIo io_;
  bool dirty_ = false, stop_ = false;
  std::string failed_;  // non-empty: latched failure, every Record() fails
  std::thread syncer_;
};

}  // namespace relais::server
