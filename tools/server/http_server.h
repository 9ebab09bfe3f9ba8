// `relais serve`: the HTTP/1.1 face of the engine (interfaces.md §2, docs/server.md).
//
// Threads: two io threads run the Asio io_context (accepting, parsing,
// writing); a small worker pool runs the engine reads and projections (a
// report may take a while and must not stall the io threads); one waiter
// thread completes appends when the engine's futures are ready, so no io
// thread ever blocks on an fsync; one thread per feed subscriber (bounded)
// streams Server-Sent Events with blocking writes on its own socket.
//
// Role rules live in projections/visibility.h; this layer authenticates the
// caller, routes, maps outcomes to status codes and records the access
// journal.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "relais/status.h"

namespace relais::server {

// Limits (docs/server.md). Every one is enforced and answered with a status.
inline constexpr size_t kBodyBytesMax = 1 << 20;     // 413
inline constexpr size_t kUrlBytesMax = 8 << 10;      // 414
inline constexpr size_t kHeaderBytesMax = 16 << 10;  // 431 (all header fields)
inline constexpr int64_t kReadTimeoutMs = 30000;     // one whole request, keep-alive idle included
inline constexpr int64_t kWriteTimeoutMs = 30000;
inline constexpr size_t kConnectionsMax = 4096;     // default; beyond: 503 and close
inline constexpr size_t kFeedSubscribersMax = 256;  // beyond: 503
inline constexpr uint64_t kFeedLagMax = 100000;     // events a live subscriber may lag
inline constexpr int64_t kFeedSendTimeoutMs =
    10000;                                          // a subscriber not reading for this long is cut
inline constexpr int64_t kShutdownGraceMs = 30000;  // in-flight writes finish within this

struct ServerOptions {
  std::string data_dir;
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (the chosen one is printed)
  size_t connections_max = kConnectionsMax;
  uint64_t feed_lag_max = kFeedLagMax;
  int io_threads = 2;
  int worker_threads = 4;
};

// Runs until SIGTERM or SIGINT, then drains in-flight writes and returns.
// Prints {"listening": "ADDR:PORT"} on stdout once accepting.
Status RunServer(const ServerOptions& options);

}  // namespace relais::server
