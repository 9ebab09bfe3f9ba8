// The embedded writer of the crash test: opens the Engine on a data directory
// and runs the iteration's workload (workload.h) from several threads, synced
// appends for the race pairs and follow-ups, non-synced bulk appends with a
// final Sync. It journals each outcome (one write(2) per line, O_APPEND) to
// --journal *after* the engine answered, so a journal line is an
// acknowledgement; the driver SIGKILLs this process at a moment it picks.
//
//   crash_writer --data DIR --journal FILE --seed S --iteration I --households N
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "crash/workload.h"
#include "relais/engine.h"

namespace relais::crash {
namespace {

Outcome FromEngine(const AppendOutcome& a) {
  Outcome o;
  switch (a.kind) {
    case AppendOutcome::Kind::kAccepted:
    case AppendOutcome::Kind::kDuplicate:
      o.kind = a.kind == AppendOutcome::Kind::kAccepted ? Outcome::kAccepted : Outcome::kDuplicate;
      for (const auto& r : a.results) o.positions.push_back(static_cast<int64_t>(r.position));
      break;
    case AppendOutcome::Kind::kRefused:
      o.kind = Outcome::kRefused;
      o.code = a.refusal.code;
      break;
    case AppendOutcome::Kind::kError:  // the engine failed: it may or may not be there
      o.kind = Outcome::kUnknown;
      o.code = a.error.ToString();
      break;
  }
  return o;
}

class EngineSender : public Sender {
 public:
  explicit EngineSender(Engine* e) : engine_(e) {}
  Outcome Send(const Request& r) override {
    AppendOptions o;
    o.actor = ActorInfo{"crash-writer", "admin", "-"};
    o.sync = true;
    return FromEngine(engine_->Append(r.Body(), o));
  }
  std::vector<Outcome> SendBulk(const std::vector<const Request*>& rs) override {
    std::vector<std::string> bodies;
    for (const Request* r : rs) bodies.push_back(r->Body());
    AppendOptions o;
    o.actor = ActorInfo{"crash-bulk", "admin", "-"};
    o.sync = false;  // acknowledged once written, durable at Sync()
    auto futures = engine_->AppendManyAsync(std::move(bodies), o);
    std::vector<Outcome> out;
    for (auto& f : futures) out.push_back(FromEngine(f.get()));
    return out;
  }
  bool Sync() override { return engine_->Sync().ok(); }

 private:
  Engine* engine_;
};

class FileRecorder : public Recorder {
 public:
  explicit FileRecorder(int fd) : fd_(fd) {}
  void Sending(int index) override { Write(JournalLine(index, Outcome{Outcome::kSending, {}, {}})); }
  void Record(int index, const Outcome& o) override { Write(JournalLine(index, o)); }
  void Synced() override { Write("S\n"); }
  void Write(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu_);
    // One write per line: a SIGKILL cannot tear it (it is in the page cache
    // once write returns); the driver still ignores an unterminated tail.
    if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::abort();
  }

 private:
  std::mutex mu_;
  int fd_;
};

int Main(int argc, char** argv) {
  std::string data, journal;
  uint64_t seed = 0;
  int iteration = 0, households = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--data") data = v;
    else if (k == "--journal") journal = v;
    else if (k == "--seed") seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--iteration") iteration = std::atoi(v.c_str());
    else if (k == "--households") households = std::atoi(v.c_str());
    else {
      std::fprintf(stderr, "crash_writer: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (data.empty() || journal.empty() || households < 1 || households > kHouseholdsMax) {
    std::fprintf(stderr,
                 "usage: crash_writer --data DIR --journal FILE --seed S --iteration I "
                 "--households N (1..%d)\n",
                 kHouseholdsMax);
    return 2;
  }
  int fd = ::open(journal.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror("crash_writer: journal");
    return 1;
  }
  FileRecorder recorder(fd);
  Workload w = MakeWorkload(seed, iteration, households);
  Options opt;
  opt.data_dir = data;
  auto engine = Engine::Open(opt);
  if (!engine.ok()) {
    std::fprintf(stderr, "crash_writer: %s\n", engine.status().ToString().c_str());
    return 1;
  }
  recorder.Write("O\n");
  EngineSender sender(engine->get());
  RunWorkload(w, &sender, &recorder);
  (*engine)->Close();
  recorder.Write("X\n");
  return 0;
}

}  // namespace
}  // namespace relais::crash

int main(int argc, char** argv) { return relais::crash::Main(argc, argv); }
