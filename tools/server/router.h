// The route table: authenticates a parsed request, finds its handler and
// says what the transport must do with it. Routing itself is cheap and
// never blocks (it runs on an io thread); the work it returns runs on the
// worker pool, appends complete on the waiter, and a stream's source is
// pulled on the worker pool, one chunk per completed write
// (server/streaming.h).
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "relais/engine.h"
#include "relais/projections/visibility.h"
#include "server/http_types.h"
#include "server/state.h"

namespace relais::server {

// The body of a feed or an export, pulled one chunk at a time. The transport
// calls Next() on the worker pool, never on an io thread, and only once the
// previous chunk is written: a stream holds at most one chunk in memory, and
// a reader that stops reading stops the pulling. Next() may read the engine
// and write the journal but never waits for new events: it answers kWait
// instead, and the transport calls it again once the head passed `after` or
// about a second went by (for the feed's keep-alive). One caller at a time.
class StreamSource {
 public:
  struct Pulled {
    enum class Kind { kChunk, kWait, kEnd };
    Kind kind = Kind::kEnd;
    std::string bytes;   // kChunk: the next bytes of the body
    Position after = 0;  // kWait: nothing more before the head is past this position
  };
  virtual ~StreamSource() = default;
  virtual Pulled Next(State& s) = 0;

  static Pulled Chunk(std::string bytes) {
    return {Pulled::Kind::kChunk, std::move(bytes), 0};
  }
  static Pulled Wait(Position after) { return {Pulled::Kind::kWait, {}, after}; }
  static Pulled End() { return {}; }
};

struct Routed {
  enum class Kind {
    kRespond,  // `response` now
    kWork,     // `work` on the worker pool
    kAppend,   // an append of `body` by `caller` (server/handler_append.h)
    kStream,   // `stream` gives a body of `content_type` chunk by chunk until kEnd
  };
  Kind kind = Kind::kRespond;
  const char* route = "invalid";  // the metrics label: one of a fixed set, never from the request
  // The log's route: the path's template (RouteTemplate), never the path.
  const char* route_template = "-";
  std::string token_name;  // the authenticated token's name; empty: none
  Response response;
  std::function<Response(State&)> work;
  projections::Caller caller;
  std::string body;
  std::string content_type;
  std::string extra_headers;  // "Name: value\r\n" lines of a stream's head
  std::unique_ptr<StreamSource> stream;
};

// The template of `path` for the log, from a fixed set of static strings:
// an exact path of the route table as it is (it names nobody), a stream's
// path as /v1/streams/{subject}/<what>, anything else "unknown". Never
// derived from the request's bytes, so that no subject, token or query
// value can reach the log through it.
const char* RouteTemplate(std::string_view path);

// Validates the head (URL and header sizes), authenticates, and routes.
// Moves the body out of `req` for appends.
// `follow_feed` false: the feed stops at the head it started from.
Routed Route(State& s, Request& req, bool follow_feed = true);

// The --metrics-listen address's routing: GET /metrics and GET /healthz
// without a token, every other path 404. Nothing else is reachable there.
Routed RouteMetricsListener(State& s, Request& req);

// Every route the router answers: method, path template ("{subject}" for
// the stream's subject) and the query parameters it takes (comma-separated).
// The OpenAPI test checks docs/openapi.yaml describes each.
struct RouteInfo {
  std::string method, path, params;
};
std::vector<RouteInfo> RouteList();

// Socket-free handling of one request, synchronously on the caller's thread:
// what a client would receive. Streams run in catch-up mode (the feed stops
// at the head it started from) and their body is cut at `stream_bytes_max`.
// For tests and the fuzzer.
Response HandleRequest(State& s, Request req, size_t stream_bytes_max = 1 << 20);

}  // namespace relais::server
