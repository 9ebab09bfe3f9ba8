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
  r.body = s.metrics.Render(s.journal->bytes(), s.engine->GetHead().position);
  return r;
}

}  // namespace relais::server
