#include "server/commands.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "relais/engine.h"
#include "relais/json_writer.h"
#include "server/access_journal.h"
#include "server/http_server.h"
#include "server/token_store.h"

namespace relais::server {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNotFound = 5;

int Usage(const std::string& m, const CommandOutput& out = StdOutput()) {
  out.err("relais: " + m + "\n");
  return kExitUsage;
}

int Fail(const Status& st, const CommandOutput& out = StdOutput()) {
  out.err("relais: " + st.message() + "\n");
  if (st.code() == StatusCode::kInvalidArgument) return kExitUsage;
  if (st.code() == StatusCode::kNotFound) return kExitNotFound;
  return kExitInternal;
}

bool KnownTerritory(const std::string& t) { return t == "lille" || t == "sud" || t == "flandres"; }

// ADDR:PORT ([v6]:PORT); false with `*why` otherwise.
bool SplitHostPort(const std::string& listen, std::string* address, uint16_t* port_out,
                   std::string* why) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    *why = "'" + listen + "' is not ADDR:PORT";
    return false;
  }
  *address = listen.substr(0, colon);
  if (address->size() > 2 && address->front() == '[' && address->back() == ']')
    *address = address->substr(1, address->size() - 2);
  std::string port = listen.substr(colon + 1);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535) {
    *why = "'" + port + "' is not a port";
    return false;
  }
  *port_out = static_cast<uint16_t>(p);
  return true;
}

// "123", "64K", "64M", "1G" (binary units); nullopt for anything else.
std::optional<int64_t> ParseBytes(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0) return std::nullopt;
  std::string unit = end;
  int shift = unit.empty() ? 0 : unit == "K" ? 10 : unit == "M" ? 20 : unit == "G" ? 30 : -1;
  if (shift < 0 || n > (int64_t{1} << 40) >> shift) return std::nullopt;
  return static_cast<int64_t>(n) << shift;
}

// "365d"; nullopt for anything else.
std::optional<int64_t> ParseDays(const std::string& text) {
  if (text.size() < 2 || text.back() != 'd' || text.size() > 8) return std::nullopt;
  int64_t n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    n = n * 10 + (text[i] - '0');
  }
  return n;
}

}  // namespace

Status ParseListen(const std::string& listen, ServerOptions* o) {
  std::string why;
  if (!SplitHostPort(listen, &o->address, &o->port, &why))
    return Status::InvalidArgument("--listen: " + why);
  return Status::Ok();
}

Status ParseServeOps(const ServeOps& ops, ServerOptions* o) {
  auto level = LogLevelFromName(ops.log_level);
  if (!level)
    return Status::InvalidArgument("--log-level: '" + ops.log_level + "' is not one of " +
                                   std::string(kLogLevelNames));
  o->log_level = *level;
  auto max_bytes = ParseBytes(ops.journal_max_bytes);
  if (!max_bytes || *max_bytes < kJournalMaxBytesMin)
    return Status::InvalidArgument("--journal-max-bytes: '" + ops.journal_max_bytes +
                                   "' is not a size from 1K to 1024G (bytes, or with K, M, G)");
  o->journal_max_bytes = *max_bytes;
  auto max_age = ParseDays(ops.journal_max_age);
  if (!max_age || *max_age < 1 || *max_age > kJournalMaxAgeDaysMax)
    return Status::InvalidArgument("--journal-max-age: '" + ops.journal_max_age +
                                   "' is not a number of days from 1d to " +
                                   std::to_string(kJournalMaxAgeDaysMax) + "d");
  o->journal_max_age_days = *max_age;
  std::string why;
  if (!ops.metrics_listen.empty() &&
      !SplitHostPort(ops.metrics_listen, &o->metrics_address, &o->metrics_port, &why))
    return Status::InvalidArgument("--metrics-listen: " + why);
  return Status::Ok();
}

int RunServe(ServerOptions o) {
  Status st = RunServer(o);
  if (!st.ok()) return Fail(st);
  return kExitOk;
}

int RunTokenAdd(const std::string& data_dir, const std::string& name, const std::string& role,
                const std::string& territory, const std::string& org, const std::string& expires,
                const CommandOutput& out) {
  std::optional<int64_t> lifetime;
  if (!expires.empty()) {
    lifetime = ParseLifetime(expires);
    if (!lifetime)
      return Usage("--expires: '" + expires.substr(0, 32) +
                   "' is not a lifetime such as 12h, 90d or 52w (1 hour to 10 years)", out);
  }
  // The metrics role reads /metrics and /healthz only: nothing to scope, and
  // no case role (TokenEntry::role stays empty).
  const bool metrics = role == kMetricsRoleName;
  if (metrics && !territory.empty()) return Usage("--territory: the metrics role takes none", out);
  if (metrics && !org.empty()) return Usage("--org: the metrics role takes none", out);
  auto r = metrics ? std::optional<Role>() : RoleFromName(role);
  if (!metrics && !r)
    return Usage("--role: '" + role +
                 "' is not one of admin, coordinator, social_worker, tenancy_staff, evaluator, "
                 "auditor, metrics", out);
  bool needs_territory = r == Role::kCoordinator || r == Role::kTenancyStaff;
  if (needs_territory && territory.empty()) return Usage("--territory is required for " + role, out);
  if (!territory.empty() && !KnownTerritory(territory))
    return Usage("--territory: '" + territory + "' is not one of lille, sud, flandres", out);
  if (r == Role::kSocialWorker && org.empty())
    return Usage("--org is required for social_worker", out);
  // An option the role does not use would be dropped without a word.
  if (!needs_territory && !territory.empty())
    return Usage("--territory does not apply to role " + role +
                 " (only coordinator and tenancy_staff have a territory)", out);
  if (r != Role::kSocialWorker && !org.empty())
    return Usage("--org does not apply to role " + role + " (only social_worker has an org)", out);
  if (org.size() > 200) return Usage("--org: at most 200 characters", out);
  TokenEntry e;
  if (lifetime)
    e.expires_at = FormatTimestamp(
        Timestamp{SystemClock()->Now().micros + *lifetime * 1'000'000});
  e.name = name;
  e.role = r;
  e.territory = needs_territory ? territory : "";
  e.org = r == Role::kSocialWorker ? org : "";
  auto token = AddToken(data_dir, e);
  if (!token.ok()) return Fail(token.status(), out);
  JsonWriter w;
  w.BeginObject();
  w.Key("name").String(e.name);
  w.Key("role").String(role);
  w.Key("territory");
  if (e.territory.empty()) {
    w.Null();
  } else {
    w.String(e.territory);
  }
  w.Key("org");
  if (e.org.empty()) {
    w.Null();
  } else {
    w.String(e.org);
  }
  w.Key("expiresAt");
  if (e.expires_at.empty()) {
    w.Null();
  } else {
    w.String(e.expires_at);
  }
  w.Key("token").String(*token);
  w.EndObject();
  out.out(w.str() + "\n");
  return kExitOk;
}

int RunTokenList(const std::string& data_dir) {
  auto tokens = LoadTokens(data_dir);
  if (!tokens.ok()) return Fail(tokens.status());
  JsonWriter w;
  w.BeginObject();
  w.Key("tokens").BeginArray();
  for (const auto& t : *tokens) {
    w.BeginObject();
    w.Key("name").String(t.name);
    w.Key("role").String(TokenRoleName(t.role));
    w.Key("territory");
    if (t.territory.empty()) {
      w.Null();
    } else {
      w.String(t.territory);
    }
    w.Key("org");
    if (t.org.empty()) {
      w.Null();
    } else {
      w.String(t.org);
    }
    w.Key("createdAt").String(t.created_at);
    w.Key("expiresAt");
    if (t.expires_at.empty()) {
      w.Null();
    } else {
      w.String(t.expires_at);
    }
    w.Key("revoked").Bool(t.revoked);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::printf("%s\n", w.str().c_str());
  return kExitOk;
}

int RunTokenRevoke(const std::string& data_dir, const std::string& name,
                   const CommandOutput& out) {
  Status st = RevokeToken(data_dir, name);
  if (!st.ok()) return Fail(st, out);
  JsonWriter w;
  w.BeginObject();
  w.Key("name").String(name);
  w.Key("revoked").Bool(true);
  w.EndObject();
  out.out(w.str() + "\n");
  return kExitOk;
}

}  // namespace relais::server
