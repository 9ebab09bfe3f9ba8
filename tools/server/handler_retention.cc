// GET /v1/retention?asOf=&knownAt=: the households due for erasure
// (lifecycle.md §2), admin and auditor; nothing is applied. POST
// /v1/retention?asOf= (admin) applies it like `relais retention --apply`.
// Optional `years` and `keepHistoryYears` override the durations, like the
// command line's options.
#include "relais/projections/retention.h"
#include "server/handlers.h"

namespace relais::server {

namespace {

std::optional<Response> ParseYears(const Query& q, std::string_view key, int32_t* out) {
  auto v = Param(q, key);
  if (!v || v->empty()) return std::nullopt;
  int64_t n = 0;
  bool ok = v->size() <= 4;
  for (char c : *v) ok = ok && c >= '0' && c <= '9';
  if (ok) n = std::stoll(*v);
  if (!ok || n < projections::kRetentionYearsMin || n > projections::kRetentionYearsMax)
    return Malformed(std::string(key) + ": '" + v->substr(0, 16) + "' is not a number of years (" +
                     std::to_string(projections::kRetentionYearsMin) + " to " +
                     std::to_string(projections::kRetentionYearsMax) + ")");
  *out = static_cast<int32_t>(n);
  return std::nullopt;
}

}  // namespace

std::optional<Response> ParseRetentionRequest(const Query& q, projections::RetentionRequest* r) {
  if (auto bad = ParseViewTime(q, &r->time)) return bad;
  if (auto bad = ParseYears(q, "years", &r->policy.years)) return bad;
  if (auto bad = ParseYears(q, "keepHistoryYears", &r->policy.keep_history_years)) return bad;
  r->today = Today();
  return std::nullopt;
}

Response RetentionRead(State& s, const Caller& caller, const Query& q) {
  if (!projections::MayReadRetention(caller)) return Forbidden("the token may not read retention");
  projections::RetentionRequest req;
  req.policy.years = s.options.retention_years;
  req.policy.keep_history_years = s.options.retention_keep_history_years;
  if (auto bad = ParseRetentionRequest(q, &req)) return *bad;
  auto r = projections::ComputeRetention(*s.engine, req);
  if (!r.ok()) return Internal(r.status().message());
  return Json(projections::RenderRetention(*r, std::nullopt));
}

Response RetentionApply(State& s, const Caller& caller, const Query& q) {
  if (!projections::MayApplyRetention(caller)) return Forbidden("only an admin may apply retention");
  projections::RetentionRequest req;
  req.policy.years = s.options.retention_years;
  req.policy.keep_history_years = s.options.retention_keep_history_years;
  if (auto bad = ParseRetentionRequest(q, &req)) return *bad;
  // knownAt is not among this route's parameters (router.cc): retention is
  // applied with what is known now.
  if (req.time.as_of && *req.time.as_of > req.today)
    return Malformed("asOf: " + FormatDate(*req.time.as_of) + " is later than today (" +
                     FormatDate(req.today) + ")");
  auto r = projections::ApplyRetention(*s.engine, req);
  if (!r.ok()) return Internal(r.status().message());
  return Json(projections::RenderRetention(r->result, r->applied));
}

}  // namespace relais::server
