// The handlers, one file per resource (handler_*.cc). Each validates its
// parameters, checks the role and returns what to do (server/router.h).
#pragma once

#include <future>
#include <optional>
#include <string_view>
#include <variant>

#include "relais/engine.h"
#include "relais/projections/visibility.h"
#include "server/router.h"

namespace relais::server {

using projections::Caller;

// GET /healthz (no token) and GET /metrics.
Response Healthz();
Response MetricsPage(State& s);

// GET /v1/streams/{subject}/status|events; `rest` is the path after /v1/streams/.
Routed RouteStreamRead(const Caller& caller, std::string_view rest, const Query& q);

// GET /v1/streams/household%2F<id>/file (server/handler_file.cc).
Response HouseholdFile(State& s, const Caller& caller, const Subject& subject, const Query& q);

// The access step of every route that shows a stream (status, history, the
// tenancy record, evidence): journals the read under `endpoint`, allowed or
// refused, before anything is answered. nullopt when the caller may read
// `view`; otherwise the answer to give instead: 404 for a subject unknown at
// that time, 403, 503 when the journal cannot record the read, 500.
template <class View>
std::optional<Response> JournaledAccess(State& s, const Caller& caller, const Subject& subject,
                                        const char* endpoint, const Result<View>& view) {
  if (!view.ok()) {
    if (view.status().code() != StatusCode::kNotFound) return Internal(view.status().message());
    if (!s.Journal(caller, subject, endpoint, true).ok())
      return Unavailable("journal_unavailable", "the access journal cannot record this read");
    return Error(http::status::not_found, "not_found", "not_found",
                 "no event of " + subject.text + " is known at that time");
  }
  bool allowed = view->access != projections::Access::kForbidden;
  if (!s.Journal(caller, subject, endpoint, allowed).ok())
    return Unavailable("journal_unavailable", "the access journal cannot record this read");
  if (!allowed) return Forbidden("the token may not read " + subject.text);
  return std::nullopt;
}

// GET /v1/streams/dwelling%2F<id>/tenancy (server/handler_tenancy.cc).
Response TenancyRead(State& s, const Caller& caller, const Subject& subject, const Query& q);
// The tenancy record the caller may see, journaled under `endpoint`; or the
// answer to give instead (400 for a non-dwelling, 404, 403, 503). Shared by
// the record's route and its evidence bundle's (evidence.md §3).
std::variant<projections::TenancyView, Response> ReadTenancyRecord(State& s, const Caller& caller,
                                                                  const Subject& subject,
                                                                  const projections::ViewTime& t,
                                                                  const char* endpoint);

// GET and POST /v1/retention (server/handler_retention.cc).
Response RetentionRead(State& s, const Caller& caller, const Query& q);
Response RetentionApply(State& s, const Caller& caller, const Query& q);

// POST /v1/events. StartAppend authorises (engine reads: on a worker) and
// submits; the future completes when the batch is durable.
std::variant<Response, std::future<AppendOutcome>> StartAppend(State& s, const Caller& caller,
                                                              std::string body);
Response AppendResponse(State& s, const AppendOutcome& o);

// GET /v1/reports/indicators
Response Report(State& s, const Caller& caller, const Query& q);
// GET /v1/verify
Response Verify(State& s, const Caller& caller);
// POST /v1/backup
Response Backup(State& s, const Caller& caller, const std::string& body);
// POST /v1/streams/household%2F<id>/erasure
Response Erasure(State& s, const Caller& caller, const Subject& subject, const std::string& body);
// GET /v1/audit/access
Response Audit(State& s, const Caller& caller, const Query& q);

// GET /v1/feed: Server-Sent Events. `follow` false stops at the head.
Routed RouteFeed(State& s, const Caller& caller, const Request& req, const Query& q,
                 bool follow);
// GET /v1/export: pseudonymised NDJSON.
Routed RouteExport(State& s, const Caller& caller, const Query& q);

// Evidence (handler_evidence.cc, evidence.md §3).
Response CheckpointText(State& s, const Query& q);
Response CheckpointKey(State& s);
Response InclusionProofResponse(State& s, const Query& q);
Response ConsistencyProofResponse(State& s, const Query& q);
// GET /v1/streams/{subject}/evidence (reached through RouteStreamRead).
Response StreamEvidence(State& s, const Caller& caller, const Subject& subject, const Query& q);

// Sessions (handler_session.cc). CheckCsrf: the 403 to answer when a
// cookie-authenticated request that changes state lacks the session's
// X-CSRF-Token, else nullopt.
std::optional<Response> CheckCsrf(const Request& req, const Authn& a);
Response SessionCreate(State& s, const Request& req);
Response SessionRead(const Authn& a);
Response SessionDelete(State& s, const Authn& a);

// GET /v1/schema (handler_schema.cc), GET /v1/caseload (handler_caseload.cc).
Response SchemaRead();
Response Caseload(State& s, const Caller& caller, const Query& q);

// The console's static files (handler_console.cc): nullopt when `path` is
// not one of theirs (/, /console, /console/...).
inline constexpr std::string_view kConsoleCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'";
std::optional<Response> ConsoleStatic(const Request& req, std::string_view path);

// asOf / knownAt; an error response when one is bad.
std::optional<Response> ParseViewTime(const Query& q, projections::ViewTime* t);
Date Today();

}  // namespace relais::server
