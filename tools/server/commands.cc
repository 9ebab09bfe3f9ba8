#include "server/commands.h"

#include <cstdio>

#include "relais/json_writer.h"
#include "server/http_server.h"
#include "server/token_store.h"

namespace relais::server {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNotFound = 5;

int Usage(const std::string& m) {
  std::fprintf(stderr, "relais: %s\n", m.c_str());
  return kExitUsage;
}

int Fail(const Status& st) {
  std::fprintf(stderr, "relais: %s\n", st.message().c_str());
  if (st.code() == StatusCode::kInvalidArgument) return kExitUsage;
  if (st.code() == StatusCode::kNotFound) return kExitNotFound;
  return kExitInternal;
}

bool KnownTerritory(const std::string& t) { return t == "lille" || t == "sud" || t == "flandres"; }

}  // namespace

int RunServe(const std::string& data_dir, const std::string& listen, size_t max_connections,
             uint64_t feed_lag_max, int64_t checkpoint_interval_s, const std::string& origin,
             const ServeSinkArgs& sink) {
  ServerOptions o;
  o.sink_dsn = sink.dsn;
  o.sink_scope = sink.scope;
  o.sink_schema = sink.schema;
  o.sink_events_format = sink.events_format;
  o.checkpoint_interval_s = checkpoint_interval_s;
  o.origin = origin;
  o.data_dir = data_dir;
  o.connections_max = max_connections;
  o.feed_lag_max = feed_lag_max;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Usage("--listen: '" + listen + "' is not ADDR:PORT");
  o.address = listen.substr(0, colon);
  if (o.address.size() > 2 && o.address.front() == '[' && o.address.back() == ']')
    o.address = o.address.substr(1, o.address.size() - 2);
  std::string port = listen.substr(colon + 1);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535)
    return Usage("--listen: '" + port + "' is not a port");
  o.port = static_cast<uint16_t>(p);
  Status st = RunServer(o);
  if (!st.ok()) return Fail(st);
  return kExitOk;
}

int RunTokenAdd(const std::string& data_dir, const std::string& name, const std::string& role,
                const std::string& territory, const std::string& org) {
  auto r = RoleFromName(role);
  if (!r)
    return Usage("--role: '" + role +
                 "' is not one of admin, coordinator, social_worker, tenancy_staff, evaluator, "
                 "auditor");
  bool needs_territory =
      *r == Role::kCoordinator || *r == Role::kTenancyStaff;
  if (needs_territory && territory.empty()) return Usage("--territory is required for " + role);
  if (!territory.empty() && !KnownTerritory(territory))
    return Usage("--territory: '" + territory + "' is not one of lille, sud, flandres");
  if (*r == Role::kSocialWorker && org.empty())
    return Usage("--org is required for social_worker");
  if (org.size() > 200) return Usage("--org: at most 200 characters");
  TokenEntry e;
  e.name = name;
  e.role = *r;
  e.territory = needs_territory ? territory : "";
  e.org = *r == Role::kSocialWorker ? org : "";
  auto token = AddToken(data_dir, e);
  if (!token.ok()) return Fail(token.status());
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
  w.Key("token").String(*token);
  w.EndObject();
  std::printf("%s\n", w.str().c_str());
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
    w.Key("role").String(RoleName(t.role));
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
    w.Key("revoked").Bool(t.revoked);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::printf("%s\n", w.str().c_str());
  return kExitOk;
}

int RunTokenRevoke(const std::string& data_dir, const std::string& name) {
  Status st = RevokeToken(data_dir, name);
  if (!st.ok()) return Fail(st);
  std::printf("{\"name\": \"%s\", \"revoked\": true}\n", name.c_str());
  return kExitOk;
}

}  // namespace relais::server
