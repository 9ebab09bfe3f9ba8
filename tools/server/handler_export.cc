// GET /v1/export: the pseudonymised NDJSON export (evaluator, admin). It is
// journaled as one read of every subject ("*") before the first byte; a
// journal that cannot record it refuses the export (503).
#include "server/handlers.h"

namespace relais::server {

namespace {
constexpr size_t kExportChunkBytes = 64 << 10;
}  // namespace

Routed RouteExport(State& s, const Caller& caller, const Query& q) {
  Routed r;
  r.route = "export";
  if (caller.role != projections::Role::kEvaluator && caller.role != projections::Role::kAdmin) {
    r.response = Forbidden("only evaluators read the pseudonymised export");
    return r;
  }
  projections::ViewTime t;
  if (auto bad = ParseViewTime(q, &t)) {
    r.response = std::move(*bad);
    return r;
  }
  if (!s.JournalText(caller, "*", "/v1/export", true).ok()) {
    r.response = Unavailable("journal_unavailable", "the access journal cannot record this read");
    return r;
  }
  r.kind = Routed::Kind::kStream;
  r.content_type = "application/x-ndjson";
  r.stream = [known_at = t.known_at](State& s, const Sink& sink) {
    std::string buf;
    bool ok = true;
    Status st = projections::ExportPseudonymised(*s.engine, known_at, s.pseudonym_key,
                                                 [&](std::string_view line) {
                                                   buf.append(line);
                                                   if (buf.size() >= kExportChunkBytes) {
                                                     ok = sink(buf);
                                                     buf.clear();
                                                   }
                                                   return ok && !s.stopping.load();
                                                 });
    if (ok && st.ok()) sink(buf);
  };
  return r;
}

}  // namespace relais::server
