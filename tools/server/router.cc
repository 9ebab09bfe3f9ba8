#include "server/router.h"

#include "server/handlers.h"
#include "server/openapi.h"

namespace relais::server {

Date Today() { return UtcDate(SystemClock()->Now()); }

std::optional<Response> ParseViewTime(const Query& q, projections::ViewTime* t) {
  if (auto v = Param(q, "asOf"); v && !v->empty()) {
    t->as_of = ParseDate(*v);
    if (!t->as_of) return Malformed("asOf: '" + v->substr(0, 64) + "' is not a date YYYY-MM-DD");
  }
  if (auto v = Param(q, "knownAt"); v && !v->empty()) {
    t->known_at = ParseTimestamp(*v);
    if (!t->known_at)
      return Malformed("knownAt: '" + v->substr(0, 64) + "' is not an RFC 3339 UTC instant");
  }
  return std::nullopt;
}

namespace {

Routed Respond(const char* route, Response r) {
  Routed out;
  out.route = route;
  out.response = std::move(r);
  return out;
}

Routed WorkOn(const char* route, std::function<Response(State&)> fn) {
  Routed out;
  out.route = route;
  out.kind = Routed::Kind::kWork;
  out.work = std::move(fn);
  return out;
}

Response MethodNotAllowed(const char* allow) {
  return Error(http::status::method_not_allowed, "malformed", "method_not_allowed",
               std::string("this endpoint takes ") + allow);
}

// The table: exact paths, then the one prefix. Each entry's method is the
// only one it takes (405 otherwise).
struct RouteEntry {
  std::string_view path;
  http::verb method;
  const char* label;
  std::string_view params;  // the query parameters it takes (CheckQuery)
  Routed (*route)(State& s, const Caller& c, Request& req, const Query& q, bool follow);
};

const RouteEntry kRoutes[] = {
    {"/v1/events", http::verb::post, "append", "",
     [](State&, const Caller& c, Request& req, const Query&, bool) {
       Routed r;
       r.route = "append";
       r.kind = Routed::Kind::kAppend;
       r.caller = c;
       r.body = std::move(req.body);
       return r;
     }},
    {"/v1/reports/indicators", http::verb::get, "report", "asOf,knownAt,format",
     [](State&, const Caller& c, Request&, const Query& q, bool) {
       return WorkOn("report", [c, q](State& s) { return Report(s, c, q); });
     }},
    {"/v1/checkpoint", http::verb::get, "checkpoint", "size",
     [](State&, const Caller&, Request&, const Query& q, bool) {
       return WorkOn("checkpoint", [q](State& s) { return CheckpointText(s, q); });
     }},
    {"/v1/checkpoint/key", http::verb::get, "checkpoint_key", "",
     [](State&, const Caller&, Request&, const Query&, bool) {
       return WorkOn("checkpoint_key", [](State& s) { return CheckpointKey(s); });
     }},
    {"/v1/proofs/inclusion", http::verb::get, "proof_inclusion", "position,size",
     [](State&, const Caller&, Request&, const Query& q, bool) {
       return WorkOn("proof_inclusion", [q](State& s) { return InclusionProofResponse(s, q); });
     }},
    {"/v1/proofs/consistency", http::verb::get, "proof_consistency", "from,size",
     [](State&, const Caller&, Request&, const Query& q, bool) {
       return WorkOn("proof_consistency", [q](State& s) { return ConsistencyProofResponse(s, q); });
     }},
    {"/v1/verify", http::verb::get, "verify", "",
     [](State&, const Caller& c, Request&, const Query&, bool) {
       return WorkOn("verify", [c](State& s) { return Verify(s, c); });
     }},
    {"/v1/backup", http::verb::post, "backup", "",
     [](State&, const Caller& c, Request& req, const Query&, bool) {
       return WorkOn("backup", [c, body = std::move(req.body)](State& s) { return Backup(s, c, body); });
     }},
    {"/v1/audit/access", http::verb::get, "audit", "from,to,subject,limit,cursor",
     [](State&, const Caller& c, Request&, const Query& q, bool) {
       return WorkOn("audit", [c, q](State& s) { return Audit(s, c, q); });
     }},
    {"/v1/retention", http::verb::get, "retention", "asOf,knownAt,years,keepHistoryYears",
     [](State&, const Caller& c, Request&, const Query& q, bool) {
       return WorkOn("retention", [c, q](State& s) { return RetentionRead(s, c, q); });
     }},
    {"/v1/retention", http::verb::post, "retention", "asOf,years,keepHistoryYears",
     [](State&, const Caller& c, Request&, const Query& q, bool) {
       return WorkOn("retention", [c, q](State& s) { return RetentionApply(s, c, q); });
     }},
    {"/v1/schema", http::verb::get, "schema", "",
     [](State&, const Caller&, Request&, const Query&, bool) {
       return Respond("schema", SchemaRead());
     }},
    {"/v1/caseload", http::verb::get, "caseload", "territory,asOf,knownAt,limit,cursor,needsAction",
     [](State&, const Caller& c, Request&, const Query& q, bool) {
       return WorkOn("caseload", [c, q](State& s) { return Caseload(s, c, q); });
     }},
    {"/v1/feed", http::verb::get, "feed", "from,format",
     [](State& s, const Caller& c, Request& req, const Query& q, bool follow) {
       return RouteFeed(s, c, req, q, follow);
     }},
    {"/v1/export", http::verb::get, "export", "knownAt",
     [](State& s, const Caller& c, Request&, const Query& q, bool) { return RouteExport(s, c, q); }},
};

constexpr std::string_view kStreamsPrefix = "/v1/streams/";

// The routes under /v1/streams/{subject}/: the last segment names them
// (handler_streams.cc and RouteErasure route them; the query is checked here).
struct StreamEntry {
  std::string_view suffix;
  http::verb method;
  const char* label;
  std::string_view params;
};

const StreamEntry kStreamRoutes[] = {
    {"status", http::verb::get, "status", "asOf,knownAt"},
    {"events", http::verb::get, "history", "knownAt"},
    {"file", http::verb::get, "file", "knownAt,format"},
    {"tenancy", http::verb::get, "tenancy", "knownAt,format"},
    {"evidence", http::verb::get, "evidence", "knownAt"},
    {"erasure", http::verb::post, "erasure", ""},
};

const StreamEntry* FindStreamEntry(std::string_view rest) {
  size_t slash = rest.rfind('/');
  if (slash == std::string_view::npos) return nullptr;
  for (const StreamEntry& e : kStreamRoutes)
    if (rest.substr(slash + 1) == e.suffix) return &e;
  return nullptr;
}

// POST /v1/streams/{household}/erasure; nullopt when `rest` is not an
// erasure path (the stream reads then).
std::optional<Routed> RouteErasure(const Caller& caller, Request& req, std::string_view rest) {
  constexpr std::string_view kSuffix = "/erasure";
  if (rest.size() <= kSuffix.size() || rest.substr(rest.size() - kSuffix.size()) != kSuffix)
    return std::nullopt;
  if (req.method != http::verb::post) return Respond("erasure", MethodNotAllowed("POST"));
  bool ok = true;
  std::string subject_text = PercentDecode(rest.substr(0, rest.size() - kSuffix.size()), false, &ok);
  std::string why;
  auto subject = ok ? ParseSubject(subject_text, &why) : std::nullopt;
  if (!subject)
    return Respond("erasure", Malformed("subject '" + subject_text + "': " +
                                        (ok ? why : "bad percent escape")));
  return WorkOn("erasure", [c = caller, subj = std::move(*subject), body = std::move(req.body)](State& s) {
    return Erasure(s, c, subj, body);
  });
}

// Route() without the log's fields; `*token_name` the caller's once known.
Routed Dispatch(State& s, Request& req, bool follow_feed, std::string* token_name) {
  std::string_view target = req.target;
  if (target.size() > kUrlBytesMax) {
    Routed r = Respond("invalid", Error(http::status::uri_too_long, "malformed", "uri_too_long",
                                        "the URL is longer than 8 KiB"));
    r.response.close = true;
    return r;
  }
  size_t header_bytes = 0;
  for (const auto& [k, v] : req.headers) header_bytes += k.size() + v.size() + 4;
  if (header_bytes > kHeaderBytesMax) {
    Routed r = Respond("invalid", Error(http::status::request_header_fields_too_large,
                                        "malformed", "header_too_large",
                                        "the header fields exceed 16 KiB"));
    r.response.close = true;
    return r;
  }
  size_t qm = target.find('?');
  std::string_view path = target.substr(0, qm);
  Query query;
  if (qm != std::string_view::npos && !ParseQuery(target.substr(qm + 1), &query))
    return Respond("invalid", Malformed("the query string has a bad percent escape"));

  if (path == "/healthz") {
    if (req.method != http::verb::get) return Respond("healthz", MethodNotAllowed("GET"));
    if (auto bad = CheckQuery(query, "")) return Respond("healthz", std::move(*bad));
    return Respond("healthz", Healthz());
  }
  if (path == "/v1/openapi.json") {
    if (req.method != http::verb::get) return Respond("openapi", MethodNotAllowed("GET"));
    if (auto bad = CheckQuery(query, "")) return Respond("openapi", std::move(*bad));
    return Respond("openapi", Json(std::string(OpenApiJson())));
  }
  if (auto page = ConsoleStatic(req, path)) {
    if (auto bad = CheckQuery(query, "")) return Respond("console", std::move(*bad));
    return Respond("console", std::move(*page));
  }
  if (s.stopping.load()) {
    Routed r = Respond("other", Unavailable("shutting_down", "the server is shutting down"));
    r.response.close = true;
    return r;
  }
  if (path == "/v1/session" && req.method == http::verb::post) {
    if (auto bad = CheckQuery(query, "")) return Respond("session", std::move(*bad));
    return WorkOn("session", [req = std::move(req)](State& s) { return SessionCreate(s, req); });
  }
  Authn authn = AuthenticateRequest(s, req);
  if (!authn.principal && authn.expired)
    return Respond("other", Error(http::status::unauthorized, "unauthorized", "token_expired",
                                  "the token has expired: ask for a new one (relais token add)"));
  if (!authn.principal)
    return Respond("other", Error(http::status::unauthorized, "unauthorized", "unauthorized",
                                  authn.sent_credentials
                                      ? "unknown or revoked token, or an expired session"
                                      : "no Authorization: Bearer token and no session cookie"));
  *token_name = authn.principal->name;
  if (auto bad = CheckBody(req.body)) return Respond("other", std::move(*bad));
  if (auto refused = CheckCsrf(req, authn)) return Respond("other", std::move(*refused));
  // GET /metrics: the metrics role and admins; the scrape shows no case data
  // but is not for every case role either (interfaces.md §3).
  if (path == "/metrics") {
    if (req.method != http::verb::get) return Respond("metrics", MethodNotAllowed("GET"));
    if (authn.principal->caller && authn.principal->caller->role != Role::kAdmin)
      return Respond("metrics", Forbidden("only the metrics role and admins read /metrics"));
    if (auto bad = CheckQuery(query, "")) return Respond("metrics", std::move(*bad));
    return Respond("metrics", MetricsPage(s));
  }
  // A metrics token has no case caller: it never reaches a handler below,
  // whatever the path (an unknown one too: 403, not 404).
  if (!authn.principal->caller)
    return Respond("other", Forbidden("the metrics role reads /metrics and /healthz only"));
  const std::optional<Caller>& caller = authn.principal->caller;
  if (path == "/v1/session") {
    if (auto bad = CheckQuery(query, "")) return Respond("session", std::move(*bad));
    if (req.method == http::verb::get) return Respond("session", SessionRead(authn));
    if (req.method == http::verb::delete_) return Respond("session", SessionDelete(s, authn));
    return Respond("session", MethodNotAllowed("GET, POST or DELETE"));
  }
  // A path may have one entry per method (/v1/retention has GET and POST).
  const RouteEntry* same_path = nullptr;
  bool get = false, post = false;
  for (const RouteEntry& e : kRoutes) {
    if (path != e.path) continue;
    if (req.method == e.method) {
      if (auto bad = CheckQuery(query, e.params)) return Respond(e.label, std::move(*bad));
      return e.route(s, *caller, req, query, follow_feed);
    }
    same_path = &e;
    (e.method == http::verb::get ? get : post) = true;
  }
  if (same_path)
    return Respond(same_path->label, MethodNotAllowed(get && post ? "GET or POST" : get ? "GET" : "POST"));
  if (path.substr(0, kStreamsPrefix.size()) == kStreamsPrefix) {
    std::string_view rest = path.substr(kStreamsPrefix.size());
    if (const StreamEntry* e = FindStreamEntry(rest)) {
      if (auto bad = CheckQuery(query, e->params)) return Respond(e->label, std::move(*bad));
    }
    if (auto r = RouteErasure(*caller, req, path.substr(kStreamsPrefix.size()))) return std::move(*r);
    Routed r = RouteStreamRead(*caller, path.substr(kStreamsPrefix.size()), query);
    if (r.kind != Routed::Kind::kRespond && req.method != http::verb::get)
      return Respond(r.route, MethodNotAllowed("GET"));
    return r;
  }
  return Respond("unknown", Error(http::status::not_found, "not_found", "no_route",
                                  "no such endpoint"));
}

}  // namespace

const char* RouteTemplate(std::string_view path) {
  if (path == "/healthz") return "/healthz";
  if (path == "/metrics") return "/metrics";
  if (path == "/v1/session") return "/v1/session";
  if (path == "/v1/openapi.json") return "/v1/openapi.json";
  if (path == "/") return "/";
  if (path == "/console" || path.substr(0, 9) == "/console/") return "/console/{asset}";
  for (const RouteEntry& e : kRoutes)
    if (path == e.path) return e.path.data();  // literals: NUL-terminated
  if (path.substr(0, kStreamsPrefix.size()) == kStreamsPrefix) {
    static constexpr const char* kStreamRoutes[] = {
        "/v1/streams/{subject}/status",   "/v1/streams/{subject}/events",
        "/v1/streams/{subject}/file",     "/v1/streams/{subject}/tenancy",
        "/v1/streams/{subject}/evidence", "/v1/streams/{subject}/erasure"};
    std::string_view what = path.substr(path.rfind('/') + 1);
    for (const char* t : kStreamRoutes) {
      std::string_view tv = t;
      if (what == tv.substr(tv.rfind('/') + 1) && path.size() > kStreamsPrefix.size() + what.size() + 1)
        return t;
    }
  }
  return "unknown";
}

Routed Route(State& s, Request& req, bool follow_feed) {
  std::string token_name;
  // The path before Dispatch: a handler may take the request (POST /v1/session).
  std::string_view target = req.target;
  const char* route_template = RouteTemplate(target.substr(0, target.find('?')));
  Routed r = Dispatch(s, req, follow_feed, &token_name);
  r.route_template = route_template;
  r.token_name = std::move(token_name);
  return r;
}

Routed RouteMetricsListener(State& s, Request& req) {
  std::string_view target = req.target;
  std::string_view path = target.substr(0, target.find('?'));
  Routed r;
  if (path == "/healthz" || path == "/metrics") {
    bool metrics = path == "/metrics";
    // No parameter, as on the main address (a bad escape too).
    Query query;
    std::optional<Response> bad;
    size_t qm = target.find('?');
    if (qm != std::string_view::npos && !ParseQuery(target.substr(qm + 1), &query))
      bad = Malformed("the query string has a bad percent escape");
    if (!bad) bad = CheckQuery(query, "");
    r = Respond(metrics ? "metrics" : "healthz",
                req.method != http::verb::get ? MethodNotAllowed("GET")
                : bad                         ? std::move(*bad)
                : metrics                     ? MetricsPage(s)
                                              : Healthz());
  } else {
    r = Respond("unknown", Error(http::status::not_found, "not_found", "no_route",
                                 "this address serves /metrics and /healthz only"));
  }
  r.route_template = RouteTemplate(path);
  return r;
}

std::vector<RouteInfo> RouteList() {
  std::vector<RouteInfo> out;
  out.push_back({"GET", "/healthz", ""});
  out.push_back({"GET", "/v1/openapi.json", ""});
  out.push_back({"GET", "/metrics", ""});
  out.push_back({"POST", "/v1/session", ""});
  out.push_back({"GET", "/v1/session", ""});
  out.push_back({"DELETE", "/v1/session", ""});
  out.push_back({"GET", "/", ""});  // the console (handler_console.cc), no token
  out.push_back({"GET", "/console/{asset}", ""});
  for (const RouteEntry& e : kRoutes)
    out.push_back({std::string(http::to_string(e.method)), std::string(e.path), std::string(e.params)});
  for (const StreamEntry& e : kStreamRoutes)
    out.push_back({std::string(http::to_string(e.method)),
                   std::string(kStreamsPrefix) + "{subject}/" + std::string(e.suffix),
                   std::string(e.params)});
  return out;
}

Response HandleRequest(State& s, Request req, size_t stream_bytes_max) {
  // The feed in catch-up mode: a socket-free caller cannot wait for live events.
  Routed r = Route(s, req, /*follow_feed=*/false);
  switch (r.kind) {
    case Routed::Kind::kRespond:
      return std::move(r.response);
    case Routed::Kind::kWork:
      return r.work(s);
    case Routed::Kind::kAppend: {
      auto started = StartAppend(s, r.caller, std::move(r.body));
      if (auto* resp = std::get_if<Response>(&started)) return std::move(*resp);
      return AppendResponse(s, std::get<std::future<AppendOutcome>>(started).get());
    }
    case Routed::Kind::kStream: {
      // The same pulls as the transport's, written into one body: what a
      // reader receives, cut at `stream_bytes_max`.
      Response out;
      out.content_type = r.content_type;
      for (;;) {
        StreamSource::Pulled p = r.stream->Next(s);
        if (p.kind == StreamSource::Pulled::Kind::kEnd) break;
        if (p.kind == StreamSource::Pulled::Kind::kWait) {
          s.engine->WaitForHead(p.after, 1000);  // this caller's own thread may block
          continue;
        }
        size_t room = stream_bytes_max - std::min(stream_bytes_max, out.body.size());
        out.body.append(std::string_view(p.bytes).substr(0, room));
        if (p.bytes.size() > room) break;
      }
      return out;
    }
  }
  return Internal("unreachable");
}

}  // namespace relais::server
