#include "cli/cli_common.h"
#include "cli/evidence_commands.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "relais/engine.h"
#include "relais/evidence.h"
#include "relais/json_writer.h"
#include "relais/projections/evidence.h"
#include "relais/projections/tenancy.h"
#include "relais/projections/views.h"

namespace relais::cli {

namespace {

void PrintProblem(const std::string& problem) {
  JsonWriter w;
  w.BeginObject();
  w.Key("ok").Bool(false);
  w.Key("problem").String(problem);
  w.EndObject();
  std::printf("%s\n", w.str().c_str());
  std::fprintf(stderr, "relais: %s\n", problem.c_str());
}

// --size: the head when absent.
Result<Position> SizeArg(Engine& e, const std::string& text) {
  if (text.empty()) return e.GetHead().position;
  auto n = ParseCount(text);
  if (!n || *n == 0) return Status::InvalidArgument("--size: '" + text + "' is not a tree size (1 or more)");
  return *n;
}

}  // namespace

std::optional<uint64_t> ParseCount(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

int RunCheckpoint(const std::string& dir, const EvidenceArgs& a) {
  if (a.verifier_key_flag && !a.size.empty()) return Usage("--verifier-key takes no --size");
  if (!a.size.empty() && (!ParseCount(a.size) || *ParseCount(a.size) == 0))
    return Usage("--size: '" + a.size + "' is not a tree size (1 or more)");
  auto engine = OpenReadOnly(dir);
  if (!engine.ok()) return Fail(engine.status());
  if (a.verifier_key_flag) {
    auto key = (*engine)->VerifierKey();
    if (!key.ok()) return Fail(key.status());
    std::printf("%s\n", key->c_str());
    return kExitOk;
  }
  auto size = SizeArg(**engine, a.size);
  if (!size.ok()) return Fail(size.status());
  auto note = (*engine)->Checkpoint(*size);
  if (!note.ok()) return Fail(note.status());
  std::fputs(note->c_str(), stdout);
  return kExitOk;
}

int RunProve(const std::string& dir, const EvidenceArgs& a) {
  if (a.position.empty() == a.from.empty()) return Usage("prove: give --position P or --from M");
  std::optional<uint64_t> p = ParseCount(a.position.empty() ? a.from : a.position);
  if (!p || *p == 0)
    return Usage((a.position.empty() ? "--from: '" + a.from : "--position: '" + a.position) +
                 "' is not a position (1 or more)");
  if (!a.size.empty() && (!ParseCount(a.size) || *ParseCount(a.size) == 0))
    return Usage("--size: '" + a.size + "' is not a tree size (1 or more)");
  auto engine = OpenReadOnly(dir);
  if (!engine.ok()) return Fail(engine.status());
  auto size = SizeArg(**engine, a.size);
  if (!size.ok()) return Fail(size.status());
  if (!a.position.empty()) {
    auto proof = (*engine)->ProveInclusion(*p, *size);
    if (!proof.ok()) return Fail(proof.status());
    std::printf("%s\n", projections::InclusionJson(*proof).c_str());
  } else {
    auto proof = (*engine)->ProveConsistency(*p, *size);
    if (!proof.ok()) return Fail(proof.status());
    std::printf("%s\n", projections::ConsistencyJson(*proof).c_str());
  }
  return kExitOk;
}

int RunEvidence(const std::string& dir, const std::string& subject_text, const EvidenceArgs& a) {
  std::optional<Timestamp> known_at;
  if (!a.known_at.empty()) {
    known_at = ParseTimestamp(a.known_at);
    if (!known_at) return Usage("--known-at: '" + a.known_at + "' is not an RFC 3339 UTC instant");
  }
  std::string why;
  auto subject = ParseSubject(subject_text, &why);
  if (!subject) return Usage("SUBJECT '" + subject_text + "': " + why);
  std::optional<std::string> since;
  if (!a.since_file.empty()) {
    since = ReadAll(a.since_file);
    if (!since) return Usage("--since: cannot read '" + a.since_file + "'");
    if (auto rc = RejectByteOrderMark(*since, "--since: '" + a.since_file + "'")) return *rc;
  }
  auto engine = OpenReadOnly(dir);
  if (!engine.ok()) return Fail(engine.status());
  // The view the bundle is made of: a household's history, a dwelling's
  // tenancy record (evidence.md §3), a territory's history.
  projections::ViewTime t;
  t.known_at = known_at;
  Result<std::string> view =
      subject->kind == StreamKind::kDwelling
          ? projections::TenancyJson(**engine, *subject, t, UtcDate(SystemClock()->Now()), false)
          : projections::HistoryJson(**engine, *subject, known_at, false);
  if (!view.ok()) {
    if (view.status().code() == StatusCode::kNotFound) {
      std::printf("{\"error\":{\"code\":\"not_found\"}}\n");
      return kExitNotFound;
    }
    return Fail(view.status());
  }
  auto bundle = projections::EvidenceBundle(**engine, subject->text, known_at, *view, since);
  if (!bundle.ok()) {
    if (bundle.status().code() == StatusCode::kCorruption) {
      PrintProblem(bundle.status().message());
      return kExitVerify;
    }
    return Fail(bundle.status());
  }
  std::printf("%s\n", bundle->c_str());
  return kExitOk;
}

int RunCheckEvidence(const std::string& file, const EvidenceArgs& a) {
  if (a.verifier_key.empty()) return Usage("check-evidence needs --verifier-key KEY (the key line)");
  auto text = file == "-" ? std::optional<std::string>(std::string(
                                std::istreambuf_iterator<char>(std::cin.rdbuf()), {}))
                          : ReadAll(file);
  if (!text) return Usage("check-evidence: cannot read '" + file + "'");
  if (auto rc = RejectByteOrderMark(*text, "check-evidence: '" + file + "'")) return *rc;
  evidence::CheckResult r = evidence::CheckBundle(*text, a.verifier_key);
  if (!r.ok) {
    PrintProblem(r.problem);
    return kExitVerify;
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("ok").Bool(true);
  w.Key("subject").String(r.subject);
  w.Key("size").Uint(r.size);
  w.Key("events").Uint(r.events);
  w.Key("since").Bool(r.since);
  w.EndObject();
  std::printf("%s\n", w.str().c_str());
  return kExitOk;
}

}  // namespace relais::cli
