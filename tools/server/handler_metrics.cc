// GET /healthz (no token: a liveness probe) and GET /metrics (Prometheus).
#include "server/handlers.h"

namespace relais::server {

Response Healthz() { return Json("{\"ok\":true}"); }

Response MetricsPage(State& s) {
  Response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = s.metrics.Render(s.journal->total_bytes(), s.engine->GetHead().position);
  return r;
}

}  // namespace relais::server
