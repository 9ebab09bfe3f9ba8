// `relais`: the command line (interfaces.md §1).
//
// Exit codes: 0 success, 1 internal failure, 2 usage error, 3 some input
// refused, 4 verification failed, 5 not found, 6 data directory held by
// another process (interfaces.md §3). JSON a program may read goes to
// stdout; human messages and progress go to stderr.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <filesystem>
#include <functional>
#include <iostream>

#include "cli/cli_common.h"
#include "backup/backup.h"
#include "backup/erasure_register.h"
#include "backup/holder.h"
#include "cli/lifecycle_commands.h"
#include "cli/serve_command.h"
#include "cli/evidence_commands.h"
#include "cli/option_rules.h"
#include "cli/write_commands.h"
#include "cli/sink_commands.h"
#include "generate/generator.h"
#include "relais/engine.h"
#include "relais/json_writer.h"
#include "relais/projections/report.h"
#include "relais/projections/tenancy.h"
#include "relais/projections/views.h"
#include "server/commands.h"
#include "version/version.h"

namespace relais::cli {

namespace {

Date Today() { return UtcDate(SystemClock()->Now()); }

struct TimeOptions {
  std::string as_of, known_at;
};

// Parses --as-of / --known-at; a bad value is a usage error naming the option.
std::optional<int> ParseTimes(const TimeOptions& in, projections::ViewTime* out) {
  if (!in.as_of.empty()) {
    out->as_of = ParseDate(in.as_of);
    if (!out->as_of) return Usage("--as-of: '" + in.as_of + "' is not a date YYYY-MM-DD");
  }
  if (!in.known_at.empty()) {
    out->known_at = ParseTimestamp(in.known_at);
    if (!out->known_at)
      return Usage("--known-at: '" + in.known_at +
                   "' is not an RFC 3339 UTC instant (e.g. 2016-01-31T00:00:00Z)");
  }
  return std::nullopt;
}

std::optional<Subject> ParseSubjectArg(const std::string& text, int* exit_code) {
  std::string why;
  auto s = ParseSubject(text, &why);
  if (!s) *exit_code = Usage("SUBJECT '" + text + "': " + why);
  return s;
}

// `relais erasures`: the erasure register, NDJSON in position order.
int RunErasures(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir + "/log", ec)) return NoDataDirectory(dir);
  auto engine = OpenEngine(dir, true);
  if (!engine.ok()) return Fail(engine.status());
  auto entries = (*engine)->Erasures();
  if (!entries.ok()) return Fail(entries.status());
  std::string out;
  for (const auto& e : *entries) {
    out += backup::ErasureLine(e);
    out.push_back('\n');
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

int RunRestore(const std::string& dir, const std::string& src, const std::string& erasures,
               bool force) {
  backup::RestoreOptions o;
  o.force = force;
  o.erasures_file = erasures;
  auto r = backup::RestoreDataDir(src, dir, o);
  if (!r.ok()) {
    const Status& st = r.status();
    std::fprintf(stderr, "relais: restore: %s\n", st.message().c_str());
    switch (st.code()) {
      case StatusCode::kInvalidArgument: return kExitUsage;
      case StatusCode::kNotFound: return kExitNotFound;
      case StatusCode::kCorruption: return kExitVerify;  // the backup fails its check
      case StatusCode::kBusy: return kExitHeld;
      case StatusCode::kFailedPrecondition: return kExitRefused;  // an erasure it cannot honour
      default: return kExitInternal;
    }
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("position").Uint(r->position);
  w.Key("head").String(r->head);
  w.Key("erasuresApplied").Int(r->erasures_applied);
  w.EndObject();
  std::printf("%s\n", w.str().c_str());
  return kExitOk;
}

// status and history: parse the subject and the times, open read-only, print
// the view, or the contract's not_found answer (exit 5).
int RunView(const std::string& dir, const std::string& subject_text, const TimeOptions& times,
            const std::function<Result<std::string>(Engine&, const Subject&,
                                                    const projections::ViewTime&)>& view) {
  projections::ViewTime t;
  if (auto rc = ParseTimes(times, &t)) return *rc;
  int rc = 0;
  auto subject = ParseSubjectArg(subject_text, &rc);
  if (!subject) return rc;
  auto engine = OpenEngine(dir, true);
  Result<std::string> json = engine.ok() ? view(**engine, *subject, t) : engine.status();
  if (!json.ok()) {
    if (json.status().code() == StatusCode::kNotFound) {
      PrintNotFound();
      return kExitNotFound;
    }
    return Fail(json.status());
  }
  std::printf("%s\n", json->c_str());
  return kExitOk;
}

int RunStatus(const std::string& dir, const std::string& subject_text, const TimeOptions& times,
              bool pretty) {
  return RunView(dir, subject_text, times,
                 [&](Engine& e, const Subject& s, const projections::ViewTime& t) {
                   return projections::StatusJson(e, s, t, Today(), pretty);
                 });
}

int RunHistory(const std::string& dir, const std::string& subject_text, const TimeOptions& times,
               bool pretty) {
  return RunView(dir, subject_text, times,
                 [&](Engine& e, const Subject& s, const projections::ViewTime& t) {
                   return projections::HistoryJson(e, s, t.known_at, pretty);
                 });
}

// evidence.md §0: the local reading is the whole record (no role filters a
// command run on the data directory itself, as for history).
int RunTenancy(const std::string& dir, const std::string& subject_text, const TimeOptions& times,
               const std::string& format, bool pretty) {
  if (format != "json" && format != "html")
    return Usage("--format: '" + format + "' is not one of json, html");
  if (pretty && format != "json") return Usage("--pretty applies only to --format json");
  {
    std::string why;
    auto s = ParseSubject(subject_text, &why);
    if (s && s->kind != StreamKind::kDwelling)
      return Usage("SUBJECT '" + subject_text + "': a tenancy record is a dwelling's (dwelling/<id>)");
  }
  return RunView(dir, subject_text, times,
                 [&](Engine& e, const Subject& s,
                     const projections::ViewTime& t) -> Result<std::string> {
                   if (format == "json") return projections::TenancyJson(e, s, t, Today(), pretty);
                   ASSIGN_OR_RETURN(projections::TenancyRecord r,
                                    projections::BuildTenancyRecord(e, s, t, Today()));
                   return projections::RenderTenancyHtml(r, projections::TenancyShowAll(r), false,
                                                         projections::TenancyCheckpointNote(e, r));
                 });
}

int RunVerify(const std::string& dir, bool rebuild_records) {
  if (rebuild_records) {
    // Writable: forget the record snapshot; the clean close below rebuilds it
    // from the log. Then verify as usual.
    auto writer = OpenEngine(dir, false);
    if (!writer.ok() && writer.status().code() == StatusCode::kBusy)
      return ExitHeld(dir, writer.status(), "stop it to rebuild the record snapshot");
    if (!writer.ok()) return Fail(writer.status());
    if (Status st = (*writer)->DropRecordSnapshot(); !st.ok()) return Fail(st);
    std::fprintf(stderr, "verify: rebuilding the record snapshot from the log\n");
    writer->reset();
  }
  auto engine = OpenEngine(dir, true);
  if (!engine.ok()) return Fail(engine.status());
  Progress progress("verify");
  VerifyReport r = (*engine)->Verify([&](Position p, Position) { progress.Update(p, "events"); });
  progress.Done();
  std::printf("%s\n", projections::VerifyJson(**engine, &r).c_str());
  return r.ok ? kExitOk : kExitVerify;
}

struct ReportOptions {
  std::string format = "json";
  std::string check_file;
  bool series = false;
  bool format_given = false;  // --format was on the command line (json is only its default)
  std::string from, to, step = "month";
};

int RunReport(const std::string& dir, const TimeOptions& times, const ReportOptions& ro) {
  projections::ViewTime t;
  if (auto rc = ParseTimes(times, &t)) return *rc;
  projections::ReportFormat format;
  if (ro.format == "json") {
    format = projections::ReportFormat::kJson;
  } else if (ro.format == "csv") {
    format = projections::ReportFormat::kCsv;
  } else if (ro.format == "md") {
    format = projections::ReportFormat::kMarkdown;
  } else if (ro.format == "html") {
    format = projections::ReportFormat::kHtml;
  } else {
    return Usage("--format: '" + ro.format + "' is not one of json, csv, md, html");
  }
  std::optional<Date> from, to;
  if (ro.series) {
    if (ro.step != "month") return Usage("--step: only 'month' is supported");
    if (ro.format_given && ro.format != "csv")
      return Usage("--format " + ro.format + " does not apply to --series: the series is written as csv");
    from = ParseDate(ro.from);
    to = ParseDate(ro.to);
    if (!from) return Usage("--from: '" + ro.from + "' is not a date YYYY-MM-DD");
    if (!to) return Usage("--to: '" + ro.to + "' is not a date YYYY-MM-DD");
    if (*to < *from) return Usage("--to is before --from");
    if (*to - *from > 366 * 50) return Usage("--from/--to: at most 50 years");
  }
  std::string check_text;
  if (!ro.check_file.empty()) {
    // The saved report says which view it was computed on: an option that
    // chose another view or format would be silently ignored.
    if (!times.as_of.empty() || !times.known_at.empty() || ro.series || ro.format_given)
      return Usage("--check takes no --as-of, --known-at, --series or --format: the saved report names its view");
    // A report is tens of kilobytes; /dev/zero or a wrong file must not be
    // read without end.
    constexpr size_t kMaxReportBytes = 16u << 20;
    std::ifstream f(ro.check_file, std::ios::binary);
    if (!f) return Usage("--check: cannot open '" + ro.check_file + "'");
    check_text.resize(kMaxReportBytes + 1);
    f.read(check_text.data(), static_cast<std::streamsize>(check_text.size()));
    check_text.resize(static_cast<size_t>(f.gcount()));
    if (check_text.size() > kMaxReportBytes)
      return Usage("--check: '" + ro.check_file + "' is over 16 MiB, not a saved report");
    if (auto rc = RejectByteOrderMark(check_text, "--check: '" + ro.check_file + "'")) return *rc;
  }
  auto engine = OpenEngine(dir, true);
  if (!engine.ok()) return Fail(engine.status());
  if (!ro.check_file.empty()) {
    // The verdict as JSON on stdout, the same in words on stderr.
    auto check = projections::CheckReport(**engine, check_text);
    if (!check.ok()) return Fail(check.status());  // unreadable report: usage (exit 2)
    std::fputs(check->prose.c_str(), stderr);
    std::printf("%s\n", check->json.c_str());
    return check->match ? kExitOk : kExitVerify;
  }
  if (ro.series) {
    auto rows = projections::ComputeSeries(**engine, *from, *to, t.known_at);
    if (!rows.ok()) return Fail(rows.status());
    std::fputs(projections::RenderSeriesCsv(*rows).c_str(), stdout);
    return kExitOk;
  }
  projections::ReportRequest req{t, Today()};
  auto report = projections::ComputeReport(**engine, req);
  if (!report.ok()) return Fail(report.status());
  if (format == projections::ReportFormat::kHtml) {
    // The charts cover the 24 months up to D.
    int y, m, d;
    CivilFromDate(report->as_of, &y, &m, &d);
    Date first = AddMonthsClamped(DateFromCivil(y, m, 1), -23);
    auto rows = projections::ComputeSeriesAt(**engine, first, report->as_of, report->log_position);
    if (!rows.ok()) return Fail(rows.status());
    std::fputs(projections::RenderHtml(*report, *rows).c_str(), stdout);
    return kExitOk;
  }
  std::fputs(projections::RenderReport(*report, format).c_str(), stdout);
  return kExitOk;
}

int RunGenerate(const tools::GenOptions& options, const std::string& out_file) {
  std::ofstream f;
  std::ostream* out = &std::cout;
  if (out_file != "-") {
    f.open(out_file, std::ios::binary | std::ios::trunc);
    if (!f) return Usage("generate: cannot write '" + out_file + "'");
    out = &f;
  }
  tools::GenStats st = tools::Generate(options, *out);
  out->flush();
  if (!*out) return Fail(Status::IoError("generate: writing failed"));
  std::fprintf(stderr,
               "{\"lines\": %lld, \"events\": %lld, \"households\": %lld, \"dwellings\": %lld}\n",
               static_cast<long long>(st.lines), static_cast<long long>(st.events),
               static_cast<long long>(st.households), static_cast<long long>(st.dwellings));
  return kExitOk;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"relais: an event-sourced case-tracking engine for accompanied social housing"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("relais ") + Version(), "print the version and exit");
  app.fallthrough();  // --data is global: accepted before or after the command
  std::string data_dir = "./relais-data";
  app.add_option("--data", data_dir, "data directory (created on first write)")
      ->capture_default_str();
  app.add_option("--origin", g_origin,
                 "the installation's name in its checkpoints, fixed when the data directory "
                 "is created (default: relais/<random UUID>)");
  bool pretty = false;

  auto* import = app.add_subcommand("import", "append NDJSON events (one event or one atomic batch per line)");
  std::string import_file;
  import->add_option("FILE", import_file, "NDJSON file, or - for standard input")->required();

  TimeOptions times;
  auto add_times = [&](CLI::App* cmd, bool as_of) {
    if (as_of) cmd->add_option("--as-of", times.as_of, "valid time: a date YYYY-MM-DD");
    cmd->add_option("--known-at", times.known_at, "transaction time: an RFC 3339 UTC instant");
    cmd->add_flag("--pretty", pretty, "indent the JSON");
  };
  auto* status = app.add_subcommand("status", "the derived state of a household, dwelling or territory");
  std::string subject;
  status->add_option("SUBJECT", subject, "household/<id>, dwelling/<id> or territory/<id>")->required();
  add_times(status, true);

  auto* history = app.add_subcommand("history", "every event of a stream, with who recorded it and when");
  history->add_option("SUBJECT", subject, "household/<id>, dwelling/<id> or territory/<id>")->required();
  add_times(history, false);

  auto* tenancy = app.add_subcommand(
      "tenancy", "the tenancy record of a dwelling: its events and its households' (evidence.md)");
  tenancy->add_option("SUBJECT", subject, "dwelling/<id>")->required();
  std::string tenancy_format = "json";
  tenancy->add_option("--format", tenancy_format, "json or html (a printable dispute file)")
      ->capture_default_str();
  add_times(tenancy, false);

  auto* verify = app.add_subcommand("verify", "recompute the hash chain and check every index");
  bool rebuild_records = false;
  verify->add_flag("--rebuild-records", rebuild_records,
                   "first rebuild the record snapshot (the reports' cache of the log) from the log; "
                   "takes the directory like a writer (exit 6 when a server holds it)");

  auto* report = app.add_subcommand("report", "the evaluation indicators as of D, known at T");
  ReportOptions ro;
  add_times(report, true);
  report->add_option("--format", ro.format, "json, csv, md or html")->capture_default_str();
  report->add_option("--check", ro.check_file, "recompute a saved JSON report and say whether it still matches");
  report->add_flag("--series", ro.series, "monthly series (with --from, --to, --step month) as csv");
  report->add_option("--from", ro.from, "first day of the series (YYYY-MM-DD)");
  report->add_option("--to", ro.to, "last day of the series (YYYY-MM-DD)");
  report->add_option("--step", ro.step, "series step: month")->capture_default_str();

  auto* generate = app.add_subcommand("generate", "write a seeded synthetic Nord data set as NDJSON");
  tools::GenOptions gen;
  std::string gen_out = "-";
  generate->add_option("--seed", gen.seed, "random seed")->capture_default_str();
  generate->add_option("--years", gen.years, "years simulated")->capture_default_str()->check(CLI::Range(1, 50));
  generate->add_option("--start-year", gen.start_year, "first year")->capture_default_str()->check(CLI::Range(2000, 2100));
  generate->add_option("--events", gen.target_events, "scale households to about this many events (0: programme size)")
      ->capture_default_str()->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  generate->add_option("--out", gen_out, "output file, or - for standard output")->capture_default_str();

  ServeArgs serve_args;
  auto* serve = AddServeCommand(app, &serve_args);


  EvidenceArgs ev;
  auto* checkpoint_cmd = app.add_subcommand("checkpoint", "the signed checkpoint of the log's Merkle tree");
  checkpoint_cmd->add_option("--size", ev.size, "tree size (default: the head)");
  checkpoint_cmd->add_flag("--verifier-key", ev.verifier_key_flag, "print the verifier key line instead");
  auto* prove_cmd = app.add_subcommand("prove", "an inclusion (--position) or consistency (--from) proof");
  prove_cmd->add_option("--position", ev.position, "the event's position");
  prove_cmd->add_option("--from", ev.from, "the older tree's size");
  prove_cmd->add_option("--size", ev.size, "tree size (default: the head)");
  auto* evidence_cmd = app.add_subcommand("evidence", "an evidence bundle a third party can check offline");
  evidence_cmd->add_option("SUBJECT", subject, "household/<id> or dwelling/<id>")->required();
  evidence_cmd->add_option("--known-at", ev.known_at, "transaction time: an RFC 3339 UTC instant");
  evidence_cmd->add_option("--since", ev.since_file, "a file holding an older checkpoint of this log");
  auto* check_cmd = app.add_subcommand("check-evidence", "check an evidence bundle offline (no data directory)");
  std::string check_file;
  check_cmd->add_option("FILE", check_file, "the bundle, or - for standard input")->required();
  check_cmd->add_option("--verifier-key", ev.verifier_key, "the verifier key line")->required();

  auto* backup_cmd = app.add_subcommand(
      "backup",
      "a consistent copy of the whole data directory while writers run (exit 6 when a server "
      "holds it: use its POST /v1/backup)");
  std::string backup_dest;
  backup_cmd->add_option("DEST", backup_dest, "backup directory to create (must not exist)")
      ->required();

  auto* restore_cmd = app.add_subcommand(
      "restore", "make --data DIR a checked, verified copy of a backup");
  std::string restore_src, restore_erasures;
  bool restore_force = false;
  restore_cmd->add_option("SRC", restore_src, "a backup directory made by `relais backup`")
      ->required();
  restore_cmd->add_option("--erasures", restore_erasures,
                          "the erasure register (NDJSON, as `relais erasures` prints) to honour");
  restore_cmd->add_flag("--force", restore_force, "replace a non-empty data directory");

  auto* retention = app.add_subcommand(
      "retention", "the households due for erasure on D (lifecycle.md §2); --apply erases them");
  RetentionArgs ra;
  retention->add_option("--as-of", ra.as_of, "the date D (YYYY-MM-DD; default: today)");
  retention->add_option("--known-at", ra.known_at, "transaction time: an RFC 3339 UTC instant");
  retention->add_option("--years", ra.years, "years from the last contact (CNIL 2023-095)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  retention->add_option("--keep-history-years", ra.keep_history_years,
                        "years when keep_history is given (CNIL 2014-124)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  retention->add_flag("--apply", ra.apply, "erase every household due (idempotent)");

  auto* file_cmd = app.add_subcommand(
      "file", "everything relais holds about one household, for the household (lifecycle.md §3)");
  FileArgs fa;
  file_cmd->add_option("SUBJECT", fa.subject, "household/<id>")->required();
  file_cmd->add_option("--known-at", fa.known_at, "transaction time: an RFC 3339 UTC instant");
  file_cmd->add_option("--format", fa.format, "json or html (French, printable A4)")
      ->capture_default_str();

  auto* erase_cmd = app.add_subcommand(
      "erase", "erase a household's personal data: records PersonalDataErased and destroys its key "
               "(exit 6 when a server holds the directory: use its erasure endpoint)");
  std::string erase_reason;
  erase_cmd->add_option("SUBJECT", subject, "household/<id>")->required();
  erase_cmd->add_option("--reason", erase_reason,
                        "subject_request, retention_expired, legal_obligation or other")
      ->required();
  auto* erasures_cmd = app.add_subcommand("erasures", "the erasure register (NDJSON): keep a copy apart from the backups");

  auto* version_cmd = app.add_subcommand("version", "print the version (as --version does)");

  auto* sink_cmd = app.add_subcommand(
      "sink", "keep a downstream database exactly in step with the log (docs/sink.md)");
  sink_cmd->require_subcommand(1);
  SinkArgs sa;
  auto* sink_pg = sink_cmd->add_subcommand(
      "postgres",
      "catch up from the log into PostgreSQL tables, then follow it live (a data directory no "
      "server holds, or a running server's feed with --url; a server runs its own with serve "
      "--sink-dsn). Exit 7 when the database was "
      "built from another log");
  sink_pg->add_option("--dsn", sa.dsn, "libpq connection string (\"host=... dbname=...\" or postgresql://...)")
      ->required();
  sink_pg->add_option("--scope", sa.scope, "evaluator (pseudonymised, no personal data) or admin")
      ->capture_default_str();
  sink_pg->add_option("--schema", sa.schema, "PostgreSQL schema of the tables")->capture_default_str();
  sink_pg->add_option("--events-format", sa.events_format, "events table body: envelope or cloudevents")
      ->capture_default_str();
  sink_pg->add_option("--batch", sa.batch, "events per transaction while catching up")->capture_default_str();
  sink_pg->add_option("--poll-ms", sa.poll_ms, "how often to look for new events once caught up")
      ->capture_default_str();
  sink_pg->add_flag("--once", sa.once, "stop once caught up instead of following the log");
  sink_pg->add_option("--url", sa.url,
                      "follow a running server through GET /v1/feed (http://HOST:PORT) instead of "
                      "a data directory; needs --token, --replica and --scope admin");
  sink_pg->add_option("--token", sa.token, "with --url: an admin token's secret");
  sink_pg->add_option("--replica", sa.replica,
                      "with --url: the local replica data directory the feed is appended to");

  auto* export_cmd = app.add_subcommand(
      "export", "the pseudonymised export (as GET /v1/export): NDJSON envelopes or CloudEvents 1.0");
  ExportArgs xa;
  export_cmd->add_option("--known-at", xa.known_at, "transaction time: an RFC 3339 UTC instant");
  export_cmd->add_option("--format", xa.format, "ndjson or cloudevents")->capture_default_str();

  auto* token = app.add_subcommand("token", "manage API tokens (stored only as hashes)");
  token->require_subcommand(1);
  std::string token_name, token_role, token_territory, token_org;
  auto* token_add = token->add_subcommand("add", "create a token; prints its secret once");
  token_add->add_option("--name", token_name, "token name (the actor id of its writes)")->required();
  token_add->add_option("--role", token_role,
                        "admin, coordinator, social_worker, tenancy_staff, evaluator, auditor or metrics")
      ->required();
  token_add->add_option("--territory", token_territory, "lille, sud or flandres");
  token_add->add_option("--org", token_org, "the association of a social_worker");
  std::string token_expires;
  token_add->add_option("--expires", token_expires,
                        "lifetime: 12h, 90d, 52w... (default: does not expire); then 401 token_expired");
  auto* token_list = token->add_subcommand("list", "list the tokens, without secrets");
  auto* token_revoke = token->add_subcommand("revoke", "revoke a token");
  token_revoke->add_option("--name", token_name, "token name")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  if (*version_cmd) {
    std::printf("relais %s\n", Version());
    return kExitOk;
  }
  if (auto rc = RejectInapplicableOptions(app)) return *rc;
  if (auto rc = RejectMissingDataDirectory(app, data_dir)) return *rc;
  ro.format_given = report->get_option("--format")->count() > 0;
  if (*import) return RunImport(data_dir, import_file);
  if (*status) return RunStatus(data_dir, subject, times, pretty);
  if (*history) return RunHistory(data_dir, subject, times, pretty);
  if (*tenancy) return RunTenancy(data_dir, subject, times, tenancy_format, pretty);
  if (*verify) return RunVerify(data_dir, rebuild_records);
  if (*report) {
    if (ro.series && (ro.from.empty() || ro.to.empty())) return Usage("--series needs --from and --to");
    return RunReport(data_dir, times, ro);
  }
  if (*generate) return RunGenerate(gen, gen_out);
  if (*retention) return RunRetention(data_dir, ra);
  if (*file_cmd) return RunFile(data_dir, fa);
  if (*checkpoint_cmd) return RunCheckpoint(data_dir, ev);
  if (*prove_cmd) return RunProve(data_dir, ev);
  if (*evidence_cmd) return RunEvidence(data_dir, subject, ev);
  if (*check_cmd) return RunCheckEvidence(check_file, ev);
  if (*backup_cmd) return RunBackup(data_dir, backup_dest);
  if (*restore_cmd) return RunRestore(data_dir, restore_src, restore_erasures, restore_force);
  if (*erase_cmd) return RunErase(data_dir, subject, erase_reason);
  if (*erasures_cmd) return RunErasures(data_dir);
  if (*sink_pg) {
    sa.data_given = app.get_option("--data")->count() > 0;
    return RunSink(data_dir, sa);
  }
  if (*export_cmd) return RunExport(data_dir, xa);
  if (*serve) return RunServeCommand(app, *serve, serve_args, data_dir, g_origin, RunControlCommand);
  if (*token_add && token_add->get_option("--expires")->count() > 0 && token_expires.empty())
    return Usage("--expires: an empty lifetime (give e.g. 90d, or leave the option out)");
  // The token file has its own lock: with no server to go through, the
  // command writes it itself and the server rereads it (docs/decisions.md).
  if (*token_add || *token_revoke) {
    if (backup::DataDirHolder(data_dir)) {
      std::vector<std::string> args = {token_name};
      if (*token_add) args.insert(args.end(), {token_role, token_territory, token_org, token_expires});
      if (auto rc = server::RunThroughServer(data_dir, *token_add ? "token-add" : "token-revoke",
                                             args, nullptr))
        return *rc;
    }
  }
  if (*token_add)
    return server::RunTokenAdd(data_dir, token_name, token_role, token_territory, token_org,
                               token_expires);
  if (*token_list) return server::RunTokenList(data_dir);
  if (*token_revoke) return server::RunTokenRevoke(data_dir, token_name);
  return kExitUsage;
}

}  // namespace relais::cli

int main(int argc, char** argv) {
  try {
    return relais::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "relais: internal failure: %s\n", e.what());
    return 1;
  }
}
