// relais_crash: the crash test driver (issue 8, "What must exist" 1), in the
// spirit of RocksDB's tools/db_crashtest.py.
//
// Each iteration runs a seeded workload (workload.h) against a writer, SIGKILLs
// the writing process at a seeded moment (a number of acknowledged requests,
// never a wall-clock delay), and checks the data directory:
//   verify      `relais verify` passes and counts the head
//   live-verify (http) `GET /v1/verify` passes while the writers run
//   gapless     the streams' histories hold positions 1..head exactly once
//   invented    every logged event is one the workload sent
//   data        with the same type, subject, date and data, personal data
//               included (readable: not missing, not invented)
//   lost        every acknowledged event is at its acknowledged position
//   refused     nothing of a refused (or never sent) request is there
//   atomic      an unacknowledged request is all there or not at all
//   verdict     rule breaks were refused and valid requests accepted
//   replay      the log, exported (history with recordedAt and actor) and
//               re-imported as admin into a new directory, gives the same
//               status for a sample of subjects and the same report
// Writers alternate between `embedded` (crash_writer: the Engine in-process,
// synced and non-synced bulk appends) and `http` (`relais serve`, clients on
// several connections). Iterations accumulate in one data directory (each
// adds new households; the checks cover all of them) and a new directory is
// started every --reset-every iterations to bound the checking time.
//
// Usage: relais_crash [--iterations N] [--seed S] [--mode both|embedded|http]
//                     [--households N] [--reset-every K] [--workdir DIR] [--keep-going]
//                     [--skip CHECK]...   (a check not run, e.g. live-verify)
//                     [--first-iteration I]  (iteration I's workload and kill point)
// stdout: a JSON summary; stderr: a progress line per iteration and failures.
// Exit 0 when every check passed, 1 when one failed, 2 on a usage error.
#include <fcntl.h>
#include <signal.h>
#include <simdjson.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "crash/workload.h"
#include "server/server_harness.h"

extern char** environ;

namespace relais::crash {
namespace {

using testing::Http;
using testing::HttpResult;
using testing::ServerProcess;

// ---- canonical JSON, to compare data "equal as JSON values" (events.md §2)

void Canon(simdjson::dom::element e, std::string* out) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      std::vector<std::pair<std::string, simdjson::dom::element>> fields;
      for (auto f : e.get_object()) fields.emplace_back(std::string(f.key), f.value);
      std::sort(fields.begin(), fields.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out->push_back('{');
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i) out->push_back(',');
        *out += "\"" + fields[i].first + "\":";
        Canon(fields[i].second, out);
      }
      out->push_back('}');
      break;
    }
    case simdjson::dom::element_type::ARRAY: {
      out->push_back('[');
      bool first = true;
      for (auto v : e.get_array()) {
        if (!first) out->push_back(',');
        first = false;
        Canon(v, out);
      }
      out->push_back(']');
      break;
    }
    case simdjson::dom::element_type::STRING:
      // Raw UTF-8 between quotes: both sides are parsed, so escapes are gone.
      *out += "\"" + std::string(e.get_string().value()) + "\"";
      break;
    case simdjson::dom::element_type::INT64:
      *out += std::to_string(e.get_int64().value());
      break;
    case simdjson::dom::element_type::UINT64:
      *out += std::to_string(e.get_uint64().value());
      break;
    case simdjson::dom::element_type::DOUBLE:
      *out += "d" + std::to_string(e.get_double().value());
      break;
    case simdjson::dom::element_type::BOOL:
      *out += e.get_bool().value() ? "true" : "false";
      break;
    case simdjson::dom::element_type::NULL_VALUE:
      *out += "null";
      break;
  }
}

std::string CanonText(const std::string& json) {
  simdjson::dom::parser p;
  simdjson::dom::element e;
  if (p.parse(json).get(e)) return "<unparsable " + json + ">";
  std::string out;
  Canon(e, &out);
  return out;
}

std::string Minify(simdjson::dom::element e) { return simdjson::minify(e); }

// ---- options

struct Config {
  int iterations = 30;
  int first = 0;  // the first iteration's number (--first-iteration: reproduce one)
  uint64_t seed = 0;
  std::string mode = "both";
  int households = 8;
  int reset_every = 10;
  std::string workdir;
  bool keep_going = false;
  std::set<std::string> skip;  // checks not run (--skip live-verify ...)
};

bool ParseArgs(int argc, char** argv, Config* c) {
  std::random_device rd;
  c->seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--keep-going") {
      c->keep_going = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    if (k == "--skip") c->skip.insert(v);
    else if (k == "--iterations") c->iterations = std::atoi(v.c_str());
    else if (k == "--first-iteration") c->first = std::atoi(v.c_str());
    else if (k == "--seed") c->seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--mode") c->mode = v;
    else if (k == "--households") c->households = std::atoi(v.c_str());
    else if (k == "--reset-every") c->reset_every = std::atoi(v.c_str());
    else if (k == "--workdir") c->workdir = v;
    else return false;
  }
  return c->iterations >= 1 && c->iterations <= 1000000 && c->first >= 0 &&
         c->first <= 1000000 && c->households >= 1 &&
         c->households <= kHouseholdsMax && c->reset_every >= 1 &&
         (c->mode == "both" || c->mode == "embedded" || c->mode == "http");
}

// ---- what the driver knows

struct Known {
  EventSpec spec;
  int iteration = 0;
  int request = 0;  // index in its iteration's workload
};

// One iteration's outcomes by request index (a resent referral has two).
using Outcomes = std::map<int, std::vector<Outcome>>;

class MemoryRecorder : public Recorder {
 public:
  void Sending(int index) override {
    std::lock_guard<std::mutex> lock(mu_);
    outcomes_[index].push_back(Outcome{Outcome::kSending, {}, {}});
  }
  void Record(int index, const Outcome& o) override {
    std::lock_guard<std::mutex> lock(mu_);
    outcomes_[index].push_back(o);
    if (o.kind != Outcome::kUnknown) ++answered_;
  }
  int answered() {
    std::lock_guard<std::mutex> lock(mu_);
    return answered_;
  }
  Outcomes Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return outcomes_;
  }

 private:
  std::mutex mu_;
  Outcomes outcomes_;
  int answered_ = 0;
};

class HttpSender : public Sender {
 public:
  HttpSender(uint16_t port, std::string token) : port_(port), token_(std::move(token)) {}
  Outcome Send(const Request& r) override {
    HttpResult h = Http(port_, "POST", "/v1/events", r.Body(), token_);
    Outcome o;
    simdjson::dom::parser p;
    simdjson::dom::element e;
    if (h.status == 201 && !p.parse(h.body).get(e)) {
      bool dup = false;
      for (auto res : e["results"].get_array()) {
        int64_t pos = 0;
        if (res["position"].get_int64().get(pos)) continue;
        o.positions.push_back(pos);
        bool d = false;
        if (!res["duplicate"].get_bool().get(d)) dup = d;
      }
      o.kind = dup ? Outcome::kDuplicate : Outcome::kAccepted;
      if (o.positions.size() != r.events.size()) {
        o.kind = Outcome::kUnknown;
        o.code = "201 without a position per event: " + h.body;
      }
    } else if ((h.status == 400 || h.status == 409 || h.status == 422) && !p.parse(h.body).get(e)) {
      std::string_view code;
      o.kind = Outcome::kRefused;
      o.code = e["error"]["code"].get_string().get(code) ? "?" : std::string(code);
    } else {
      o.kind = Outcome::kUnknown;
      o.code = "http " + std::to_string(h.status);
    }
    return o;
  }

 private:
  uint16_t port_;
  std::string token_;
};

// ---- processes

int RunTool(const std::vector<std::string>& args, std::string* out) {
  return testing::RunRelais(args, out);
}

// `relais ARGS...` with stdout to `out_file` and stderr to `err_file` (an
// import's refusals are evidence to keep, not noise for the terminal).
int RunToolToFiles(const std::vector<std::string>& args, const std::string& out_file,
                   const std::string& err_file) {
  std::vector<std::string> full = {RELAIS_BIN};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (const auto& a : full) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

pid_t SpawnWriter(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  return pid;
}

std::string Enc(const std::string& subject) {
  std::string s = subject;
  size_t slash = s.find('/');
  if (slash != std::string::npos) s.replace(slash, 1, "%2F");
  return s;
}

// ---- one epoch: a data directory and what has been settled in it

struct Epoch {
  std::string dir;
  std::string token;
  std::map<std::string, Known> known;         // every event any workload may have sent
  std::map<std::string, int64_t> required;    // id -> acknowledged (or settled) position
  std::set<std::string> forbidden;            // refused, never sent, or settled absent
  std::vector<std::string> subjects;          // every subject written so far
  std::set<std::string> subject_set;
};

struct LoggedEvent {
  int64_t position = 0;
  std::string id, type, subject, date, data_canon, recorded_at, actor, data_raw;
};

class Driver {
 public:
  explicit Driver(Config c) : c_(std::move(c)) {}

  int Run();

 private:
  bool NewEpoch();
  // Returns the failures of iteration `it` (empty: passed).
  std::vector<std::string> Iterate(int it, const std::string& mode, std::string* line);
  bool RunEmbedded(int it, int kill_after, Outcomes* out, std::string* fail);
  bool RunHttp(int it, int kill_after, Outcomes* out, std::string* fail,
               std::vector<std::string>* live);
  void Check(int it, const Workload& w, const Outcomes& outcomes, std::vector<std::string>* f,
             int64_t* head);
  void Replay(int it, const std::map<int64_t, LoggedEvent>& log, int64_t head,
              uint16_t port, std::vector<std::string>* f);

  Config c_;
  std::mt19937_64 rng_;  // reseeded per iteration from (seed, iteration)
  Epoch epoch_;
  int epoch_number_ = 0;
  std::map<std::string, int> failed_checks_;
};

bool Driver::NewEpoch() {
  epoch_ = Epoch{};
  epoch_.dir = c_.workdir + "/epoch-" + std::to_string(++epoch_number_);
  std::filesystem::create_directories(c_.workdir);
  epoch_.token = testing::AddToken(epoch_.dir, "crash-admin", "admin");
  return !epoch_.token.empty();
}

bool Driver::RunEmbedded(int it, int kill_after, Outcomes* out, std::string* fail) {
  const std::string journal = epoch_.dir + ".journal-" + std::to_string(it);
  std::filesystem::remove(journal);
  pid_t pid = SpawnWriter({CRASH_WRITER_BIN, "--data", epoch_.dir, "--journal", journal, "--seed",
                           std::to_string(c_.seed), "--iteration", std::to_string(it),
                           "--households", std::to_string(c_.households)});
  if (pid < 0) {
    *fail = "spawn: cannot start " CRASH_WRITER_BIN;
    return false;
  }
  // Watch the journal: kill once `kill_after` outcomes are in, or at once.
  int status = 0;
  bool exited = false;
  std::string text;
  size_t outcome_lines = 0;
  std::string pending;
  int fd = -1;
  while (kill_after > 0) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    if (fd < 0) fd = ::open(journal.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[65536];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) pending.append(buf, static_cast<size_t>(n));
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        int index;
        Outcome o;
        if (ParseJournalLine(pending.substr(0, nl), &index, &o) && o.kind != Outcome::kSending &&
            o.kind != Outcome::kUnknown)
          ++outcome_lines;
        pending.erase(0, nl + 1);
      }
    }
    if (outcome_lines >= static_cast<size_t>(kill_after)) break;
    std::this_thread::sleep_for(std::chrono::microseconds(300));
  }
  if (fd >= 0) ::close(fd);
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *fail = "writer: crash_writer ended by itself with status " + std::to_string(status);
    return false;
  }
  std::ifstream in(journal);
  std::string line;
  std::stringstream all;
  all << in.rdbuf();
  text = all.str();
  size_t pos = 0;
  while (true) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // an unterminated tail is not an outcome
    line = text.substr(pos, nl - pos);
    pos = nl + 1;
    int index;
    Outcome o;
    if (ParseJournalLine(line, &index, &o)) (*out)[index].push_back(o);
  }
  std::filesystem::remove(journal);
  return true;
}

bool Driver::RunHttp(int it, int kill_after, Outcomes* out, std::string* fail,
                     std::vector<std::string>* live) {
  ServerProcess server(epoch_.dir);
  if (!server.Start()) {
    *fail = "restart: relais serve did not start on " + epoch_.dir;
    return false;
  }
  Workload w = MakeWorkload(c_.seed, it, c_.households);
  HttpSender sender(server.port(), epoch_.token);
  MemoryRecorder recorder;
  std::atomic<bool> done{false};
  std::thread runner([&] {
    RunWorkload(w, &sender, &recorder);
    done = true;
  });
  // `GET /v1/verify` while the writers run must pass too: a live log is a
  // healthy log (issue 8, defect 5). Paced by its own answers, not by a clock.
  std::atomic<bool> stop_verify{false};
  std::thread verifier([&] {
    if (c_.skip.count("live-verify")) return;
    while (!stop_verify) {
      HttpResult h = Http(server.port(), "GET", "/v1/verify", "", epoch_.token);
      if (h.status == 0) return;  // killed
      if (h.status != 200 || h.body.find("\"ok\":true") == std::string::npos) {
        live->push_back("live-verify: GET /v1/verify with writers running answered " +
                        std::to_string(h.status) + " " + h.body.substr(0, 300));
        return;
      }
      // Leave the writers most of the CPU (2 cores shared): pacing, not a gate.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  while (!done && recorder.answered() < kill_after)
    std::this_thread::sleep_for(std::chrono::microseconds(300));
  server.Kill();
  stop_verify = true;
  runner.join();
  verifier.join();
  *out = recorder.Take();
  return true;
}

std::vector<std::string> Driver::Iterate(int it, const std::string& mode, std::string* line) {
  std::vector<std::string> f;
  // The kill point and the replay's sample depend on (seed, iteration) only,
  // so --seed S --first-iteration I reproduces iteration I's.
  rng_.seed(c_.seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(it));
  Workload w = MakeWorkload(c_.seed, it, c_.households);
  for (const auto& r : w.requests)
    for (const auto& e : r.events) epoch_.known[e.id] = Known{e, it, r.index};
  for (const auto& s : w.subjects)
    if (epoch_.subject_set.insert(s).second) epoch_.subjects.push_back(s);
  // The kill moment: a number of answered requests; sometimes 0 (during open).
  const int total = static_cast<int>(w.requests.size());
  std::uniform_int_distribution<int> pick(0, 9);
  const int kill_after =
      pick(rng_) == 0 ? 0 : std::uniform_int_distribution<int>(1, total + total / 4)(rng_);
  Outcomes outcomes;
  std::string fail;
  std::vector<std::string> live;
  bool ran = mode == "embedded" ? RunEmbedded(it, kill_after, &outcomes, &fail)
                                : RunHttp(it, kill_after, &outcomes, &fail, &live);
  for (const auto& l : live) {
    ++failed_checks_["live-verify"];
    f.push_back(l);
  }
  if (!ran) {
    f.push_back(fail);
    return f;
  }
  int answered = 0;
  for (const auto& [i, os] : outcomes)
    for (const auto& o : os) answered += o.kind != Outcome::kUnknown && o.kind != Outcome::kSending;
  int64_t head = 0;
  Check(it, w, outcomes, &f, &head);
  char buf[256];
  std::snprintf(buf, sizeof buf, "mode=%s kill_after=%d answered=%d/%d head=%lld", mode.c_str(),
                kill_after, answered, total, static_cast<long long>(head));
  *line = buf;
  return f;
}

void Driver::Check(int it, const Workload& w, const Outcomes& outcomes,
                   std::vector<std::string>* f, int64_t* head_out) {
  auto fail = [&](const std::string& check, const std::string& what) {
    if (c_.skip.count(check)) return;
    ++failed_checks_[check];
    f->push_back(check + ": " + what);
  };
  // 1. What each request of this iteration must look like in the log.
  std::vector<std::vector<std::string>> groups;  // unacknowledged: all or nothing
  for (const auto& r : w.requests) {
    auto it_o = outcomes.find(r.index);
    const Outcome* acked = nullptr;
    bool unknown = false;
    std::string refused_code;
    if (it_o != outcomes.end()) {
      // Each "sending" is answered by the next entry, if any; one left
      // unanswered (the process died) or answered kUnknown may be in the log.
      int open = 0;
      for (const auto& o : it_o->second) {
        if (o.kind == Outcome::kSending) {
          ++open;
          continue;
        }
        open = std::max(0, open - 1);
        if (o.kind == Outcome::kAccepted || o.kind == Outcome::kDuplicate) acked = &o;
        if (o.kind == Outcome::kUnknown) unknown = true;
        if (o.kind == Outcome::kRefused) refused_code = o.code;
      }
      if (open > 0) unknown = true;
    }
    if (acked) {
      if (r.expect == Expect::kRefuse)
        fail("verdict", "request " + std::to_string(r.index) + " breaks a rule and was accepted: " +
                            r.Body());
      for (size_t i = 0; i < r.events.size(); ++i)
        epoch_.required[r.events[i].id] = acked->positions.at(i);
      if (r.batch) {
        for (size_t i = 1; i < acked->positions.size(); ++i)
          if (acked->positions[i] != acked->positions[i - 1] + 1)
            fail("atomic", "batch " + std::to_string(r.index) + " acknowledged at non-consecutive positions");
      }
    } else if (unknown) {
      std::vector<std::string> ids;
      for (const auto& e : r.events) ids.push_back(e.id);
      groups.push_back(ids);
    } else {
      if (!refused_code.empty() && r.expect == Expect::kAccept)
        fail("verdict", "request " + std::to_string(r.index) + " refused (" + refused_code +
                            "): " + r.Body());
      for (const auto& e : r.events) epoch_.forbidden.insert(e.id);
    }
  }

  // 2. verify, on the directory the writer left (no process holds it now).
  std::string out;
  int rc = RunTool({"--data", epoch_.dir, "verify"}, &out);
  int64_t head = -1;
  {
    simdjson::dom::parser p;
    simdjson::dom::element e;
    bool ok = false;
    if (rc == 5 && epoch_.required.empty()) {
      // Killed during the directory's first open: RocksDB never finished
      // creating the log, and nothing was ever acknowledged. "Not a relais
      // data directory" is then the truth; the server below must still start.
      head = 0;
    } else if (rc != 0 || p.parse(out).get(e) || e["ok"].get_bool().get(ok) || !ok ||
               e["events"].get_int64().get(head)) {
      fail("verify", "relais verify exit " + std::to_string(rc) + ": " + out);
    }
  }
  *head_out = head;

  // 3. Every stream's history, as admin, from a restarted server.
  ServerProcess server(epoch_.dir);
  if (!server.Start()) {
    fail("restart", "relais serve did not start after the kill");
    return;
  }
  std::map<int64_t, LoggedEvent> log;
  for (const auto& subject : epoch_.subjects) {
    HttpResult h = Http(server.port(), "GET", "/v1/streams/" + Enc(subject) + "/events", "",
                        epoch_.token);
    if (h.status == 404) continue;  // a stream with no event
    simdjson::dom::parser p;
    simdjson::dom::element e;
    if (h.status != 200 || p.parse(h.body).get(e)) {
      fail("history", subject + ": " + std::to_string(h.status) + " " + h.body.substr(0, 300));
      continue;
    }
    for (auto ev : e["events"].get_array()) {
      LoggedEvent l;
      std::string_view sv;
      if (ev["position"].get_int64().get(l.position)) continue;
      if (!ev["id"].get_string().get(sv)) l.id = sv;
      if (!ev["type"].get_string().get(sv)) l.type = sv;
      if (!ev["subject"].get_string().get(sv)) l.subject = sv;
      if (!ev["effectiveDate"].get_string().get(sv)) l.date = sv;
      if (!ev["recordedAt"].get_string().get(sv)) l.recorded_at = sv;
      simdjson::dom::element x;
      if (!ev["actor"].get(x)) l.actor = Minify(x);
      if (!ev["data"].get(x)) {
        l.data_raw = Minify(x);
        Canon(x, &l.data_canon);
      }
      if (log.count(l.position))
        fail("gapless", "position " + std::to_string(l.position) + " appears twice (" +
                            log[l.position].id + ", " + l.id + ")");
      log[l.position] = std::move(l);
    }
  }

  // 4. Gapless 1..head, and nothing outside the streams the workloads wrote.
  if (head >= 0 && static_cast<int64_t>(log.size()) != head)
    fail("gapless", "the histories hold " + std::to_string(log.size()) + " events, verify counts " +
                        std::to_string(head));
  int64_t expect_pos = 1;
  for (const auto& [pos, l] : log) {
    if (pos != expect_pos) {
      fail("gapless", "position " + std::to_string(expect_pos) + " missing (next is " +
                          std::to_string(pos) + ")");
      break;
    }
    ++expect_pos;
  }

  // 5. Each logged event against the workload that sent it.
  std::map<std::string, int64_t> where;
  int shown = 0;
  for (const auto& [pos, l] : log) {
    where[l.id] = pos;
    auto k = epoch_.known.find(l.id);
    if (k == epoch_.known.end()) {
      fail("invented", "position " + std::to_string(pos) + " holds an event no writer sent: " + l.id);
      continue;
    }
    const EventSpec& s = k->second.spec;
    const std::string want = CanonText(s.data);
    if (l.type != s.type || l.subject != s.subject || l.date != s.date || l.data_canon != want) {
      // Personal data unreadable (its key lost) or invented shows here.
      if (shown++ < 5)
        fail("data", "position " + std::to_string(pos) + " (" + s.type + " " + s.subject +
                         ", iteration " + std::to_string(k->second.iteration) + ", request " +
                         std::to_string(k->second.request) +
                         ") differs from what was sent:\n    sent   " + s.type + " " + want +
                         "\n    logged " + l.type + " " + l.data_canon);
      else
        ++failed_checks_["data"];
    }
    if (epoch_.forbidden.count(l.id))
      fail("refused", "position " + std::to_string(pos) + " holds " + l.id + " (" + s.type + " " +
                          s.subject + ") of a request that was refused or never sent");
  }
  for (const auto& [id, pos] : epoch_.required) {
    auto at = where.find(id);
    if (at == where.end() || at->second != pos) {
      const Known& k = epoch_.known[id];
      fail("lost", "acknowledged " + k.spec.type + " " + k.spec.subject + " (iteration " +
                       std::to_string(k.iteration) + ", request " + std::to_string(k.request) +
                       ") at position " + std::to_string(pos) + " is " +
                       (at == where.end() ? "missing" : "at " + std::to_string(at->second)));
    }
  }
  // 6. Unacknowledged requests: all or nothing, then settled for later iterations.
  for (const auto& ids : groups) {
    size_t present = 0;
    for (const auto& id : ids) present += where.count(id);
    if (present != 0 && present != ids.size())
      fail("atomic", std::to_string(present) + " of the " + std::to_string(ids.size()) +
                         " events of an unacknowledged batch are there (first " + ids[0] + ")");
    for (const auto& id : ids) {
      if (where.count(id)) {
        epoch_.required[id] = where[id];
      } else {
        epoch_.forbidden.insert(id);
      }
    }
  }
  if (head >= 0) Replay(it, log, head, server.port(), f);
  server.Kill();  // one more crash, idle this time: the next iteration recovers from it
}

// The replay: what a fresh process makes of the same events, re-judged by the
// rules and re-sealed under new keys. A cold restart alone would read the same
// stored projections inputs (and the same keys) and so could not disagree with
// itself; re-importing the exported history checks that the log, as it
// survived the crash, is a valid history whose status and report do not depend
// on the crashed process's caches.
void Driver::Replay(int it, const std::map<int64_t, LoggedEvent>& log, int64_t head,
                    uint16_t port, std::vector<std::string>* f) {
  auto fail = [&](const std::string& check, const std::string& what) {
    if (c_.skip.count(check)) return;
    ++failed_checks_[check];
    f->push_back(check + ": " + what);
  };
  const std::string dir = epoch_.dir + ".replay";
  const std::string file = dir + ".ndjson";
  std::filesystem::remove_all(dir);
  {
    // Consecutive events of one request form one atomic line again.
    std::ofstream o(file, std::ios::binary | std::ios::trunc);
    std::string open_key;
    bool first_line = true;
    for (const auto& [pos, l] : log) {
      auto k = epoch_.known.find(l.id);
      std::string key = k == epoch_.known.end()
                            ? l.id
                            : std::to_string(k->second.iteration) + "/" + std::to_string(k->second.request);
      std::string ev = "{\"id\":\"" + l.id + "\",\"type\":\"" + l.type + "\",\"subject\":\"" +
                       l.subject + "\",\"effectiveDate\":\"" + l.date + "\",\"recordedAt\":\"" +
                       l.recorded_at + "\",\"actor\":" + l.actor + ",\"data\":" + l.data_raw + "}";
      if (key == open_key) {
        o << "," << ev;
      } else {
        if (!first_line) o << "]\n";
        o << "[" << ev;
        open_key = key;
        first_line = false;
      }
    }
    if (!first_line) o << "]\n";
  }
  int rc = RunToolToFiles({"--data", dir, "import", file}, file + ".out", file + ".err");
  const std::string out = ReadFile(file + ".out");
  simdjson::dom::parser p;
  simdjson::dom::element e;
  int64_t last = -1, events = -1;
  if (rc != 0 || p.parse(out).get(e) || e["lastPosition"].get_int64().get(last) ||
      e["events"].get_int64().get(events) || last != head || events != head) {
    const std::string err = ReadFile(file + ".err");
    fail("replay", "re-importing the exported log: exit " + std::to_string(rc) + " " + out +
                       "    (want " + std::to_string(head) + " events; " + file +
                       "); first refusal: " + err.substr(0, err.find('\n')));
    return;
  }
  std::string token = testing::AddToken(dir, "replay-admin", "admin");
  ServerProcess replay(dir);
  if (token.empty() || !replay.Start()) {
    fail("replay", "cannot serve the replayed directory " + dir);
    return;
  }
  // A seeded sample of subjects, then the report.
  std::vector<std::string> sample = epoch_.subjects;
  std::shuffle(sample.begin(), sample.end(), rng_);
  sample.resize(std::min<size_t>(sample.size(), 16));
  for (const auto& s : sample) {
    std::string target = "/v1/streams/" + Enc(s) + "/status?asOf=2024-12-31";
    HttpResult a = Http(port, "GET", target, "", epoch_.token);
    HttpResult b = Http(replay.port(), "GET", target, "", token);
    if (a.status != b.status || a.body != b.body)
      fail("replay", "status of " + s + " differs:\n    log    " + std::to_string(a.status) + " " +
                         a.body + "\n    replay " + std::to_string(b.status) + " " + b.body);
  }
  // The report names the chain head; the chain covers the sealed personal
  // data, re-sealed under new keys by the replay, so only that field differs;
  // and its signed checkpoint, signed by each directory's own key (a note
  // holds no '"').
  auto strip = [](std::string s) {
    for (std::string key : {"\"logHash\":\"", "\"checkpoint\":\""}) {
      size_t k = s.find(key);
      if (k == std::string::npos) continue;
      size_t end = s.find('"', k + key.size());
      if (end != std::string::npos) s.erase(k, end + 1 - k);
    }
    return s;
  };
  for (const char* as_of : {"2024-06-30", "2024-12-31"}) {
    std::string target = std::string("/v1/reports/indicators?asOf=") + as_of;
    HttpResult a = Http(port, "GET", target, "", epoch_.token);
    HttpResult b = Http(replay.port(), "GET", target, "", token);
    const std::string x = strip(CanonText(a.body)), y = strip(CanonText(b.body));
    if (a.status != 200 || b.status != 200 || x != y) {
      size_t d = 0;
      while (d < x.size() && d < y.size() && x[d] == y[d]) ++d;
      const size_t from = d > 300 ? d - 300 : 0;
      fail("replay", std::string("report as of ") + as_of + " differs at byte " +
                         std::to_string(d) + ":\n    log    " + std::to_string(a.status) + " ..." +
                         x.substr(from, 400) + "\n    replay " + std::to_string(b.status) + " ..." +
                         y.substr(from, 400));
    }
  }
  replay.Kill();
  if (f->empty()) {
    std::filesystem::remove_all(dir);
    for (const char* ext : {"", ".out", ".err"}) std::filesystem::remove(file + ext);
  }
  (void)it;
}

int Driver::Run() {
  if (c_.workdir.empty()) {
    char tmpl[] = "/tmp/relais-crash-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      std::perror("mkdtemp");
      return 1;
    }
    c_.workdir = tmpl;
  }
  std::fprintf(stderr, "relais_crash: seed %llu, %d iterations, mode %s, %d households, in %s\n",
               static_cast<unsigned long long>(c_.seed), c_.iterations, c_.mode.c_str(),
               c_.households, c_.workdir.c_str());
  int failed = 0, done = 0, in_epoch = 0;
  std::vector<std::string> first_failures;
  bool need_epoch = true;
  for (int it = c_.first; it < c_.first + c_.iterations; ++it) {
    if (need_epoch || in_epoch == c_.reset_every) {
      if (!need_epoch && failed == 0) std::filesystem::remove_all(epoch_.dir);
      if (!NewEpoch()) {
        std::fprintf(stderr, "relais_crash: cannot create an admin token in %s\n",
                     epoch_.dir.c_str());
        return 1;
      }
      need_epoch = false;
      in_epoch = 0;
    }
    ++in_epoch;
    const std::string mode =
        c_.mode != "both" ? c_.mode : (it % 2 == 0 ? std::string("embedded") : std::string("http"));
    auto start = std::chrono::steady_clock::now();
    std::string line;
    std::vector<std::string> f = Iterate(it, mode, &line);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++done;
    std::fprintf(stderr, "iteration %d (%d/%d) %s %s (%.1f s)\n", it, done, c_.iterations,
                 line.c_str(),
                 f.empty() ? "ok" : "FAILED", secs);
    if (!f.empty()) {
      ++failed;
      for (const auto& msg : f) {
        std::fprintf(stderr, "  FAIL seed=%llu iteration=%d mode=%s %s\n",
                     static_cast<unsigned long long>(c_.seed), it, mode.c_str(), msg.c_str());
        if (first_failures.size() < 20)
          first_failures.push_back("iteration " + std::to_string(it) + " " + mode + " " +
                                   msg.substr(0, msg.find('\n')));
      }
      std::fprintf(stderr, "  data kept in %s\n", epoch_.dir.c_str());
      if (!c_.keep_going) break;
      need_epoch = true;  // the directory's state is no longer known: start afresh
    }
  }
  if (failed == 0) std::filesystem::remove_all(c_.workdir);
  // The summary, for programs.
  std::string s = "{\"seed\":" + std::to_string(c_.seed) + ",\"iterations\":" +
                  std::to_string(done) + ",\"failedIterations\":" + std::to_string(failed) +
                  ",\"failedChecks\":{";
  bool first = true;
  for (const auto& [k, v] : failed_checks_) {
    s += std::string(first ? "" : ",") + "\"" + k + "\":" + std::to_string(v);
    first = false;
  }
  s += "},\"firstFailures\":[";
  for (size_t i = 0; i < first_failures.size(); ++i) {
    std::string m;
    for (char ch : first_failures[i]) {
      if (ch == '"' || ch == '\\') m.push_back('\\');
      m.push_back(ch);
    }
    s += std::string(i ? "," : "") + "\"" + m + "\"";
  }
  s += "],\"workdir\":\"" + (failed ? c_.workdir : std::string()) + "\"}";
  std::printf("%s\n", s.c_str());
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace relais::crash

int main(int argc, char** argv) {
  relais::crash::Config c;
  if (!relais::crash::ParseArgs(argc, argv, &c)) {
    std::fprintf(stderr,
                 "usage: relais_crash [--iterations N] [--seed S] [--mode both|embedded|http]\n"
                 "                    [--households N (1..%d)] [--reset-every K] [--workdir DIR]\n"
                 "                    [--keep-going] [--skip CHECK]... [--first-iteration I]\n",
                 relais::crash::kHouseholdsMax);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  return relais::crash::Driver(std::move(c)).Run();
}
