// The server's log: one JSON object a line on stderr, through spdlog
// (docs/server.md "Logs"). Every line has `time` (RFC 3339 UTC, ms),
// `level` and `msg`; a request line adds `method`, `route` (the route's
// TEMPLATE, such as /v1/streams/{subject}/status: never the concrete path,
// which may name a household, and never the query string), `status`,
// `durationMs` and `token` (the token's name, or null: never its secret).
//
// Ownership: one ServerLog per server, owned by its State (server/state.h).
// Thread-safe: any thread may log. Logging never runs on the caller's
// critical section: the line is formatted by the caller (no lock held) and
// queued to spdlog's asynchronous logger, whose one thread writes it; a full
// queue drops its oldest line rather than block a request, and dropped()
// counts those (the metric relais_log_lines_dropped_total).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
namespace details {
class thread_pool;
}
namespace sinks {
class sink;
}
}  // namespace spdlog

namespace relais {
class JsonWriter;
}

namespace relais::server {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// "trace", "debug", "info", "warn", "error", "off"; nullopt for anything else.
std::optional<LogLevel> LogLevelFromName(std::string_view name);
inline constexpr std::string_view kLogLevelNames = "trace, debug, info, warn, error, off";

inline constexpr size_t kLogQueueLines = 8192;  // queued lines before the oldest are dropped

struct RequestLogLine {
  std::string_view method;  // "GET", "POST", ...; "-" when the request did not parse
  std::string_view route;   // a route template from a fixed set (router.h RouteTemplate)
  int status = 0;
  double seconds = 0;
  std::string_view token;  // the token's name; empty: no authenticated caller
};

class ServerLog {
 public:
  // `sink` nullptr: stderr.
  explicit ServerLog(LogLevel level, std::shared_ptr<spdlog::sinks::sink> sink = nullptr);
  ~ServerLog();  // writes every queued line
  ServerLog(const ServerLog&) = delete;
  ServerLog& operator=(const ServerLog&) = delete;

  void Request(const RequestLogLine& line);  // level info
  // A line of `level` with `msg` and the fields `fields` writes (keys and
  // values into an open object); nothing is formatted below the level.
  void Log(LogLevel level, std::string_view msg,
           const std::function<void(JsonWriter&)>& fields = {});
  void Info(std::string_view msg, const std::function<void(JsonWriter&)>& fields = {}) {
    Log(LogLevel::kInfo, msg, fields);
  }
  void Warn(std::string_view msg, const std::function<void(JsonWriter&)>& fields = {}) {
    Log(LogLevel::kWarn, msg, fields);
  }
  void Error(std::string_view msg, const std::function<void(JsonWriter&)>& fields = {}) {
    Log(LogLevel::kError, msg, fields);
  }
  bool Enabled(LogLevel level) const;
  void Flush();
  int64_t dropped() const;

 private:
  void Emit(LogLevel level, std::string body);
  LogLevel level_;
  // The pool first: the logger holds it only weakly and must go before it.
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace relais::server
