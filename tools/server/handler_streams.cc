// GET /v1/streams/{subject}/status and /events (and routes /file to
// handler_file.cc, /tenancy to handler_tenancy.cc, /evidence to
// handler_evidence.cc): one stream's fold or
// history as the caller's role may see it. Every read, allowed or refused, is
// journaled before it is answered; when the journal cannot record it, the
// answer is 503 and never the data.
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
  if (auto answer = JournaledAccess(s, caller, subject, endpoint, view)) return std::move(*answer);
  return Json(std::move(view->json));
}

}  // namespace

Routed RouteStreamRead(const Caller& caller, std::string_view rest, const Query& q) {
  Routed r;
  size_t slash = rest.rfind('/');
  std::string_view what = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (what != "status" && what != "events" && what != "file" && what != "tenancy" &&
      what != "evidence") {
    r.route = "unknown";
    r.response = Error(http::status::not_found, "not_found", "no_route", "no such endpoint");
    return r;
  }
  bool status = what == "status";
  bool file = what == "file";
  bool tenancy = what == "tenancy";
  bool evidence = what == "evidence";
  r.route = status ? "status" : file ? "file" : tenancy ? "tenancy" : evidence ? "evidence" : "history";
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
  if (file) {
    r.work = [c = caller, subj = std::move(*subject), q](State& s) {
      return HouseholdFile(s, c, subj, q);
    };
    return r;
  }
  if (tenancy) {
    r.work = [c = caller, subj = std::move(*subject), q](State& s) {
      return TenancyRead(s, c, subj, q);
    };
    return r;
  }
  r.work = [c = caller, subj = std::move(*subject), status, evidence, q](State& s) {
    if (evidence) return StreamEvidence(s, c, subj, q);
    return StreamRead(s, c, subj, status, q);
  };
  return r;
}

}  // namespace relais::server
