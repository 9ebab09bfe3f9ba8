// GET /healthz (no token: a liveness probe) and GET /metrics (Prometheus).
#include "server/handlers.h"

namespace relais::server {

Response Healthz() { return Json("{\"ok\":true}"); }

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
