// POST /v1/events: authorised by the token's role, then appended with the
// token as the actor; 201 means on disk (a synced group commit).
#include "relais/json_writer.h"
#include "server/handlers.h"

namespace relais::server {

std::variant<Response, std::future<AppendOutcome>> StartAppend(State& s, const Caller& caller,
                                                              std::string body) {
  Status allowed;
  try {
    allowed = projections::AuthoriseWrite(*s.engine, caller, body);
  } catch (const std::exception& e) {
    allowed = Status::Internal(std::string("authorisation failed: ") + e.what());
  }
  if (!allowed.ok()) {
    s.metrics.Refusal("forbidden");
    return Error(http::status::forbidden, "forbidden", "forbidden", allowed.message());
  }
  AppendOptions o;
  o.actor =
      ActorInfo{caller.name, std::string(RoleName(caller.role)), ActorOrg(caller)};
  o.allow_actor_in_body = false;  // the token is the actor: a body that names one is malformed
  o.allow_recorded_at = caller.role == Role::kAdmin;  // migrations only
  o.sync = true;                                                   // 201 means on disk
  return s.engine->AppendAsync(std::move(body), o);
}

Response AppendResponse(State& s, const AppendOutcome& o) {
  switch (o.kind) {
    case AppendOutcome::Kind::kAccepted:
    case AppendOutcome::Kind::kDuplicate: {
      int64_t fresh = 0;
      JsonWriter w;
      w.BeginObject();
      w.Key("results").BeginArray();
      for (const auto& r : o.results) {
        if (!r.duplicate) ++fresh;
        w.BeginObject();
        w.Key("id").String(r.id);
        w.Key("position").Uint(r.position);
        w.Key("version").Int(r.version);
        w.Key("duplicate").Bool(r.duplicate);
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
      s.metrics.Appended(fresh);
      return Json(w.Take(), http::status::created);
    }
    case AppendOutcome::Kind::kRefused: {
      const Refusal& r = o.refusal;
      s.metrics.Refusal(r.code);
      http::status st = r.kind == "malformed"  ? http::status::bad_request
                        : r.kind == "conflict" ? http::status::conflict
                                               : http::status::unprocessable_entity;
      std::optional<int64_t> cv;
      if (r.current_version) cv = static_cast<int64_t>(*r.current_version);
      return Error(st, r.kind, r.code, r.message, r.id, cv);
    }
    case AppendOutcome::Kind::kError:
      break;
  }
  s.metrics.Refusal("engine_error");
  if (o.error.code() == StatusCode::kResourceExhausted)
    return Unavailable("busy", o.error.message());
  return Internal(o.error.message());
}

}  // namespace relais::server
