// `relais serve`: its options, and its configuration file (`--config FILE`,
// TOML, docs/deploy.md). An option given on the command line overrides the
// same setting in the file; an unknown key, a wrong type or a value out of
// range in the file is a usage error (exit 2) naming the file, the line and
// the key.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "relais/projections/retention.h"
#include "server/control_socket.h"

namespace relais::cli {

struct ServeArgs {
  std::string config_file;
  bool check_config = false;
  std::string listen = "127.0.0.1:8080";
  size_t max_connections = 4096;
  uint64_t feed_lag_max = 100000;
  int64_t checkpoint_interval = 1;
  std::string tls_cert, tls_key;
  bool cookie_secure = false;
  std::string journal_max_bytes = "64M";
  std::string journal_max_age = "365d";
  std::string metrics_listen;
  // --sink-*: the PostgreSQL sink inside the server (docs/sink.md).
  std::string sink_dsn, sink_scope = "evaluator", sink_schema = "relais",
                        sink_events_format = "envelope";
  int64_t retention_years = projections::RetentionPolicy{}.years;
  int64_t retention_keep_history_years = projections::RetentionPolicy{}.keep_history_years;
  std::string log_level = "info";
};

// Adds `serve` and its options to `app`; they fill `*args`.
CLI::App* AddServeCommand(CLI::App& app, ServeArgs* args);

// After parsing: reads the configuration file (settings the command line did
// not give; the global --data and --origin too), checks the whole, then
// serves (or, with --check-config, prints the settings as JSON and exits).
// `data_dir` and `origin` are the global options' values.
// `control`: what the server runs for a write command that comes through
// its control socket (server/control_socket.h).
int RunServeCommand(CLI::App& app, CLI::App& serve, ServeArgs args, std::string data_dir,
                    std::string origin, server::ControlCommand control);

}  // namespace relais::cli
