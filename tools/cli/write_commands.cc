#include "cli/write_commands.h"

#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "backup/backup.h"
#include "backup/holder.h"
#include "cli/cli_common.h"
#include "cli/lifecycle_commands.h"
#include "relais/json_writer.h"
#include "server/commands.h"

namespace relais::cli {

namespace {

int FailTo(const server::CommandOutput& out, const Status& st) {
  out.err("relais: " + st.message() + "\n");
  if (st.code() == StatusCode::kNotFound) return kExitNotFound;
  if (st.code() == StatusCode::kInvalidArgument) return kExitUsage;
  return kExitInternal;
}

void PrintRefusal(int64_t line, const Refusal& r, const server::CommandOutput& out) {
  JsonWriter w;
  w.BeginObject();
  w.Key("line").Int(line);
  w.Key("id");
  if (r.id) {
    w.String(*r.id);
  } else {
    w.Null();
  }
  w.Key("kind").String(r.kind);
  w.Key("code").String(r.code);
  w.Key("message").String(r.message);
  w.EndObject();
  out.err(w.Take() + "\n");
}

// One line of `in` (without its '\n') into *line, its whole length in
// *length; false at the end. At most `max` bytes are kept: the rest of a
// longer line is read and dropped, so a file of one endless line (or a
// control-socket client sending one) costs no more than `max`.
bool ReadLineBounded(std::istream& in, std::string* line, size_t max, uint64_t* length) {
  line->clear();
  *length = 0;
  std::streambuf* sb = in.rdbuf();
  bool any = false;
  for (;;) {
    int c = sb->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      in.setstate(std::ios::eofbit);
      return any;
    }
    any = true;
    if (c == '\n') return true;
    ++*length;
    if (line->size() < max) line->push_back(static_cast<char>(c));
  }
}

// The import on an open engine, reading `in`; the engine stays open.
// `progress`: on this process's stderr (none through the control socket).
int ImportOn(Engine& engine, std::istream& in, const std::string& file,
             const server::CommandOutput& out, Progress* progress) {
  AppendOptions opt;
  opt.allow_actor_in_body = true;
  opt.allow_recorded_at = true;
  opt.sync = false;  // one sync at the end: the import is durable when it reports

  struct Pending {
    int64_t line;
    std::future<AppendOutcome> outcome;
  };
  std::deque<Pending> window;
  int64_t lines = 0, nonblank = 0, accepted = 0, duplicates = 0, refused = 0, events = 0;
  Position last_position = engine.GetHead().position;
  Status failure;
  auto settle = [&](Pending& p) {
    AppendOutcome o = p.outcome.get();
    switch (o.kind) {
      case AppendOutcome::Kind::kAccepted:
        ++accepted;
        events += static_cast<int64_t>(o.results.size());
        last_position = std::max(last_position, o.results.back().position);
        break;
      case AppendOutcome::Kind::kDuplicate:
        ++duplicates;
        break;
      case AppendOutcome::Kind::kRefused:
        ++refused;
        PrintRefusal(p.line, o.refusal, out);
        break;
      case AppendOutcome::Kind::kError:
        if (failure.ok()) failure = o.error;
        break;
    }
  };
  // Lines are submitted ahead (parsing on this thread while the writer judges
  // the previous ones) and settled in order, so stderr follows the file.
  // Lines go to the engine in chunks: one wake-up of the writer per chunk, so
  // it judges and writes many lines per group.
  constexpr size_t kWindow = 8192, kChunk = 256;
  std::string line;
  std::vector<std::string> chunk;
  std::vector<int64_t> chunk_lines;
  auto submit = [&] {
    auto futures = engine.AppendManyAsync(std::move(chunk), opt);
    for (size_t i = 0; i < futures.size(); ++i)
      window.push_back({chunk_lines[i], std::move(futures[i])});
    chunk.clear();
    chunk_lines.clear();
    while (window.size() >= kWindow) {
      settle(window.front());
      window.pop_front();
    }
  };
  uint64_t length = 0;
  while (failure.ok() && ReadLineBounded(in, &line, kRequestBytesMax, &length)) {
    ++lines;
    if (length > kRequestBytesMax) {
      // Refused here, in order: what was submitted before is settled first.
      if (!chunk.empty()) submit();
      while (!window.empty()) {
        settle(window.front());
        window.pop_front();
      }
      ++nonblank;
      ++refused;
      PrintRefusal(lines,
                   Refusal{"malformed", "malformed",
                           "the line is " + std::to_string(length) + " bytes, over the limit of " +
                               std::to_string(kRequestBytesMax),
                           std::nullopt, std::nullopt},
                   out);
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    ++nonblank;
    chunk.push_back(std::move(line));
    chunk_lines.push_back(lines);
    line = std::string();
    if (chunk.size() >= kChunk) submit();
    if (progress) progress->Update(lines, "lines");
  }
  if (!chunk.empty()) submit();
  while (!window.empty()) {
    settle(window.front());
    window.pop_front();
  }
  if (progress) progress->Done();
  if (!failure.ok()) return FailTo(out, failure);
  if (in.bad()) return FailTo(out, Status::IoError("import: reading '" + file + "' failed"));
  if (Status st = engine.Sync(); !st.ok()) return FailTo(out, st);
  JsonWriter w;
  w.BeginObject();
  // n counts non-blank lines (a + d + r = n); blank lines only shift numbering.
  w.Key("lines").Int(nonblank);
  w.Key("accepted").Int(accepted);
  w.Key("duplicates").Int(duplicates);
  w.Key("refused").Int(refused);
  w.Key("events").Int(events);
  w.Key("lastPosition").Uint(last_position);
  w.EndObject();
  out.out(w.str() + "\n");
  return refused > 0 ? kExitRefused : kExitOk;
}

// `relais erase` on an open engine (the engine stays open).
int EraseOn(Engine& engine, const Subject& subject, ErasureReason reason,
            const server::CommandOutput& out) {
  auto start = std::chrono::steady_clock::now();
  AppendOutcome o = engine.Erase(subject, reason, ActorInfo{"erase", "admin", "-"});
  auto took = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
  if (o.kind == AppendOutcome::Kind::kAccepted)
    out.err("relais: " + subject.text + " erased in " + std::to_string(std::lround(took.count())) +
            " ms (event synced, key destroyed)\n");
  if (o.kind == AppendOutcome::Kind::kError) return FailTo(out, o.error);
  if (o.kind == AppendOutcome::Kind::kRefused) {
    JsonWriter w;
    w.BeginObject();
    w.Key("id");
    if (o.refusal.id) {
      w.String(*o.refusal.id);
    } else {
      w.Null();
    }
    w.Key("kind").String(o.refusal.kind);
    w.Key("code").String(o.refusal.code);
    w.Key("message").String(o.refusal.message);
    w.EndObject();
    out.err(w.str() + "\n");
    return kExitRefused;
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("results").BeginArray();
  for (const auto& r : o.results) {
    w.BeginObject();
    w.Key("id").String(r.id);
    w.Key("position").Uint(r.position);
    w.Key("version").Int(r.version);
    w.Key("duplicate").Bool(r.duplicate);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  out.out(w.str() + "\n");
  return kExitOk;
}

// `relais backup DEST` on an open engine; `dest` absolute.
int BackupOn(Engine& engine, const std::string& dir, const std::string& dest,
             const server::CommandOutput& out) {
  auto m = backup::BackupDataDir(engine, dir, dest);
  if (!m.ok()) return FailTo(out, m.status());
  JsonWriter w;
  w.BeginObject();
  w.Key("dest").String(dest);
  w.Key("position").Uint(m->position);
  w.Key("head").String(m->head);
  w.EndObject();
  out.out(w.str() + "\n");
  return kExitOk;
}

std::string Absolute(const std::string& path) {
  std::error_code ec;
  return std::filesystem::absolute(path, ec).lexically_normal().string();
}

// "DEV:INO" of the directory `dest` goes in, as this process sees it ("" when
// it has none): the server checks that it sees the same one. A server in its
// own mount namespace (the packaged unit's PrivateTmp, ProtectHome) would
// otherwise write a backup the command's caller never sees, and say done.
std::string ParentIdentity(const std::string& dest) {
  struct stat st;
  std::string parent = std::filesystem::path(dest).parent_path().string();
  if (::stat(parent.c_str(), &st) != 0) return "";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

}  // namespace

int ThroughServerOrHeld(const std::string& dir, const Status& st, const std::string& command,
                        const std::vector<std::string>& args, std::istream* input,
                        const std::string& hint) {
  if (backup::DataDirHolder(dir)) {
    if (auto rc = server::RunThroughServer(dir, command, args, input)) return *rc;
  }
  return ExitHeld(dir, st, hint);
}

int ExitHeld(const std::string& dir, const Status& st, const std::string& hint) {
  auto holder = backup::DataDirHolder(dir);
  std::string what = holder ? backup::HeldMessage(dir, *holder) : st.message();
  std::string endpoint = holder ? server::ServerEndpoint(dir, holder->pid) : "";
  if (!endpoint.empty()) what += "; its endpoint: " + endpoint;
  std::fprintf(stderr, "relais: %s; %s\n", what.c_str(), hint.c_str());
  return kExitHeld;
}

int RunImport(const std::string& dir, const std::string& file) {
  std::istream* in = &std::cin;
  std::ifstream f;
  if (file != "-") {
    f.open(file, std::ios::binary);
    if (!f) return Usage("import: cannot open '" + file + "'");
    in = &f;
  }
  auto engine = OpenEngine(dir, false);
  if (!engine.ok()) {
    if (engine.status().code() != StatusCode::kBusy) return Fail(engine.status());
    return ThroughServerOrHeld(dir, engine.status(), "import", {file}, in,
                               "send the events to its POST /v1/events instead");
  }
  Progress progress("import");
  int rc = ImportOn(**engine, *in, file, server::StdOutput(), &progress);
  (*engine)->Close();
  return rc;
}

int RunBackup(const std::string& dir, const std::string& dest) {
  if (!IsDataDirectory(dir)) return NoDataDirectory(dir);
  Options o;
  o.data_dir = dir;
  o.create_if_missing = false;
  auto engine = Engine::Open(o);
  if (!engine.ok()) {
    if (engine.status().code() != StatusCode::kBusy) return Fail(engine.status());
    std::string absolute = Absolute(dest);
    return ThroughServerOrHeld(dir, engine.status(), "backup", {absolute, ParentIdentity(absolute)},
                               nullptr,
                               "use POST /v1/backup with {\"dest\": ...} on that server instead");
  }
  int rc = BackupOn(**engine, dir, Absolute(dest), server::StdOutput());
  (*engine)->Close();
  return rc;
}

// `relais erase household/<id> --reason R` (interfaces.md §3, lifecycle.md §1).
int RunErase(const std::string& dir, const std::string& subject_text, const std::string& reason_text) {
  auto reason = ErasureReasonFromName(reason_text);
  if (!reason)
    return Usage("--reason '" + reason_text +
                 "': one of subject_request, retention_expired, legal_obligation, other");
  std::string why;
  auto subject = ParseSubject(subject_text, &why);
  if (!subject) return Usage("SUBJECT '" + subject_text + "': " + why);
  if (subject->kind != StreamKind::kHousehold)
    return Usage("SUBJECT '" + subject_text + "': only a household is erased (household/<id>)");
  auto engine = OpenEngine(dir, false);
  if (!engine.ok()) {
    if (engine.status().code() != StatusCode::kBusy) return Fail(engine.status());
    return ThroughServerOrHeld(dir, engine.status(), "erase", {subject->text, reason_text}, nullptr,
                               "send the erasure to its POST /v1/streams/household%2F" +
                                   std::string(subject->id()) + "/erasure instead");
  }
  int rc = EraseOn(**engine, *subject, *reason, server::StdOutput());
  (*engine)->Close();
  return rc;
}

int RunControlCommand(Engine& engine, const std::string& dir, const std::string& command,
                      const std::vector<std::string>& args, std::istream& input,
                      const server::CommandOutput& out) {
  auto bad = [&] {
    out.err("relais: the control socket does not run '" + command.substr(0, 64) + "' with " +
            std::to_string(args.size()) + " arguments\n");
    return kExitUsage;
  };
  // The client checked its options; the arguments are checked again here,
  // the socket being a way in of its own.
  if (command == "import" && args.size() == 1) return ImportOn(engine, input, args[0], out, nullptr);
  if (command == "erase" && args.size() == 2) {
    std::string why;
    auto subject = ParseSubject(args[0], &why);
    auto reason = ErasureReasonFromName(args[1]);
    if (!subject || subject->kind != StreamKind::kHousehold || !reason) return bad();
    return EraseOn(engine, *subject, *reason, out);
  }
  if (command == "backup" && args.size() == 2) {
    if (!std::filesystem::path(args[0]).is_absolute()) return bad();
    if (!args[1].empty() && ParentIdentity(args[0]) != args[1]) {
      out.err("relais: backup: the server holding " + dir + " does not see " +
              std::filesystem::path(args[0]).parent_path().string() +
              " as this command does (its own /tmp or /home: systemd's PrivateTmp, "
              "ProtectHome): a backup there would be out of your reach. Back up under a "
              "directory the server shares, such as /var/backups/relais\n");
      return kExitUsage;
    }
    return BackupOn(engine, dir, args[0], out);
  }
  if (command == "retention-apply" && args.size() == 3) return RetentionApplyOn(engine, args, out);
  if (command == "token-add" && args.size() == 5)
    return server::RunTokenAdd(dir, args[0], args[1], args[2], args[3], args[4], out);
  if (command == "token-revoke" && args.size() == 1) return server::RunTokenRevoke(dir, args[0], out);
  return bad();
}

}  // namespace relais::cli
