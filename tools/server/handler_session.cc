// Console sessions (docs/server.md "Sessions", server/session_store.h):
// POST /v1/session {"token"} -> 201 and the `relais_session` cookie;
// GET /v1/session -> who this is; DELETE /v1/session -> 204, cookie cleared.
// And how every request is authenticated: bearer first, else the cookie.
#include <simdjson.h>

#include "relais/json_writer.h"
#include "relais/role.h"
#include "server/handlers.h"
#include "server/token_store.h"

namespace relais::server {

namespace {

constexpr size_t kTokenChars = 256;  // a token secret is 68 characters

std::string CookieHeader(const State& s, std::string_view value, int64_t max_age_s) {
  std::string c = std::string(kSessionCookie) + "=" + std::string(value) +
                  "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" + std::to_string(max_age_s);
  if (s.options.cookie_secure) c += "; Secure";
  return c;
}

Response SessionBody(const Caller& c, const SessionInfo* session, http::status status) {
  JsonWriter w;
  w.BeginObject();
  w.Key("name").String(c.name);
  w.Key("role").String(RoleName(c.role));
  w.Key("territory");
  c.territory.empty() ? w.Null() : w.String(c.territory);
  w.Key("org");
  c.org.empty() ? w.Null() : w.String(c.org);
  w.Key("expiresAt");
  session ? w.String(FormatTimestamp(session->expires)) : w.Null();
  w.Key("csrfToken");
  session ? w.String(session->csrf) : w.Null();
  w.EndObject();
  Response r = Json(w.Take(), status);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

Response Unauthorized(std::string_view message) {
  return Error(http::status::unauthorized, "unauthorized", "unauthorized", message);
}

}  // namespace

Authn AuthenticateRequest(State& s, const Request& req) {
  Authn a;
  if (auto auth = req.Header("Authorization")) {
    a.sent_credentials = true;
    a.principal = Authenticate(s, auth, &a.expired);
    if (a.principal) a.token_sha256 = Sha256Hex(auth->substr(7));  // "Bearer " checked by Authenticate
    return a;
  }
  auto cookies = req.Header("Cookie");
  if (!cookies) return a;
  auto id = CookieValue(*cookies, kSessionCookie);
  if (!id) return a;
  a.sent_credentials = true;
  auto session = s.sessions->Find(*id);
  if (!session) return a;
  a.principal = s.tokens->LookupHash(session->token_sha256, &a.expired);
  if (!a.principal) {
    // The token was revoked or has expired (or its file lost it): its
    // sessions die now.
    s.sessions->RemoveToken(session->token_sha256);
    return a;
  }
  a.by_cookie = true;
  a.session_id = std::string(*id);
  a.token_sha256 = session->token_sha256;
  a.session = std::move(session);
  return a;
}

std::optional<Response> CheckCsrf(const Request& req, const Authn& a) {
  if (!a.by_cookie || req.method == http::verb::get || req.method == http::verb::head)
    return std::nullopt;
  auto sent = req.Header("X-CSRF-Token");
  if (sent && SecretEquals(*sent, a.session->csrf)) return std::nullopt;
  return Error(http::status::forbidden, "forbidden", "csrf",
               sent ? "the X-CSRF-Token header does not match this session"
                    : "a request authenticated by the session cookie needs the X-CSRF-Token "
                      "header (the csrfToken of POST /v1/session)");
}

Response SessionCreate(State& s, const Request& req) {
  // A JSON content type: a cross-site HTML form cannot send one, so another
  // site cannot sign a browser in under its own token (login CSRF).
  auto type = req.Header("Content-Type");
  if (!type || type->substr(0, 16) != "application/json")
    return Error(http::status::unsupported_media_type, "malformed", "unsupported_media_type",
                 "POST /v1/session takes Content-Type: application/json");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view token;
  if (parser.parse(req.body).get(doc) != simdjson::SUCCESS || !doc.is_object())
    return Malformed("the body must be a JSON object {\"token\": \"...\"}");
  if (doc["token"].get(token) != simdjson::SUCCESS)
    return Malformed("field 'token' is required and must be a string");
  if (token.size() > kTokenChars) return Unauthorized("unknown or revoked token");
  std::string hash = Sha256Hex(token);
  bool expired = false;
  auto principal = s.tokens->LookupHash(hash, &expired);
  if (!principal && expired)
    return Error(http::status::unauthorized, "unauthorized", "token_expired",
                 "the token has expired: ask for a new one (relais token add)");
  if (!principal) return Unauthorized("unknown or revoked token");
  // The console shows case data; a metrics token reads /metrics only.
  if (!principal->caller) return Forbidden("the metrics role has no console session");
  const projections::Caller& caller = *principal->caller;
  // A browser signing in again drops the session it had (no two live ids
  // for one browser, and a planted cookie does not survive a sign-in).
  if (auto cookies = req.Header("Cookie"))
    if (auto old = CookieValue(*cookies, kSessionCookie)) s.sessions->Remove(*old);
  auto created = s.sessions->Create(hash, principal->expires);
  if (!created.ok()) return Unavailable("too_many_sessions", created.status().message());
  Response r = SessionBody(caller, &created->info, http::status::created);
  // The cookie goes when the session does (at its token's expiry, if sooner).
  int64_t max_age_s = (created->info.expires.micros - created->info.created.micros) / 1000000;
  r.headers.emplace_back("Set-Cookie", CookieHeader(s, created->id, max_age_s));
  return r;
}

Response SessionRead(const Authn& a) {
  return SessionBody(*a.principal->caller, a.session ? &*a.session : nullptr, http::status::ok);
}

Response SessionDelete(State& s, const Authn& a) {
  if (a.by_cookie) s.sessions->Remove(a.session_id);
  Response r;
  r.status = http::status::no_content;
  r.content_type.clear();
  r.headers.emplace_back("Set-Cookie", CookieHeader(s, "", 0));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

}  // namespace relais::server
