// `relais serve`: the HTTP/1.1 face of the engine (interfaces.md §2, docs/server.md).
//
// The parts: server/transport.h (listener, sessions, deadlines, connection
// caps), server/router.h (the route table, and HandleRequest: the
// socket-free entry point of tests and the fuzzer), one server/handler_*.cc
// per resource, server/state.h (what the handlers share).
//
// Threads: two io threads run the Asio io_context (accepting, parsing,
// writing); a small worker pool runs the engine reads and projections (a
// report may take a while and must not stall the io threads); one waiter
// thread completes appends when the engine's futures are ready, so no io
// thread ever blocks on an fsync; one thread per feed subscriber (bounded)
// streams Server-Sent Events with blocking writes on its own socket.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "relais/projections/retention.h"
#include "relais/status.h"
#include "server/control_socket.h"
#include "server/server_log.h"

namespace relais::server {

// Limits (docs/server.md). Every one is enforced and answered with a status.
inline constexpr size_t kBodyBytesMax = 1 << 20;     // 413
inline constexpr size_t kUrlBytesMax = 8 << 10;      // 414
inline constexpr size_t kHeaderBytesMax = 16 << 10;  // 431 (all header fields)
// A request head (request line and fields) must arrive whole within this
// from its first byte, or from accept for a new connection: a client that
// trickles it (slowloris) is dropped within seconds.
inline constexpr int64_t kHeadTimeoutMs = 5000;
inline constexpr int64_t kBodyTimeoutMs = 30000;  // the body, once the head is in
inline constexpr int64_t kIdleTimeoutMs = 30000;  // kept alive, between two requests
inline constexpr int64_t kWriteTimeoutMs = 30000;
inline constexpr size_t kConnectionsMax = 4096;     // default; beyond: 503 and close
                                                    // (kept below the descriptor limit)
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
  size_t connections_per_address_max = 0;  // 0: a quarter of the total cap
  uint64_t feed_lag_max = kFeedLagMax;
  int io_threads = 2;
  int worker_threads = 4;
  // A signed checkpoint at most every this many seconds while the head
  // moves (evidence.md §2); 0: none.
  int64_t checkpoint_interval_s = 1;
  // The installation's name when this server creates the signing key.
  std::string origin;
  LogLevel log_level = LogLevel::kInfo;  // --log-level, `log_level` of the file (server_log.h)
  // --journal-max-bytes, --journal-max-age (access_journal.h).
  int64_t journal_max_bytes = 64 << 20;
  int64_t journal_max_age_days = 365;
  // --metrics-listen: a second address serving only /metrics and /healthz,
  // without a token (for a scraper on a private network); empty: none.
  std::string metrics_address;
  uint16_t metrics_port = 0;
  // PEM files: HTTPS instead of HTTP when set (both or neither).
  std::string tls_cert, tls_key;
  // The defaults of GET/POST /v1/retention (`years`, `keepHistoryYears`
  // override them per request): projections::RetentionPolicy's.
  int32_t retention_years = projections::RetentionPolicy{}.years;
  int32_t retention_keep_history_years = projections::RetentionPolicy{}.keep_history_years;
  // The console's session cookie carries `Secure` (set when the server, or
  // the proxy in front of it, speaks TLS: a browser then never sends the
  // cookie in clear).
  bool cookie_secure = false;
  // How long a console session lasts from sign-in (server/session_store.h).
  int64_t session_ttl_s = 8 * 3600;
  // The write commands run through the control socket (server/control_socket.h);
  // none: no control socket.
  ControlCommand control;
  // `--sink-dsn`: run the PostgreSQL sink inside the server (docs/sink.md).
  // Empty: none.
  std::string sink_dsn;
  std::string sink_scope = "evaluator";
  std::string sink_schema = "relais";
  std::string sink_events_format = "envelope";
};

// Runs until SIGTERM or SIGINT, then drains in-flight writes and returns.
// Prints {"listening": "ADDR:PORT"} on stdout once accepting; logs a
// startup line (version, listen address, data directory, events) and a
// shutdown line on stderr (server_log.h).
Status RunServer(const ServerOptions& options);

}  // namespace relais::server
