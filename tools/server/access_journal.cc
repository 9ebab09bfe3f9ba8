#include "server/access_journal.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "relais/json_writer.h"

namespace relais::server {

Result<std::unique_ptr<AccessJournal>> AccessJournal::Open(const std::string& data_dir) {
  std::string path = data_dir + "/access-journal.ndjson";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  int64_t size = ::fstat(fd, &st) == 0 ? st.st_size : 0;
  return std::unique_ptr<AccessJournal>(new AccessJournal(path, fd, size));
}

AccessJournal::AccessJournal(std::string path, int fd, int64_t size)
    : path_(std::move(path)), fd_(fd), bytes_(size) {
  syncer_ = std::thread([this] { SyncLoop(); });
}

AccessJournal::~AccessJournal() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  syncer_.join();
  ::fdatasync(fd_);
  ::close(fd_);
}

void AccessJournal::SyncLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100));
    if (dirty_) {
      dirty_ = false;
      lock.unlock();
      ::fdatasync(fd_);
      lock.lock();
    }
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
  w.EndObject();
  std::string line = w.Take();
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mu_);
  // One write() of the whole line under O_APPEND: lines never interleave.
  ssize_t n = ::write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size()))
    return Status::IoError("access journal: write failed: " + std::string(std::strerror(errno)));
  bytes_ += n;
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
    if (parser.parse(line).get(e)) continue;  // a torn last line after a crash
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

}  // namespace relais::server
