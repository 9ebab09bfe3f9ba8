// The route table: authenticates a parsed request, finds its handler and
// says what the transport must do with it. Routing itself is cheap and
// never blocks (it runs on an io thread); the work it returns runs on the
// worker pool, appends complete on the waiter, streams on their own thread.
#pragma once

#include <functional>
#include <future>
#include <string>
#include <string_view>

#include "relais/engine.h"
#include "relais/projections/visibility.h"
#include "server/http_types.h"
#include "server/state.h"

namespace relais::server {

struct Routed {
  enum class Kind {
    kRespond,  // `response` now
    kWork,     // `work` on the worker pool
    kAppend,   // an append of `body` by `caller` (server/handler_append.h)
    kStream,   // `stream` writes a body of `content_type` until it returns
  };
  Kind kind = Kind::kRespond;
  const char* route = "invalid";  // the metrics label: one of a fixed set, never from the request
  Response response;
  std::function<Response(State&)> work;
  projections::Caller caller;
  std::string body;
  std::string content_type;
  std::string extra_headers;  // "Name: value\r\n" lines of a stream's head
  std::function<void(State&, const Sink&)> stream;
};

// Validates the head (URL and header sizes), authenticates, and routes.
// Moves the body out of `req` for appends.
// `follow_feed` false: the feed stops at the head it started from.
Routed Route(State& s, Request& req, bool follow_feed = true);

// Socket-free handling of one request, synchronously on the caller's thread:
// what a client would receive. Streams run in catch-up mode (the feed stops
// at the head it started from) and their body is cut at `stream_bytes_max`.
// For tests and the fuzzer.
Response HandleRequest(State& s, Request req, size_t stream_bytes_max = 1 << 20);

}  // namespace relais::server
