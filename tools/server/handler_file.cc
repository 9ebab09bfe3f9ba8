// GET /v1/streams/household%2F<id>/file?knownAt=&format=json|html: the
// household's own file (lifecycle.md §3), made of the caller's status and
// history views (so it never shows more than they do) and the access
// journal's entries about the household before this read. The read is
// journaled like any other, allowed or refused; when the journal cannot
// record it, 503 and never the data.
#include "relais/projections/household_file.h"
#include "relais/projections/visibility.h"
#include "server/handlers.h"

namespace relais::server {

namespace {

constexpr std::string_view kEndpoint = "/v1/streams/file";

Response Unjournaled() {
  return Unavailable("journal_unavailable", "the access journal cannot record this read");
}

}  // namespace

Response HouseholdFile(State& s, const Caller& caller, const Subject& subject, const Query& q) {
  if (subject.kind != StreamKind::kHousehold)
    return Error(http::status::not_found, "not_found", "no_route",
                 "a file is a household's: /v1/streams/household%2F<id>/file");
  projections::ViewTime t;
  if (auto bad = ParseViewTime(q, &t)) return *bad;
  t.as_of.reset();  // the status of a file is at the default D (lifecycle.md §3)
  std::string format = Param(q, "format").value_or("json");
  if (format.empty()) format = "json";
  if (format != "json" && format != "html")
    return Malformed("format: '" + format.substr(0, 64) + "' is not one of json, html");
  if (!projections::MayReadHouseholdFile(caller)) {
    if (!s.Journal(caller, subject, kEndpoint, false).ok()) return Unjournaled();
    return Forbidden("the token may not read a household's file");
  }
  auto status = projections::StatusFor(*s.engine, caller, subject, t, Today());
  if (!status.ok() && status.status().code() == StatusCode::kNotFound) {
    if (!s.Journal(caller, subject, kEndpoint, true).ok()) return Unjournaled();
    return Error(http::status::not_found, "not_found", "not_found",
                 "no event of " + subject.text + " is known at that time");
  }
  if (!status.ok()) return Internal(status.status().message());
  if (status->access == projections::Access::kForbidden) {
    if (!s.Journal(caller, subject, kEndpoint, false).ok()) return Unjournaled();
    return Forbidden("the token may not read " + subject.text);
  }
  auto history = projections::HistoryFor(*s.engine, caller, subject, t.known_at);
  if (!history.ok()) return Internal(history.status().message());
  // The entries before this read: read first, journal after.
  auto entries = ReadJournalEntries(s.options.data_dir, subject.text);
  if (!entries.ok()) return Internal(entries.status().message());
  projections::HouseholdFileInput in;
  in.subject = subject;
  in.known_at = t.known_at;
  in.status_json = std::move(status->json);
  in.history_json = std::move(history->json);
  in.access_log.reserve(entries->size());
  for (auto& e : *entries)
    in.access_log.push_back({e.at, std::move(e.role), std::move(e.org), std::move(e.endpoint), e.allowed});
  auto file = projections::HouseholdFileJson(*s.engine, in);
  if (!file.ok()) {
    if (file.status().code() == StatusCode::kNotFound)
      return Error(http::status::not_found, "not_found", "not_found", file.status().message());
    return Internal(file.status().message());
  }
  if (!s.Journal(caller, subject, kEndpoint, true).ok()) return Unjournaled();
  if (format == "json") return Json(std::move(*file));
  auto html = projections::RenderHouseholdFileHtml(*file);
  if (!html.ok()) return Internal(html.status().message());
  Response r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(*html);
  return r;
}

}  // namespace relais::server
