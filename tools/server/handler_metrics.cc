// GET /healthz (no token: a liveness probe) and GET /metrics (Prometheus).
#include "relais/json_writer.h"
#include "server/handlers.h"
#include "version/version.h"

namespace relais::server {

// The build's version tells an operator (or a deployment check) which build
// answers; it is no secret (the package's version is public).
Response Healthz() {
  JsonWriter w;
  w.BeginObject().Key("ok").Bool(true).Key("version").String(Version()).EndObject();
  return Json(w.Take());
}

Response MetricsPage(State& s) {
  Response r;
  r.content_type = "text/plain; version=0.0.4";
  Metrics::Outside o;
  o.journal_bytes = s.journal->total_bytes();
  o.journal_rotations = s.journal->rotations();
  o.log_position = s.engine->GetHead().position;
  o.log_lines_dropped = s.log->dropped();
  o.engine = s.engine->Stats();
  r.body = s.metrics.Render(o);
  return r;
}

}  // namespace relais::server
