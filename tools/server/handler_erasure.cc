// POST /v1/streams/household%2F<id>/erasure {"reason"} (lifecycle.md §1):
// records PersonalDataErased with the token as the actor and destroys the
// household's key; 201 once the key is gone from every file. Roles: admin,
// and a coordinator of the household's territory. The server holds the data
// directory, so `relais erase` on a served directory exits 6 naming this route.
#include <simdjson.h>

#include "relais/projections/visibility.h"
#include "server/handlers.h"
#include "server/json_body.h"

namespace relais::server {

Response Erasure(State& s, const Caller& caller, const Subject& subject, const std::string& body) {
  if (subject.kind != StreamKind::kHousehold)
    return Error(http::status::not_found, "not_found", "no_route", "only a household stream has an erasure");
  if (caller.role != Role::kAdmin) {
    bool allowed = false;
    if (caller.role == Role::kCoordinator) {
      // Of the household's territory (as it stands now): MayReadSubject's scope.
      auto may = projections::MayReadSubject(*s.engine, caller, subject);
      if (!may.ok()) return Internal(may.status().message());
      allowed = *may;
    }
    if (!allowed) {
      s.metrics.Refusal("forbidden");
      return Forbidden("only an admin, or a coordinator of the household's territory, may erase it");
    }
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view reason_text;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS || !doc.is_object() ||
      doc["reason"].get(reason_text) != simdjson::SUCCESS)
    return Error(http::status::bad_request, "malformed", "malformed",
                 "field 'reason': the body must be {\"reason\": \"subject_request\"|"
                 "\"retention_expired\"|\"legal_obligation\"|\"other\"}");
  if (auto bad = RejectUnknownFields(doc, {"reason"})) return *bad;
  auto reason = ErasureReasonFromName(reason_text);
  if (!reason)
    return Error(http::status::bad_request, "malformed", "malformed",
                 "field 'reason': '" + std::string(reason_text) +
                     "' is not one of subject_request, retention_expired, legal_obligation, other");
  AppendOutcome o = s.engine->Erase(
      subject, *reason, ActorInfo{caller.name, std::string(RoleName(caller.role)), ActorOrg(caller)});
  return AppendResponse(s, o);
}

}  // namespace relais::server
