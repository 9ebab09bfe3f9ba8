// GET /v1/checkpoint, /v1/checkpoint/key, /v1/proofs/inclusion,
// /v1/proofs/consistency (any role: they reveal hashes only) and
// /v1/streams/{subject}/evidence (who may read the subject's history, as it
// is filtered for them). evidence.md §3.
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

Response StreamEvidence(State& s, const Caller& caller, const Subject& subject, const Query& q) {
  projections::ViewTime t;
  if (auto bad = ParseViewTime(q, &t)) return *bad;
  const char* endpoint = "/v1/streams/evidence";
  if (subject.kind == StreamKind::kDwelling) {
    // A dwelling's bundle is of its tenancy record (evidence.md §3), not of
    // its own stream's history: the events a dispute is about.
    auto read = ReadTenancyRecord(s, caller, subject, t, endpoint);
    if (auto* answer = std::get_if<Response>(&read)) return std::move(*answer);
    auto& rec = std::get<projections::TenancyView>(read);
    auto bundle = projections::EvidenceBundle(
        *s.engine, subject.text, t.known_at,
        projections::RenderTenancyJson(rec.record, rec.shown, rec.filtered, false), std::nullopt);
    if (!bundle.ok()) return FromStatus(bundle.status());
    return Json(std::move(*bundle));
  }
  auto view = projections::HistoryFor(*s.engine, caller, subject, t.known_at);
  if (auto answer = JournaledAccess(s, caller, subject, endpoint, view)) return std::move(*answer);
  auto bundle = projections::EvidenceBundle(*s.engine, subject.text, t.known_at, view->json, std::nullopt);
  if (!bundle.ok()) return FromStatus(bundle.status());
  return Json(std::move(*bundle));
}

}  // namespace relais::server
