// The files of the access journal in a data directory, and the readers over
// them (docs/server.md "Access journal", docs/decisions.md).
//
//   DIR/access-journal.ndjson                         the active file: appended
//   DIR/access-journal.<seq>.<YYYYMMDDTHHMMSSZ>.ndjson a rotated file: never
//                                                      written again, deleted by age
//
// `seq` (six digits or more) numbers the files in order: the active file is
// the one that will be given the next number (AccessJournal::active_seq), so a
// position in the journal, (seq, byte offset of a line), stays valid when
// the active file is rotated (a rename keeps the bytes) — the auditor's
// cursor. The time in a rotated file's name is when it was rotated: no entry
// in it is later (up to clock steps), so the file is deleted once that time
// is older than the age cap.
//
// The readers need no AccessJournal: `relais file` reads the journal of a
// directory that a server may be appending to and rotating. They open the
// active file first, then list the rotated ones and skip the one that is the
// same inode (rotated in between), so that a rotation during the read
// neither hides nor doubles an entry.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/status.h"
#include "relais/types.h"

namespace relais::server {

inline constexpr std::string_view kJournalActiveName = "access-journal.ndjson";

struct RotatedJournal {
  uint64_t seq = 0;
  Timestamp rotated_at;
  std::string path;
  int64_t bytes = 0;
};

std::string RotatedJournalName(uint64_t seq, Timestamp rotated_at);
// The rotated files of `data_dir`, by seq. Other names are ignored.
Result<std::vector<RotatedJournal>> ListRotatedJournals(const std::string& data_dir);

// Whole lines of one open file from `offset` on, in blocks (the file may be
// large, the lines are short). A last line without '\n' (being written) is
// not returned. A line longer than kJournalLineBytesMax (no entry is: a
// damaged file) is skipped whole, so that memory stays bounded. Does not
// own `fd`.
inline constexpr size_t kJournalLineBytesMax = 1 << 20;
class JournalLineReader {
 public:
  JournalLineReader(int fd, int64_t offset) : fd_(fd), pos_(offset) {}
  // The next whole line without its '\n'; `*start` its offset. False at the end.
  Result<bool> Next(std::string_view* line, int64_t* start);
  int64_t offset() const { return pos_; }  // just after the last line returned

 private:
  int fd_;
  int64_t pos_;        // file offset of buf_[head_]
  std::string buf_;    // bytes read, from buf_[head_] on not yet returned
  size_t head_ = 0;
  bool eof_ = false;
  bool skipping_ = false;  // inside an overlong line: drop up to its '\n'
  int64_t skipped_from_ = 0;
};

// A position in the journal: the file's seq and a line's byte offset in it.
struct JournalCursor {
  uint64_t seq = 0;
  int64_t offset = 0;
};
std::string FormatJournalCursor(JournalCursor c);  // "<seq>-<offset>"
std::optional<JournalCursor> ParseJournalCursor(std::string_view text);

// One open file of the journal, in order.
struct OpenJournalFile {
  uint64_t seq = 0;
  int fd = -1;  // owned: closed by ~OpenJournalFiles
};
// The journal's files, open, in seq order: the rotated ones with seq in
// [min_seq, active_seq), then the active one (`active_fd`, taken over). A
// rotated file deleted before it could be opened is left out (its entries
// expired). Closes every fd it holds.
class OpenJournalFiles {
 public:
  static Result<OpenJournalFiles> Open(const std::string& data_dir, uint64_t min_seq,
                                       uint64_t active_seq, int active_fd);
  OpenJournalFiles(OpenJournalFiles&& o) noexcept : files_(std::move(o.files_)) { o.files_.clear(); }
  ~OpenJournalFiles();
  const std::vector<OpenJournalFile>& files() const { return files_; }

 private:
  OpenJournalFiles() = default;
  std::vector<OpenJournalFile> files_;
};

}  // namespace relais::server
