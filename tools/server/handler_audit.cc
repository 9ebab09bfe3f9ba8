// GET /v1/audit/access: the access journal, for auditors (and admins).
#include "server/handlers.h"

namespace relais::server {

Response Audit(State& s, const Caller& caller, const Query& q) {
  if (caller.role != Role::kAuditor && caller.role != Role::kAdmin)
    return Forbidden("only auditors read the access journal");
  std::optional<Timestamp> from, to;
  for (const char* key : {"from", "to"}) {
    auto v = Param(q, key);
    if (!v || v->empty()) continue;
    auto ts = ParseTimestamp(*v);
    if (!ts) return Malformed(std::string(key) + ": '" + *v + "' is not an RFC 3339 UTC instant");
    (std::string_view(key) == "from" ? from : to) = ts;
  }
  auto json = s.journal->QueryJson(Param(q, "subject").value_or(""), from, to);
  if (!json.ok()) return Internal(json.status().message());
  return Json(std::move(*json));
}

}  // namespace relais::server
