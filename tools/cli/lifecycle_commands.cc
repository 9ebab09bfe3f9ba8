#include "cli/cli_common.h"
#include "cli/lifecycle_commands.h"
#include "cli/write_commands.h"

#include <cstdio>
#include <filesystem>

#include "backup/holder.h"
#include "relais/engine.h"
#include "relais/json_writer.h"
#include "relais/projections/household_file.h"
#include "relais/projections/retention.h"
#include "relais/projections/views.h"
#include "server/access_journal.h"

namespace relais::cli {

namespace {

int Internal(const Status& st) {
  std::fprintf(stderr, "relais: %s\n", st.message().c_str());
  return st.code() == StatusCode::kNotFound ? kExitNotFound : kExitInternal;
}

Date Today() { return UtcDate(SystemClock()->Now()); }

// `retention --apply`: judge on the writable engine (the head now), then
// erase each due household through the engine's erasure (event + key
// destruction), reason retention_expired, effective on D.
int ApplyOn(Engine& engine, const projections::RetentionRequest& req, const server::CommandOutput& out) {
  auto applied = projections::ApplyRetention(engine, req);
  if (!applied.ok()) {
    out.err("relais: " + applied.status().message() + "\n");
    return applied.status().code() == StatusCode::kNotFound ? kExitNotFound : kExitInternal;
  }
  out.out(projections::RenderRetention(applied->result, applied->applied) + "\n");
  return kExitOk;
}

int ApplyRetention(const std::string& dir, const RetentionArgs& args,
                   const projections::RetentionRequest& req) {
  Options o;
  o.data_dir = dir;
  o.origin = g_origin;
  auto engine = Engine::Open(o);
  if (!engine.ok()) {
    if (engine.status().code() != StatusCode::kBusy) return Internal(engine.status());
    return ThroughServerOrHeld(dir, engine.status(), "retention-apply",
                               {args.as_of, std::to_string(args.years),
                                std::to_string(args.keep_history_years)},
                               nullptr, "use POST /v1/retention?asOf=D on that server instead");
  }
  int rc = ApplyOn(**engine, req, server::StdOutput());
  (*engine)->Close();
  return rc;
}

}  // namespace

int RunRetention(const std::string& dir, const RetentionArgs& args) {
  projections::RetentionRequest req;
  req.today = Today();
  req.policy.years = args.years;
  req.policy.keep_history_years = args.keep_history_years;
  if (!args.as_of.empty()) {
    req.time.as_of = ParseDate(args.as_of);
    if (!req.time.as_of) return Usage("--as-of: '" + args.as_of + "' is not a date YYYY-MM-DD");
  }
  if (!args.known_at.empty()) {
    req.time.known_at = ParseTimestamp(args.known_at);
    if (!req.time.known_at)
      return Usage("--known-at: '" + args.known_at +
                   "' is not an RFC 3339 UTC instant (e.g. 2016-01-31T00:00:00Z)");
  }
  if (args.apply) {
    // An erasure is made now, with what is known now: a past knowledge or a
    // future date would erase what the present does not hold due.
    if (req.time.known_at) return Usage("--known-at cannot be given with --apply");
    if (req.time.as_of && *req.time.as_of > req.today)
      return Usage("--as-of: " + args.as_of + " is later than today (" + FormatDate(req.today) +
                   "): --apply erases only what is due by today");
    return ApplyRetention(dir, args, req);
  }
  if (!IsDataDirectory(dir)) return NoDataDirectory(dir);
  auto engine = OpenReadOnly(dir);
  if (!engine.ok()) return Internal(engine.status());
  auto r = projections::ComputeRetention(**engine, req);
  if (!r.ok()) return Internal(r.status());
  std::printf("%s\n", projections::RenderRetention(*r, std::nullopt).c_str());
  return kExitOk;
}

int RetentionApplyOn(Engine& engine, const std::vector<std::string>& args,
                     const server::CommandOutput& out) {
  projections::RetentionRequest req;
  req.today = Today();
  auto years = [](const std::string& s) -> std::optional<int> {
    if (s.empty() || s.size() > 3 || s.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    return std::stoi(s);
  };
  auto y = years(args[1]), k = years(args[2]);
  if (!args[0].empty()) req.time.as_of = ParseDate(args[0]);
  if (!y || !k || *y > 100 || *k > 100 || (!args[0].empty() && !req.time.as_of) ||
      (req.time.as_of && *req.time.as_of > req.today)) {
    out.err("relais: retention --apply: bad arguments through the control socket\n");
    return kExitUsage;
  }
  req.policy.years = *y;
  req.policy.keep_history_years = *k;
  return ApplyOn(engine, req, out);
}

int RunFile(const std::string& dir, const FileArgs& args) {
  std::string why;
  auto subject = ParseSubject(args.subject, &why);
  if (!subject) return Usage("SUBJECT '" + args.subject + "': " + why);
  if (subject->kind != StreamKind::kHousehold)
    return Usage("SUBJECT '" + args.subject + "': a file is a household's (household/<id>)");
  std::optional<Timestamp> known_at;
  if (!args.known_at.empty()) {
    known_at = ParseTimestamp(args.known_at);
    if (!known_at)
      return Usage("--known-at: '" + args.known_at +
                   "' is not an RFC 3339 UTC instant (e.g. 2016-01-31T00:00:00Z)");
  }
  if (args.format != "json" && args.format != "html")
    return Usage("--format: '" + args.format + "' is not one of json, html");
  if (!IsDataDirectory(dir)) return NoDataDirectory(dir);
  auto engine = OpenReadOnly(dir);
  if (!engine.ok()) return Internal(engine.status());
  projections::ViewTime t;
  t.known_at = known_at;
  auto status = projections::StatusJson(**engine, *subject, t, Today(), false);
  if (!status.ok()) {
    if (status.status().code() == StatusCode::kNotFound) {
      std::printf("{\"error\":{\"code\":\"not_found\"}}\n");
      return kExitNotFound;
    }
    return Internal(status.status());
  }
  auto history = projections::HistoryJson(**engine, *subject, known_at, false);
  if (!history.ok()) return Internal(history.status());
  // The command line reads the server's journal of this directory; it does
  // not write to it (the server owns that file; docs/decisions.md).
  auto entries = server::ReadJournalEntries(dir, subject->text);
  if (!entries.ok()) return Internal(entries.status());
  projections::HouseholdFileInput in;
  in.subject = *subject;
  in.known_at = known_at;
  in.status_json = std::move(*status);
  in.history_json = std::move(*history);
  for (auto& e : *entries)
    in.access_log.push_back({e.at, std::move(e.role), std::move(e.org), std::move(e.endpoint), e.allowed});
  auto file = projections::HouseholdFileJson(**engine, in);
  if (!file.ok()) return Internal(file.status());
  if (args.format == "json") {
    std::printf("%s\n", file->c_str());
    return kExitOk;
  }
  auto html = projections::RenderHouseholdFileHtml(*file);
  if (!html.ok()) return Internal(html.status());
  std::fwrite(html->data(), 1, html->size(), stdout);
  return kExitOk;
}

}  // namespace relais::cli
