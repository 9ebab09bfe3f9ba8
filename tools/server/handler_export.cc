// GET /v1/export: the pseudonymised NDJSON export (evaluator, admin). It is
// journaled as one read of every subject ("*") before the first byte; a
// journal that cannot record it refuses the export (503).
#include <cstdio>

#include "relais/json_writer.h"
#include "server/handlers.h"

namespace relais::server {

namespace {

// A piece is at least this (so at most this plus one event's line): the
// memory of one export stream, besides the exporter's table of event types.
constexpr size_t kExportChunkBytes = 64 << 10;

class ExportSource : public StreamSource {
 public:
  ExportSource(Engine& engine, std::optional<Timestamp> known_at, std::string key)
      : export_(engine, known_at, std::move(key)) {}
  Pulled Next(State& s) override {
    if (done_ || s.stopping.load()) return End();
    std::string piece;
    Status st = export_.Next(kExportChunkBytes, &piece, &done_);
    // A failed read ends the body after the last whole piece, never inside one.
    if (!st.ok()) {
      s.log->Error("export", [&](JsonWriter& w) { w.Key("error").String(st.message()); });
      done_ = true;
      return End();
    }
    if (piece.empty()) return End();
    return Chunk(std::move(piece));
  }

 private:
  projections::PseudonymisedExport export_;
  bool done_ = false;
};

}  // namespace

Routed RouteExport(State& s, const Caller& caller, const Query& q) {
  Routed r;
  r.route = "export";
  if (caller.role != Role::kEvaluator && caller.role != Role::kAdmin) {
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
  r.stream = std::make_unique<ExportSource>(*s.engine, t.known_at, s.pseudonym_key);
  return r;
}

}  // namespace relais::server
