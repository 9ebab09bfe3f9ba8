// GET /v1/streams/dwelling%2F<id>/tenancy: a dwelling's tenancy record
// (evidence.md §0) as the caller's role may see it, in JSON or as the French
// dispute file. Journaled before it is answered, like every stream read.
#include <set>
#include <variant>

#include "relais/projections/tenancy.h"
#include "relais/projections/visibility.h"
#include "server/handlers.h"

namespace relais::server {

// evidence.md §0. The record holds household events too: every household
// whose events it shows is journaled beside the dwelling, so that the
// journal answers "who read this household's data" for this path as well.
// The record as the caller may see it, journaled under `endpoint` (the
// record's own route, or its evidence bundle's): the view, or the answer to
// give instead (404, 403, 503).
std::variant<projections::TenancyView, Response> ReadTenancyRecord(State& s, const Caller& caller,
                                                                  const Subject& subject,
                                                                  const projections::ViewTime& t,
                                                                  const char* endpoint) {
  if (subject.kind != StreamKind::kDwelling)
    return Malformed("a tenancy record is a dwelling's (dwelling/<id>), not " + subject.text);
  auto view = projections::TenancyFor(*s.engine, caller, subject, t, Today());
  if (auto answer = JournaledAccess(s, caller, subject, endpoint, view)) return std::move(*answer);
  std::set<std::string> households;
  for (size_t i = 0; i < view->record.events.size(); ++i) {
    const StoredEventView& v = view->record.events[i].view;
    if (view->shown.shown[i] && v.subject.kind == StreamKind::kHousehold)
      households.insert(v.subject.text);
  }
  for (const std::string& h : households)
    if (!s.JournalText(caller, h, endpoint, true).ok())
      return Unavailable("journal_unavailable", "the access journal cannot record this read");
  return std::move(*view);
}

Response TenancyRead(State& s, const Caller& caller, const Subject& subject, const Query& q) {
  constexpr const char* kEndpoint = "/v1/streams/tenancy";
  projections::ViewTime t;
  if (auto bad = ParseViewTime(q, &t)) return *bad;
  std::string format = Param(q, "format").value_or("json");
  if (format.empty()) format = "json";
  if (format != "json" && format != "html")
    return Malformed("format: '" + format.substr(0, 64) + "' is not one of json, html");
  auto read = ReadTenancyRecord(s, caller, subject, t, kEndpoint);
  if (auto* answer = std::get_if<Response>(&read)) return std::move(*answer);
  auto* view = &std::get<projections::TenancyView>(read);
  if (format == "html") {
    Response r;
    r.content_type = "text/html; charset=utf-8";
    r.body = projections::RenderTenancyHtml(
        view->record, view->shown, view->filtered,
        projections::TenancyCheckpointNote(*s.engine, view->record));
    return r;
  }
  return Json(projections::RenderTenancyJson(view->record, view->shown, view->filtered, false));
}

}  // namespace relais::server
