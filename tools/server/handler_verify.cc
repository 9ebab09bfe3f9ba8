// GET /v1/verify: the chain and index check (admin, auditor).
#include "relais/projections/views.h"
#include "server/handlers.h"

namespace relais::server {

Response Verify(State& s, const Caller& caller) {
  if (!projections::MayVerify(caller)) return Forbidden("the token may not run verify");
  VerifyReport r = s.engine->Verify({});
  return Json(projections::VerifyJson(*s.engine, &r));
}

}  // namespace relais::server
