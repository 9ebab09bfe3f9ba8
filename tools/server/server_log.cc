#include "server/server_log.h"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cmath>

#include "relais/json_writer.h"

namespace relais::server {

namespace {

spdlog::level::level_enum ToSpd(LogLevel l) {
  switch (l) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

const char* Name(LogLevel l) {
  switch (l) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "info";
}

}  // namespace

std::optional<LogLevel> LogLevelFromName(std::string_view name) {
  for (LogLevel l : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn,
                     LogLevel::kError, LogLevel::kOff})
    if (name == Name(l)) return l;
  return std::nullopt;
}

ServerLog::ServerLog(LogLevel level, std::shared_ptr<spdlog::sinks::sink> sink) : level_(level) {
  if (!sink) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  // The time is spdlog's, taken when the line is logged; the rest of the
  // object is the line's own JSON (Emit), so the pattern only opens it.
  sink->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      "{\"time\":\"%Y-%m-%dT%H:%M:%S.%eZ\",%v", spdlog::pattern_time_type::utc));
  pool_ = std::make_shared<spdlog::details::thread_pool>(kLogQueueLines, 1);
  logger_ = std::make_shared<spdlog::async_logger>("relais", std::move(sink), pool_,
                                                   spdlog::async_overflow_policy::overrun_oldest);
  logger_->set_level(ToSpd(level));
  // Errors are written at once, so that the last words of a crash are out.
  logger_->flush_on(spdlog::level::err);
}

ServerLog::~ServerLog() {
  logger_->flush();
  logger_.reset();
  pool_.reset();  // joins the writer thread once the queue is written
}

bool ServerLog::Enabled(LogLevel level) const {
  return level != LogLevel::kOff && level >= level_;
}

void ServerLog::Emit(LogLevel level, std::string body) {
  // `body` is a whole object: the pattern already wrote its '{'.
  logger_->log(ToSpd(level), std::string_view(body).substr(1));
}

void ServerLog::Log(LogLevel level, std::string_view msg,
                    const std::function<void(JsonWriter&)>& fields) {
  if (!Enabled(level)) return;
  JsonWriter w;
  w.BeginObject();
  w.Key("level").String(Name(level));
  w.Key("msg").String(msg);
  if (fields) fields(w);
  w.EndObject();
  Emit(level, w.Take());
}

void ServerLog::Request(const RequestLogLine& line) {
  if (!Enabled(LogLevel::kInfo)) return;
  JsonWriter w;
  w.BeginObject();
  w.Key("level").String("info");
  w.Key("msg").String("request");
  w.Key("method").String(line.method);
  w.Key("route").String(line.route);
  w.Key("status").Int(line.status);
  // Milliseconds with microsecond precision.
  w.Key("durationMs").Double(std::round(line.seconds * 1e6) / 1e3);
  w.Key("token");
  if (line.token.empty()) {
    w.Null();
  } else {
    w.String(line.token);
  }
  w.EndObject();
  Emit(LogLevel::kInfo, w.Take());
}

void ServerLog::Flush() { logger_->flush(); }

int64_t ServerLog::dropped() const { return static_cast<int64_t>(pool_->overrun_counter()); }

}  // namespace relais::server
