// GET /v1/checkpoint, /v1/checkpoint/key, /v1/proofs/inclusion,
// /v1/proofs/consistency (any role: they reveal hashes only) and
// /v1/streams/{subject}/evidence (who may read the subject's history, as it
// is filtered for them). evidence.md §3.
#include <set>

#include "relais/projections/evidence.h"
#include "relais/projections/tenancy.h"
#include "relais/projections/visibility.h"
#include "server/handlers.h"

namespace relais::server {

namespace {

// A query value that must be a count of 1 or more (a size or a position);
// absent: `dflt`. nullopt with *bad set on anything else.
std::optional<Position> CountParam(const Query& q, std::string_view key, std::optional<Position> dflt,
                                   std::optional<Response>* bad) {
  auto v = Param(q, key);
  if (!v) {
    if (!dflt) *bad = Malformed(std::string(key) + " is required");
    return dflt;
  }
  uint64_t n = 0;
  bool ok = !v->empty() && v->size() <= 18;
  for (char c : *v) {
    if (c < '0' || c > '9') ok = false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!ok || n == 0) {
    *bad = Malformed(std::string(key) + ": '" + *v + "' is not a number of 1 or more");
    return std::nullopt;
  }
  return n;
}

Response FromStatus(const Status& st) {
  if (st.code() == StatusCode::kInvalidArgument) return Malformed(st.message());
  if (st.code() == StatusCode::kFailedPrecondition)
    return Error(http::status::service_unavailable, "unavailable", "no_tree", st.message());
  return Internal(st.message());
}

}  // namespace

Response CheckpointText(State& s, const Query& q) {
  std::optional<Response> bad;
  auto size = CountParam(q, "size", s.engine->GetHead().position, &bad);
  if (bad) return *bad;
  auto note = s.engine->Checkpoint(*size);
  if (!note.ok()) return FromStatus(note.status());
  Response r;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(*note);
  return r;
}

Response CheckpointKey(State& s) {
  auto key = s.engine->VerifierKey();
  if (!key.ok()) return FromStatus(key.status());
  Response r;
  r.content_type = "text/plain; charset=utf-8";
  r.body = *key + "\n";
  return r;
}

Response InclusionProofResponse(State& s, const Query& q) {
  std::optional<Response> bad;
  auto position = CountParam(q, "position", std::nullopt, &bad);
  if (bad) return *bad;
  auto size = CountParam(q, "size", s.engine->GetHead().position, &bad);
  if (bad) return *bad;
  auto p = s.engine->ProveInclusion(*position, *size);
  if (!p.ok()) return FromStatus(p.status());
  return Json(projections::InclusionJson(*p));
}

Response ConsistencyProofResponse(State& s, const Query& q) {
  std::optional<Response> bad;
  auto from = CountParam(q, "from", std::nullopt, &bad);
  if (bad) return *bad;
  auto size = CountParam(q, "size", s.engine->GetHead().position, &bad);
  if (bad) return *bad;
  auto p = s.engine->ProveConsistency(*from, *size);
  if (!p.ok()) return FromStatus(p.status());
  return Json(projections::ConsistencyJson(*p));
}

// The view a bundle is made of (evidence.md §3): a dwelling's tenancy record
// (§0), as TenancyRead shows it to the caller, or any other subject's history.
// `households`: the household streams whose events the view shows, to journal.
Result<projections::FilteredView> EvidenceView(State& s, const Caller& caller, const Subject& subject,
                                               const projections::ViewTime& t,
                                               std::set<std::string>* households) {
  if (subject.kind != StreamKind::kDwelling)
    return projections::HistoryFor(*s.engine, caller, subject, t.known_at);
  ASSIGN_OR_RETURN(projections::TenancyView view,
                   projections::TenancyFor(*s.engine, caller, subject, t, Today()));
  projections::FilteredView out;
  out.access = view.access;
  if (view.access == projections::Access::kForbidden) return out;
  for (size_t i = 0; i < view.record.events.size(); ++i) {
    const StoredEventView& v = view.record.events[i].view;
    if (view.shown.shown[i] && v.subject.kind == StreamKind::kHousehold)
      households->insert(v.subject.text);
  }
  out.json = projections::RenderTenancyJson(view.record, view.shown, view.filtered, false);
  return out;
}

Response StreamEvidence(State& s, const Caller& caller, const Subject& subject, const Query& q) {
  projections::ViewTime t;
  if (auto bad = ParseViewTime(q, &t)) return *bad;
  const char* endpoint = "/v1/streams/evidence";
  std::set<std::string> households;
  auto view = EvidenceView(s, caller, subject, t, &households);
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
  for (const std::string& h : households)
    if (!s.JournalText(caller, h, endpoint, true).ok())
      return Unavailable("journal_unavailable", "the access journal cannot record this read");
  auto bundle = projections::EvidenceBundle(*s.engine, subject.text, t.known_at, view->json, std::nullopt);
  if (!bundle.ok()) return FromStatus(bundle.status());
  return Json(std::move(*bundle));
}

}  // namespace relais::server
