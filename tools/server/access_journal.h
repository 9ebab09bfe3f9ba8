// The access journal (issue #4 §4): every read of a household's or dwelling's
// data, allowed or refused, kept apart from the case log in
// DIR/access-journal.ndjson, one JSON object a line:
//   {"at", "token", "role", "subject", "endpoint", "allowed"}
//
// Durability: Record() writes the line to the file (O_APPEND) before the
// response leaves, so a crash of the server loses nothing; a background
// thread fdatasyncs at most every 100 ms, so a power loss may lose the last
// 100 ms of entries. Thread-safe.
#pragma once

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
};

class AccessJournal {
 public:
  static Result<std::unique_ptr<AccessJournal>> Open(const std::string& data_dir);
  ~AccessJournal();

  Status Record(const AccessEntry& e);
  // Entries of `subject` (all when empty) with from <= at < to, in order;
  // `*truncated` when more than kJournalQueryEntriesMax matched.
  Result<std::string> QueryJson(const std::string& subject, std::optional<Timestamp> from,
                                std::optional<Timestamp> to);
  int64_t bytes() const { return bytes_.load(); }

 private:
  AccessJournal(std::string path, int fd, int64_t size);
  void SyncLoop();
  std::string path_;
  int fd_;
  std::atomic<int64_t> bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = false, stop_ = false;
  std::thread syncer_;
};

}  // namespace relais::server
