// GET /v1/caseload?territory=&asOf=&knownAt=&limit=&cursor=&needsAction=
// (projections/caseload.h): admin, or the coordinator of the territory (a
// coordinator's own territory when the parameter is absent).
#include "relais/projections/caseload.h"
#include "server/handlers.h"

namespace relais::server {

Response Caseload(State& s, const Caller& caller, const Query& q) {
  // Every parameter is checked first, so that a bad one is named whatever
  // else is missing; then the territory and who may read it.
  projections::CaseloadRequest req;
  if (auto bad = ParseViewTime(q, &req.time)) return *bad;
  req.today = Today();
  req.cache = &s.caseload_cache;
  if (auto v = Param(q, "limit"); v && !v->empty()) {
    bool ok = v->size() <= 4;
    for (char c : *v) ok = ok && c >= '0' && c <= '9';
    size_t n = ok ? std::stoul(*v) : 0;
    if (!ok || n < 1 || n > projections::kCaseloadLimitMax)
      return Malformed("limit: '" + v->substr(0, 16) + "' is not a number from 1 to " +
                       std::to_string(projections::kCaseloadLimitMax));
    req.limit = n;
  }
  if (auto v = Param(q, "cursor"); v && !v->empty()) {
    std::string why;
    auto subject = ParseSubject(*v, &why);
    if (!subject || subject->kind != StreamKind::kHousehold)
      return Malformed("cursor: '" + v->substr(0, 80) + "' is not the `next` of a caseload page");
    req.cursor = subject->text;
  }
  if (auto v = Param(q, "needsAction"); v && !v->empty()) {
    if (*v != "true" && *v != "false") return Malformed("needsAction: true or false");
    req.needs_action = *v == "true";
  }
  std::string territory = Param(q, "territory").value_or("");
  if (territory.empty()) territory = caller.territory;
  if (territory.empty()) return Malformed("territory: required (lille, sud or flandres)");
  auto t = projections::TerritoryFromName(territory);
  if (!t) return Malformed("territory: '" + territory.substr(0, 64) + "' is not lille, sud or flandres");
  if (!projections::MayReadCaseload(caller, territory))
    return Forbidden("only an admin or the coordinator of " + territory + " may read its caseload");
  req.territory = *t;
  auto page = projections::ComputeCaseload(*s.engine, req);
  if (!page.ok()) return Internal(page.status().message());
  // Each row shows a household's state: each is journaled as read, like the
  // feed's subjects, before anything is answered.
  for (const auto& row : page->rows)
    if (!s.JournalText(caller, row.subject, "/v1/caseload", true).ok())
      return Unavailable("journal_unavailable", "the access journal cannot record this read");
  Response r = Json(projections::RenderCaseload(*page, *t));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace relais::server
