#include "cli/serve_command.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <toml++/toml.h>
#include <variant>

#include "backup/holder.h"
#include "cli/cli_common.h"
#include "cli/option_rules.h"
#include "relais/json_writer.h"
#include "relais/projections/retention.h"
#include "server/commands.h"
#include "server/http_server.h"
#include "server/tls.h"

namespace relais::cli {

namespace {

namespace fs = std::filesystem;

// The bounds of the integer settings, for the command line and the file alike.
constexpr int64_t kMaxConnectionsMin = 1, kMaxConnectionsMax = 1000000;
constexpr int64_t kFeedLagMin = 1, kFeedLagMax = 100000000;
constexpr int64_t kCheckpointMin = 0, kCheckpointMax = 86400;
// A configuration file is a few hundred bytes; anything near this is not one.
constexpr size_t kConfigBytesMax = 1 << 20;

// spdlog's level names (the logs are spdlog's: `--log-level`).
enum class Kind { kString, kInt, kPath, kBool };

// One setting the file may hold: its key (sections joined by a dot), its
// type, its bounds, and the command-line option that overrides it.
struct Key {
  const char* name;
  Kind kind;
  const char* option;  // "--listen"; the global ones are on the parent app
  bool global = false;
  int64_t min = 0, max = 0;
};

const Key kKeys[] = {
    {"data", Kind::kPath, "--data", true},
    {"origin", Kind::kString, "--origin", true},
    {"listen", Kind::kString, "--listen"},
    {"max_connections", Kind::kInt, "--max-connections", false, kMaxConnectionsMin,
     kMaxConnectionsMax},
    {"feed_lag_max", Kind::kInt, "--feed-lag-max", false, kFeedLagMin, kFeedLagMax},
    {"checkpoint_interval", Kind::kInt, "--checkpoint-interval", false, kCheckpointMin,
     kCheckpointMax},
    {"log_level", Kind::kString, "--log-level"},
    {"journal_max_bytes", Kind::kString, "--journal-max-bytes"},
    {"journal_max_age", Kind::kString, "--journal-max-age"},
    {"metrics_listen", Kind::kString, "--metrics-listen"},
    {"cookie_secure", Kind::kBool, "--cookie-secure"},
    {"tls.cert", Kind::kPath, "--tls-cert"},
    {"tls.key", Kind::kPath, "--tls-key"},
    {"retention.years", Kind::kInt, "--retention-years", false, projections::kRetentionYearsMin,
     projections::kRetentionYearsMax},
    {"retention.keep_history_years", Kind::kInt, "--retention-keep-history-years", false,
     projections::kRetentionYearsMin, projections::kRetentionYearsMax},
};
const char* const kSections[] = {"tls", "retention"};

const Key* FindKey(const std::string& name) {
  for (const Key& k : kKeys)
    if (name == k.name) return &k;
  return nullptr;
}

bool IsSection(const std::string& name) {
  for (const char* s : kSections)
    if (name == s) return true;
  return false;
}

using Value = std::variant<std::string, int64_t, bool>;

struct Setting {
  const Key* key;
  Value value;
  int line;
};

const char* TypeName(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

class ConfigReader {
 public:
  explicit ConfigReader(std::string file)
      : file_(std::move(file)), dir_(fs::absolute(fs::path(file_)).parent_path()) {}

  // The settings of the file, or the first error ("FILE:LINE: ...").
  std::optional<std::string> Read(std::map<std::string, Setting>* out) {
    std::error_code ec;
    if (fs::is_directory(file_, ec)) return file_ + ": is a directory, not a configuration file";
    auto size = fs::file_size(file_, ec);
    if (ec) return file_ + ": cannot read the configuration file: " + ec.message();
    if (size > kConfigBytesMax)
      return file_ + ": " + std::to_string(size) + " bytes: a configuration file is at most 1 MiB";
    auto text = ReadAll(file_);
    if (!text) return file_ + ": cannot read the configuration file";
    toml::table root;
    try {
      root = toml::parse(*text, file_);
    } catch (const toml::parse_error& e) {
      return file_ + ":" + std::to_string(e.source().begin.line) + ": not valid TOML: " +
             std::string(e.description());
    }
    return Walk(root, "", out);
  }

 private:
  std::string At(const toml::source_region& r) const {
    return file_ + ":" + std::to_string(r.begin.line) + ": ";
  }

  std::optional<std::string> Walk(const toml::table& t, const std::string& prefix,
                                  std::map<std::string, Setting>* out) {
    for (auto&& [k, node] : t) {
      std::string name = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
      // A key's own line (a section's values carry theirs).
      std::string at = At(k.source());
      if (IsSection(name)) {
        if (!node.is_table())
          return at + name + ": " + TypeName(node.type()) + ", where a table [" + name +
                 "] is expected";
        if (auto bad = Walk(*node.as_table(), name, out)) return bad;
        continue;
      }
      const Key* key = FindKey(name);
      if (!key) return at + "unknown key '" + name + "' (see docs/deploy.md for the keys)";
      int line = static_cast<int>(k.source().begin.line);
      if (key->kind == Kind::kInt) {
        auto v = node.value_exact<int64_t>();
        if (!node.is_integer() || !v)
          return at + name + ": " + TypeName(node.type()) + ", where an integer is expected";
        if (*v < key->min || *v > key->max)
          return at + name + ": " + std::to_string(*v) + " is out of range (" +
                 std::to_string(key->min) + " to " + std::to_string(key->max) + ")";
        (*out)[name] = Setting{key, *v, line};
      } else if (key->kind == Kind::kBool) {
        auto v = node.value_exact<bool>();
        if (!node.is_boolean() || !v)
          return at + name + ": " + TypeName(node.type()) + ", where a boolean is expected";
        (*out)[name] = Setting{key, *v, line};
      } else {
        if (!node.is_string())
          return at + name + ": " + TypeName(node.type()) + ", where a string is expected";
        std::string s(*node.value<std::string_view>());
        if (s.empty()) return at + name + ": an empty string";
        if (s.find('\0') != std::string::npos) return at + name + ": a NUL character";
        // A relative path is the file's directory's, as an administrator
        // reading the file expects, not the service's working directory.
        if (key->kind == Kind::kPath && fs::path(s).is_relative()) s = (dir_ / s).string();
        (*out)[name] = Setting{key, s, line};
      }
    }
    return std::nullopt;
  }

  std::string file_;
  fs::path dir_;
};

std::string Describe(const ServeArgs& a, const server::ServerOptions& o,
                     const std::string& listen) {
  JsonWriter w;
  w.BeginObject();
  w.Key("config");
  if (a.config_file.empty()) w.Null();
  else w.String(fs::absolute(a.config_file).string());
  w.Key("data").String(o.data_dir);
  w.Key("origin");
  if (o.origin.empty()) w.Null();
  else w.String(o.origin);
  w.Key("listen").String(listen);
  w.Key("maxConnections").Uint(o.connections_max);
  w.Key("feedLagMax").Uint(o.feed_lag_max);
  w.Key("checkpointInterval").Int(o.checkpoint_interval_s);
  w.Key("logLevel").String(a.log_level);
  w.Key("journalMaxBytes").Int(o.journal_max_bytes);
  w.Key("journalMaxAgeDays").Int(o.journal_max_age_days);
  w.Key("metricsListen");
  if (a.metrics_listen.empty()) w.Null();
  else w.String(a.metrics_listen);
  w.Key("cookieSecure").Bool(o.cookie_secure);
  w.Key("tls");
  if (o.tls_cert.empty()) {
    w.Null();
  } else {
    w.BeginObject().Key("cert").String(o.tls_cert).Key("key").String(o.tls_key).EndObject();
  }
  w.Key("retention").BeginObject();
  w.Key("years").Int(o.retention_years).Key("keepHistoryYears").Int(o.retention_keep_history_years);
  w.EndObject();
  w.EndObject();
  return w.Take();
}

}  // namespace

CLI::App* AddServeCommand(CLI::App& app, ServeArgs* a) {
  auto* serve = app.add_subcommand("serve", "the HTTP API (docs/server.md, docs/deploy.md)");
  serve->add_option("--config", a->config_file,
                    "TOML configuration file (docs/deploy.md); command-line options override it");
  serve->add_flag("--check-config", a->check_config,
                  "check the settings (file and options) and print them as JSON, then exit");
  serve->add_option("--listen", a->listen, "ADDR:PORT to listen on (port 0: any free port)")
      ->capture_default_str();
  serve->add_option("--max-connections", a->max_connections,
                    "open connections beyond which new ones get 503")
      ->capture_default_str()
      ->check(CLI::Range(size_t{kMaxConnectionsMin}, size_t{kMaxConnectionsMax}));
  serve->add_option("--feed-lag-max", a->feed_lag_max,
                    "events a live feed subscriber may fall behind before it is disconnected")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{kFeedLagMin}, uint64_t{kFeedLagMax}));
  serve->add_option("--checkpoint-interval", a->checkpoint_interval,
                    "seconds between signed checkpoints while the head moves (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(kCheckpointMin, kCheckpointMax));
  serve->add_option("--tls-cert", a->tls_cert,
                    "PEM certificate chain: serve HTTPS (TLS 1.2+; reloaded on SIGHUP)");
  serve->add_option("--tls-key", a->tls_key, "PEM private key of --tls-cert");
  serve->add_option("--log-level", a->log_level,
                    "stderr log level: trace, debug, info, warn, error or off")
      ->capture_default_str();
  serve->add_option("--journal-max-bytes", a->journal_max_bytes,
                    "rotate the access journal at this size (bytes, or with K, M, G)")
      ->capture_default_str();
  serve->add_option("--journal-max-age", a->journal_max_age,
                    "delete rotated access journal files older than this (days: 365d)")
      ->capture_default_str();
  serve->add_option("--metrics-listen", a->metrics_listen,
                    "ADDR:PORT serving only /metrics and /healthz, without a token");
  serve->add_option("--sink-dsn", a->sink_dsn,
                    "run the PostgreSQL sink inside the server (docs/sink.md): libpq connection string");
  serve->add_option("--sink-scope", a->sink_scope, "the sink's scope: evaluator or admin")
      ->capture_default_str();
  serve->add_option("--sink-schema", a->sink_schema, "the sink's PostgreSQL schema")->capture_default_str();
  serve->add_option("--sink-events-format", a->sink_events_format,
                    "the sink's events table body: envelope or cloudevents")
      ->capture_default_str();
  serve->add_flag("--cookie-secure", a->cookie_secure,
                  "mark the console's session cookie Secure behind a TLS-terminating proxy "
                  "(implied by --tls-cert)");
  serve->add_option("--retention-years", a->retention_years,
                    "default years of GET/POST /v1/retention (CNIL 2023-095)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{projections::kRetentionYearsMin},
                         int64_t{projections::kRetentionYearsMax}));
  serve->add_option("--retention-keep-history-years", a->retention_keep_history_years,
                    "the same when keep_history is given (CNIL 2014-124)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{projections::kRetentionYearsMin},
                         int64_t{projections::kRetentionYearsMax}));
  return serve;
}

int RunServeCommand(CLI::App& app, CLI::App& serve, ServeArgs a, std::string data_dir,
                    std::string origin, server::ControlCommand control) {
  // The file's settings, kept to name the line of a value checked later.
  std::map<std::string, Setting> file;
  if (!a.config_file.empty()) {
    if (auto bad = ConfigReader(a.config_file).Read(&file)) return Usage(*bad);
    for (const auto& [name, st] : file) {
      const Key& k = *st.key;
      // The log level has no option of its own here yet: the file's applies.
      CLI::Option* opt = k.global ? app.get_option_no_throw(k.option)
                                  : serve.get_option_no_throw(k.option);
      if (opt && opt->count() > 0) continue;  // the command line wins
      const std::string* s = std::get_if<std::string>(&st.value);
      const int64_t* ip = std::get_if<int64_t>(&st.value);
      int64_t n = ip ? *ip : 0;
      const bool* b = std::get_if<bool>(&st.value);
      std::string key = k.name;
      if (key == "data") data_dir = *s;
      else if (key == "origin") origin = *s;
      else if (key == "listen") a.listen = *s;
      else if (key == "max_connections") a.max_connections = static_cast<size_t>(n);
      else if (key == "feed_lag_max") a.feed_lag_max = static_cast<uint64_t>(n);
      else if (key == "checkpoint_interval") a.checkpoint_interval = n;
      else if (key == "log_level") a.log_level = *s;
      else if (key == "tls.cert") a.tls_cert = *s;
      else if (key == "tls.key") a.tls_key = *s;
      else if (key == "retention.years") a.retention_years = n;
      else if (key == "retention.keep_history_years") a.retention_keep_history_years = n;
      else if (key == "journal_max_bytes") a.journal_max_bytes = *s;
      else if (key == "journal_max_age") a.journal_max_age = *s;
      else if (key == "metrics_listen") a.metrics_listen = *s;
      else if (key == "cookie_secure") a.cookie_secure = *b;
      else return Fail(Status::Internal("configuration key '" + key + "' has no setting"));
      if (key == "log_level" && !server::LogLevelFromName(a.log_level))
        return Usage(a.config_file + ":" + std::to_string(st.line) + ": log_level: '" +
                     a.log_level + "' is not one of " + std::string(server::kLogLevelNames));
    }
  }
  if (a.tls_cert.empty() != a.tls_key.empty())
    return Usage(a.tls_cert.empty() ? "--tls-key needs --tls-cert (or tls.cert in the file)"
                                    : "--tls-cert needs --tls-key (or tls.key in the file)");

  if (a.sink_dsn.empty() &&
      serve.count("--sink-scope") + serve.count("--sink-schema") + serve.count("--sink-events-format") > 0)
    return Usage("--sink-scope, --sink-schema and --sink-events-format need --sink-dsn");
  server::ServerOptions o;
  o.control = std::move(control);
  o.sink_dsn = a.sink_dsn;
  o.sink_scope = a.sink_scope;
  o.sink_schema = a.sink_schema;
  o.sink_events_format = a.sink_events_format;
  o.data_dir = data_dir;
  o.origin = origin;
  o.connections_max = a.max_connections;
  o.feed_lag_max = a.feed_lag_max;
  o.checkpoint_interval_s = a.checkpoint_interval;
  server::ServeOps ops;
  ops.log_level = a.log_level;
  ops.journal_max_bytes = a.journal_max_bytes;
  ops.journal_max_age = a.journal_max_age;
  ops.metrics_listen = a.metrics_listen;
  if (Status st = server::ParseServeOps(ops, &o); !st.ok()) {
    // A value from the file: its key and line first (the message names the option).
    for (const auto& [name, setting] : file) {
      std::string option = std::string(setting.key->option) + ":";
      CLI::Option* given = serve.get_option_no_throw(setting.key->option);
      if (st.message().rfind(option, 0) == 0 && !(given && given->count() > 0))
        return Usage(a.config_file + ":" + std::to_string(setting.line) + ": " + name + ": " +
                     st.message());
    }
    return Usage(st.message());
  }
  o.tls_cert = a.tls_cert;
  o.tls_key = a.tls_key;
  // A browser must never send the session cookie in clear: under TLS here,
  // or when a proxy in front speaks TLS (docs/deploy.md).
  o.cookie_secure = a.cookie_secure || !o.tls_cert.empty();
  o.retention_years = static_cast<int32_t>(a.retention_years);
  o.retention_keep_history_years = static_cast<int32_t>(a.retention_keep_history_years);
  if (Status st = server::ParseListen(a.listen, &o); !st.ok()) return Usage(st.message());
  // The TLS files, then the data directory: each a clear error before
  // anything is opened.
  if (!o.tls_cert.empty()) {
    auto ctx = server::MakeTlsContext(o.tls_cert, o.tls_key);
    if (!ctx.ok()) return Usage(ctx.status().message());
  }
  if (a.check_config) {
    std::printf("%s\n", Describe(a, o, a.listen).c_str());
    return kExitOk;
  }
  // The data directory as the file and the options name it (interfaces.md
  // §3: exit 5 unless it is a relais directory or an empty one).
  if (auto rc = RejectUnservableDataDirectory(o.data_dir)) return *rc;
  // Checked before the server opens anything (holder.h: never on a
  // directory this process holds); a holder appearing later still fails
  // the open, with exit 1.
  if (auto h = backup::DataDirHolder(o.data_dir)) {
    std::fprintf(stderr, "relais: %s; it already serves this directory\n",
                 backup::HeldMessage(o.data_dir, *h).c_str());
    return kExitHeld;
  }
  return server::RunServe(std::move(o));
}

}  // namespace relais::cli
