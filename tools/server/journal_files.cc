#include "server/journal_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace relais::server {

namespace {

constexpr size_t kReadBlockBytes = 256 << 10;
constexpr std::string_view kRotatedPrefix = "access-journal.";
constexpr std::string_view kRotatedSuffix = ".ndjson";

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<uint64_t> ParseUint(std::string_view s) {
  if (!AllDigits(s) || s.size() > 18) return std::nullopt;
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// "YYYYMMDDTHHMMSSZ" <-> a Timestamp (whole seconds).
std::string CompactTime(Timestamp t) {
  std::string f = FormatTimestamp(t);  // YYYY-MM-DDTHH:MM:SS.ffffffZ
  return f.substr(0, 4) + f.substr(5, 2) + f.substr(8, 2) + "T" + f.substr(11, 2) +
         f.substr(14, 2) + f.substr(17, 2) + "Z";
}

std::optional<Timestamp> ParseCompactTime(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z' || !AllDigits(s.substr(0, 8)) ||
      !AllDigits(s.substr(9, 6)))
    return std::nullopt;
  std::string text = std::string(s.substr(0, 4)) + "-" + std::string(s.substr(4, 2)) + "-" +
                     std::string(s.substr(6, 2)) + "T" + std::string(s.substr(9, 2)) + ":" +
                     std::string(s.substr(11, 2)) + ":" + std::string(s.substr(13, 2)) + "Z";
  return ParseTimestamp(text);
}

}  // namespace

std::string RotatedJournalName(uint64_t seq, Timestamp rotated_at) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%06llu", static_cast<unsigned long long>(seq));
  return std::string(kRotatedPrefix) + digits + "." + CompactTime(rotated_at) +
         std::string(kRotatedSuffix);
}

Result<std::vector<RotatedJournal>> ListRotatedJournals(const std::string& data_dir) {
  std::vector<RotatedJournal> out;
  DIR* d = ::opendir(data_dir.c_str());
  if (!d) return Status::IoError("cannot list " + data_dir + ": " + std::strerror(errno));
  while (dirent* ent = ::readdir(d)) {
    std::string_view name = ent->d_name;
    if (!name.starts_with(kRotatedPrefix) || !name.ends_with(kRotatedSuffix)) continue;
    std::string_view mid =
        name.substr(kRotatedPrefix.size(), name.size() - kRotatedPrefix.size() - kRotatedSuffix.size());
    size_t dot = mid.find('.');
    if (dot == std::string_view::npos) continue;  // the active file has no middle
    auto seq = ParseUint(mid.substr(0, dot));
    auto at = ParseCompactTime(mid.substr(dot + 1));
    if (!seq || !at) continue;
    RotatedJournal r;
    r.seq = *seq;
    r.rotated_at = *at;
    r.path = data_dir + "/" + std::string(name);
    struct stat st;
    if (::stat(r.path.c_str(), &st) == 0) r.bytes = st.st_size;
    out.push_back(std::move(r));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const RotatedJournal& a, const RotatedJournal& b) { return a.seq < b.seq; });
  return out;
}

Result<bool> JournalLineReader::Next(std::string_view* line, int64_t* start) {
  for (;;) {
    size_t nl = buf_.find('\n', head_);
    if (nl != std::string::npos && skipping_) {
      pos_ += static_cast<int64_t>(nl - head_ + 1);
      head_ = nl + 1;
      skipping_ = false;
      continue;
    }
    if (nl != std::string::npos) {
      *line = std::string_view(buf_).substr(head_, nl - head_);
      *start = pos_;
      pos_ += static_cast<int64_t>(nl - head_ + 1);
      head_ = nl + 1;
      return true;
    }
    if (eof_) {
      if (skipping_) pos_ = skipped_from_;  // an unfinished overlong tail: not consumed
      return false;
    }
    if (buf_.size() - head_ > kJournalLineBytesMax) {
      if (!skipping_) skipped_from_ = pos_;
      skipping_ = true;  // drop what is buffered; the line's end comes later
      pos_ += static_cast<int64_t>(buf_.size() - head_);
      head_ = buf_.size();
    }
    // Keep the partial line, read the next block after it.
    buf_.erase(0, head_);
    head_ = 0;
    size_t have = buf_.size();
    buf_.resize(have + kReadBlockBytes);
    ssize_t n;
    do {
      n = ::pread(fd_, buf_.data() + have, kReadBlockBytes, pos_ + static_cast<int64_t>(have));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return Status::IoError(std::string("cannot read the access journal: ") + std::strerror(errno));
    buf_.resize(have + static_cast<size_t>(n));
    if (n == 0) eof_ = true;
  }
}

std::string FormatJournalCursor(JournalCursor c) {
  return std::to_string(c.seq) + "-" + std::to_string(c.offset);
}

std::optional<JournalCursor> ParseJournalCursor(std::string_view text) {
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto seq = ParseUint(text.substr(0, dash));
  auto off = ParseUint(text.substr(dash + 1));
  if (!seq || !off) return std::nullopt;
  return JournalCursor{*seq, static_cast<int64_t>(*off)};
}

Result<OpenJournalFiles> OpenJournalFiles::Open(const std::string& data_dir, uint64_t min_seq,
                                                uint64_t active_seq, int active_fd) {
  OpenJournalFiles out;
  struct stat active_st {};
  bool have_active = active_fd >= 0 && ::fstat(active_fd, &active_st) == 0;
  auto rotated = ListRotatedJournals(data_dir);
  if (!rotated.ok()) {
    if (active_fd >= 0) ::close(active_fd);
    return rotated.status();
  }
  for (const RotatedJournal& r : *rotated) {
    if (r.seq < min_seq || r.seq >= active_seq) continue;
    int fd = ::open(r.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // deleted by age meanwhile
      if (active_fd >= 0) ::close(active_fd);
      return Status::IoError("cannot open " + r.path + ": " + std::strerror(errno));
    }
    struct stat st;
    if (have_active && ::fstat(fd, &st) == 0 && st.st_ino == active_st.st_ino &&
        st.st_dev == active_st.st_dev) {
      ::close(fd);  // the active file, rotated since it was opened: read once, as active
      continue;
    }
    out.files_.push_back({r.seq, fd});
  }
  if (active_fd >= 0) out.files_.push_back({active_seq, active_fd});
  return out;
}

OpenJournalFiles::~OpenJournalFiles() {
  for (const auto& f : files_) ::close(f.fd);
}

}  // namespace relais::server
