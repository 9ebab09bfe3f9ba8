// GET /v1/streams/{subject}/status, /events and /tenancy: one stream's fold or
// history, or a dwelling's tenancy record, as the caller's role may see it. Every read, allowed or refused, is
// journaled before it is answered; when the journal cannot record it, the
// answer is 503 and never the data.
#include <set>

#include "relais/projections/tenancy.h"
#include "relais/projections/views.h"
#include "server/handlers.h"

namespace relais::server {

namespace {

Response StreamRead(State& s, const Caller& caller, const Subject& subject, bool status,
                    const Query& q) {
  projections::ViewTime t;
  if (auto bad = ParseViewTime(q, &t)) return *bad;
  const char* endpoint = status ? "/v1/streams/status" : "/v1/streams/events";
  auto view = status ? projections::StatusFor(*s.engine, caller, subject, t, Today())
                     : projections::HistoryFor(*s.engine, caller, subject, t.known_at);
  if (!view.ok()) {
    if (view.status().code() == StatusCode::kNotFound) {
      if (!s.Journal(caller, subject, endpoint, true).ok())
        return Unavailable("journal_unavailable", "the access journal cannot record this read");
      return Error(http::status::not_found, "not_found", "not_found",
                   "no event of " + subject.text + " is known at that time");
    }
    return Internal(view.status().message());
  }
  bool allowed = view->access != projections::Access::kForbidden;
  if (!s.Journal(caller, subject, endpoint, allowed).ok())
    return Unavailable("journal_unavailable", "the access journal cannot record this read");
  if (!allowed) return Forbidden("the token may not read " + subject.text);
  return Json(std::move(view->json));
}

// evidence.md §0. The record holds household events too: every household
// whose events it shows is journaled beside the dwelling, so that the
// journal answers "who read this household's data" for this path as well.
Response TenancyRead(State& s, const Caller& caller, const Subject& subject, const Query& q) {
  constexpr const char* kEndpoint = "/v1/streams/tenancy";
  projections::ViewTime t;
  if (auto bad = ParseViewTime(q, &t)) return *bad;
  std::string format = Param(q, "format").value_or("json");
  if (format.empty()) format = "json";
  if (format != "json" && format != "html")
    return Malformed("format: '" + format.substr(0, 64) + "' is not one of json, html");
  if (subject.kind != StreamKind::kDwelling)
    return Malformed("a tenancy record is a dwelling's (dwelling/<id>), not " + subject.text);
  auto view = projections::TenancyFor(*s.engine, caller, subject, t, Today());
  if (!view.ok()) {
    if (view.status().code() == StatusCode::kNotFound) {
      if (!s.Journal(caller, subject, kEndpoint, true).ok())
        return Unavailable("journal_unavailable", "the access journal cannot record this read");
      return Error(http::status::not_found, "not_found", "not_found",
                   "no event of " + subject.text + " is known at that time");
    }
    return Internal(view.status().message());
  }
  bool allowed = view->access != projections::Access::kForbidden;
  if (!s.Journal(caller, subject, kEndpoint, allowed).ok())
    return Unavailable("journal_unavailable", "the access journal cannot record this read");
  if (!allowed) return Forbidden("the token may not read " + subject.text);
  std::set<std::string> households;
  for (size_t i = 0; i < view->record.events.size(); ++i) {
    const StoredEventView& v = view->record.events[i].view;
    if (view->shown.shown[i] && v.subject.kind == StreamKind::kHousehold)
      households.insert(v.subject.text);
  }
  for (const std::string& h : households)
    if (!s.JournalText(caller, h, kEndpoint, true).ok())
      return Unavailable("journal_unavailable", "the access journal cannot record this read");
  if (format == "html") {
    Response r;
    r.content_type = "text/html; charset=utf-8";
    // The checkpoint section is a placeholder until checkpoints exist.
    r.body = projections::RenderTenancyHtml(view->record, view->shown, view->filtered, "");
    return r;
  }
  return Json(projections::RenderTenancyJson(view->record, view->shown, view->filtered, false));
}

}  // namespace

Routed RouteStreamRead(const Caller& caller, std::string_view rest, const Query& q) {
  Routed r;
  size_t slash = rest.rfind('/');
  std::string_view what = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (what != "status" && what != "events" && what != "tenancy") {
    r.route = "unknown";
    r.response = Error(http::status::not_found, "not_found", "no_route", "no such endpoint");
    return r;
  }
  bool status = what == "status";
  bool tenancy = what == "tenancy";
  r.route = status ? "status" : tenancy ? "tenancy" : "history";
  bool ok = true;
  std::string subject_text = PercentDecode(rest.substr(0, slash), false, &ok);
  std::string why;
  auto subject = ok ? ParseSubject(subject_text, &why) : std::nullopt;
  if (!subject) {
    r.response =
        Malformed("subject '" + subject_text + "': " + (ok ? why : "bad percent escape"));
    return r;
  }
  r.kind = Routed::Kind::kWork;
  r.work = [c = caller, subj = std::move(*subject), status, tenancy, q](State& s) {
    if (tenancy) return TenancyRead(s, c, subj, q);
    return StreamRead(s, c, subj, status, q);
  };
  return r;
}

}  // namespace relais::server
