// No silent parameter (issue 13): every route of the router's table rejects
// a query parameter it does not take, or one given twice, with a 400 naming
// it; every parameter a route declares is read by its handler (a bad value
// is refused, not ignored); a body with a UTF-8 byte order mark is named.
// Socket-free, through HandleRequest.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "server/router.h"
#include "server/state.h"
#include "server/token_store.h"
#include "support/test_support.h"

namespace relais::server {
namespace {

using relais::testing::TempDir;

class QueryParamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TokenEntry admin;
    admin.name = "admin";
    admin.role = Role::kAdmin;
    auto secret = AddToken(dir_.path(), admin);
    ASSERT_TRUE(secret.ok()) << secret.status().message();
    admin_ = *secret;
    ServerOptions o;
    o.data_dir = dir_.path();
    auto s = OpenState(o);
    ASSERT_TRUE(s.ok()) << s.status().message();
    s_ = std::move(*s);
    Response r = Do("POST", "/v1/events",
                    relais::testing::Ev(1, "HouseholdRegistered", "household/H1", "2024-01-10",
                                        R"({"territory":"lille","commune":"Lille","adults":1,)"
                                        R"("children":0,"headOfHousehold":{"name":"N",)"
                                        R"("birthDate":"1980-05-01"}})"));
    ASSERT_EQ(r.status, http::status::created) << r.body;
  }
  Response Do(const std::string& method, const std::string& target, std::string body = "") {
    Request req;
    req.method = http::string_to_verb(method);
    req.target = target;
    req.headers = {{"Authorization", "Bearer " + admin_}};
    req.body = std::move(body);
    return HandleRequest(*s_, std::move(req));
  }
  // A route's template made concrete: a household that exists (a dwelling
  // for the tenancy record).
  static std::string Path(const RouteInfo& r) {
    std::string p = r.path;
    size_t at = p.find("{subject}");
    if (at != std::string::npos)
      p.replace(at, 9, r.path.ends_with("/tenancy") ? "dwelling%2FD1" : "household%2FH1");
    return p;
  }
  static std::string ErrorField(const std::string& body, const char* field) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(body).get(doc) != simdjson::SUCCESS) return "<not json>";
    std::string_view v;
    if (doc["error"][field].get(v) != simdjson::SUCCESS) return "<absent>";
    return std::string(v);
  }

  TempDir dir_;
  std::string admin_;
  std::unique_ptr<State> s_;
};

TEST_F(QueryParamsTest, EveryRouteRejectsAnUnknownParameterNamingIt) {
  std::vector<RouteInfo> routes = RouteList();
  ASSERT_GT(routes.size(), 20u);
  for (const RouteInfo& r : routes) {
    SCOPED_TRACE(r.method + " " + r.path);
    Response resp = Do(r.method, Path(r) + "?as_of=2024-01-01");
    EXPECT_EQ(resp.status, http::status::bad_request) << resp.body;
    EXPECT_EQ(ErrorField(resp.body, "code"), "unknown_parameter") << resp.body;
    EXPECT_EQ(ErrorField(resp.body, "parameter"), "as_of") << resp.body;
    EXPECT_NE(ErrorField(resp.body, "message").find("'as_of'"), std::string::npos) << resp.body;
  }
}

TEST_F(QueryParamsTest, EveryDeclaredParameterIsReadAndTakenOnce) {
  for (const RouteInfo& r : RouteList()) {
    std::string_view params = r.params;
    while (!params.empty()) {
      size_t comma = params.find(',');
      std::string name(params.substr(0, comma));
      params = comma == std::string_view::npos ? std::string_view() : params.substr(comma + 1);
      SCOPED_TRACE(r.method + " " + r.path + " " + name);
      // Given twice: refused before its handler runs.
      Response twice = Do(r.method, Path(r) + "?" + name + "=1&" + name + "=2");
      EXPECT_EQ(twice.status, http::status::bad_request) << twice.body;
      EXPECT_EQ(ErrorField(twice.body, "code"), "duplicate_parameter") << twice.body;
      EXPECT_EQ(ErrorField(twice.body, "parameter"), name);
      // A bad value reaches the handler, which refuses it naming the
      // parameter: declared means read. (`subject` filters the journal by
      // any text: no value of it is bad.)
      if (name == "subject") continue;
      // The proofs' required parameter given, when it is not the one tried.
      std::string others;
      if (r.path == "/v1/proofs/inclusion" && name != "position") others = "&position=1";
      if (r.path == "/v1/proofs/consistency" && name != "from") others = "&from=1";
      Response bad = Do(r.method, Path(r) + "?" + name + "=zz%20bad" + others);
      EXPECT_EQ(bad.status, http::status::bad_request) << bad.body;
      EXPECT_EQ(ErrorField(bad.body, "code"), "malformed") << bad.body;
      EXPECT_NE(ErrorField(bad.body, "message").find(name), std::string::npos) << bad.body;
    }
  }
}

TEST_F(QueryParamsTest, KnownParametersStillWork) {
  EXPECT_EQ(Do("GET", "/v1/streams/household%2FH1/status?asOf=2024-02-01&knownAt=").status,
            http::status::ok);
  EXPECT_EQ(Do("GET", "/v1/reports/indicators?asOf=2024-02-01&format=csv").status, http::status::ok);
  // asOf is not a parameter of the history (it has no valid-time view).
  Response r = Do("GET", "/v1/streams/household%2FH1/events?asOf=2024-02-01");
  EXPECT_EQ(r.status, http::status::bad_request);
  EXPECT_EQ(ErrorField(r.body, "parameter"), "asOf");
  // Nor knownAt of applying retention: it is applied with what is known now.
  r = Do("POST", "/v1/retention?knownAt=2024-01-01T00:00:00Z");
  EXPECT_EQ(r.status, http::status::bad_request);
  EXPECT_EQ(ErrorField(r.body, "parameter"), "knownAt");
  // /healthz takes none either.
  EXPECT_EQ(Do("GET", "/healthz?verbose=1").status, http::status::bad_request);
}

TEST_F(QueryParamsTest, BodyFieldsARouteDoesNotTakeAreNamed) {
  Response r = Do("POST", "/v1/backup", R"({"dest":"/nonexistent/b","compress":true})");
  EXPECT_EQ(r.status, http::status::bad_request) << r.body;
  EXPECT_EQ(ErrorField(r.body, "code"), "unknown_field");
  EXPECT_NE(ErrorField(r.body, "message").find("'compress'"), std::string::npos) << r.body;
  r = Do("POST", "/v1/streams/household%2FH1/erasure", R"({"reason":"other","note":"x"})");
  EXPECT_EQ(r.status, http::status::bad_request) << r.body;
  EXPECT_NE(ErrorField(r.body, "message").find("'note'"), std::string::npos) << r.body;
  // Nothing was erased.
  EXPECT_EQ(Do("GET", "/v1/streams/household%2FH1/status").body.find("\"erased\":true"),
            std::string::npos);
}

TEST_F(QueryParamsTest, ByteOrderMarkIsNamed) {
  const std::string bom = "\xEF\xBB\xBF";
  for (const char* target : {"/v1/events", "/v1/backup", "/v1/streams/household%2FH1/erasure"}) {
    SCOPED_TRACE(target);
    Response r = Do("POST", target, bom + "{}");
    EXPECT_EQ(r.status, http::status::bad_request) << r.body;
    EXPECT_NE(ErrorField(r.body, "message").find("byte order mark"), std::string::npos) << r.body;
  }
}

}  // namespace
}  // namespace relais::server

namespace relais::server {
namespace {

// Token expiry (issue 13): a token past its expiresAt gets 401 token_expired;
// one before it works; one without it never expires.
// The --metrics-listen address takes no parameter either, as the main
// address's /metrics and /healthz. Before: RouteMetricsListener answered 200
// to /metrics?anything, the parameter dropped without a word.
TEST_F(QueryParamsTest, TheMetricsAddressRejectsAParameterToo) {
  for (const char* path : {"/metrics", "/healthz"}) {
    Request req;
    req.method = http::verb::get;
    req.target = std::string(path) + "?name[]=relais_requests_total";
    Routed r = RouteMetricsListener(*s_, req);
    EXPECT_EQ(r.response.status, http::status::bad_request) << path << " " << r.response.body;
    EXPECT_EQ(ErrorField(r.response.body, "code"), "unknown_parameter") << r.response.body;
    req.target = path;
    EXPECT_EQ(RouteMetricsListener(*s_, req).response.status, http::status::ok) << path;
  }
}

// The log's route of every path the router serves is its template. Before:
// sign-ins, sign-outs, the OpenAPI document and the console's files were all
// logged as route "unknown", like a 404 (and POST /v1/session's was read
// from a request already moved into its handler).
TEST_F(QueryParamsTest, EveryServedPathHasItsTemplateInTheLog) {
  EXPECT_STREQ(RouteTemplate("/v1/session"), "/v1/session");
  EXPECT_STREQ(RouteTemplate("/v1/openapi.json"), "/v1/openapi.json");
  EXPECT_STREQ(RouteTemplate("/"), "/");
  EXPECT_STREQ(RouteTemplate("/console/app.js"), "/console/{asset}");
  EXPECT_STREQ(RouteTemplate("/console/"), "/console/{asset}");
  EXPECT_STREQ(RouteTemplate("/v1/nothing"), "unknown");
  Request req;
  req.method = http::verb::post;
  req.target = "/v1/session";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = "{\"token\":\"" + admin_ + "\"}";
  EXPECT_STREQ(Route(*s_, req).route_template, "/v1/session");
}

TEST(TokenExpiry, ExpiredTokenIs401TokenExpired) {
  TempDir dir;
  auto add = [&](const std::string& name, std::string expires_at) {
    TokenEntry e;
    e.name = name;
    e.role = Role::kAdmin;
    e.expires_at = std::move(expires_at);
    auto secret = AddToken(dir.path(), e);
    EXPECT_TRUE(secret.ok()) << secret.status().message();
    return secret.ok() ? *secret : std::string();
  };
  int64_t now = SystemClock()->Now().micros;
  std::string past = add("past", FormatTimestamp(Timestamp{now - 1'000'000}));
  std::string future = add("future", FormatTimestamp(Timestamp{now + 3600'000'000LL}));
  std::string never = add("never", "");
  ServerOptions o;
  o.data_dir = dir.path();
  auto s = OpenState(o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto get = [&](const std::string& secret) {
    Request req;
    req.target = "/v1/verify";
    req.headers = {{"Authorization", "Bearer " + secret}};
    return HandleRequest(**s, std::move(req));
  };
  Response r = get(past);
  EXPECT_EQ(r.status, http::status::unauthorized) << r.body;
  EXPECT_NE(r.body.find("\"code\":\"token_expired\""), std::string::npos) << r.body;
  EXPECT_EQ(get(future).status, http::status::ok);
  EXPECT_EQ(get(never).status, http::status::ok);
  // An unknown token stays plain unauthorized.
  r = get("rls_nope");
  EXPECT_NE(r.body.find("\"code\":\"unauthorized\""), std::string::npos) << r.body;
  // The stored entries keep their expiry.
  auto tokens = LoadTokens(dir.path());
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 3u);
  EXPECT_EQ((*tokens)[0].expires_at, FormatTimestamp(Timestamp{now - 1'000'000}));
  EXPECT_EQ((*tokens)[2].expires_at, "");
}

TEST(TokenExpiry, LifetimeUnits) {
  EXPECT_EQ(ParseLifetime("12h"), 12 * 3600);
  EXPECT_EQ(ParseLifetime("90d"), 90 * 86400);
  EXPECT_EQ(ParseLifetime("2w"), 14 * 86400);
  EXPECT_EQ(ParseLifetime("3650d"), 3650LL * 86400);
  for (const char* bad : {"", "d", "0d", "90", "90m", "-1d", "1.5d", "3651d", "90D", " 90d", "99999999w"})
    EXPECT_FALSE(ParseLifetime(bad)) << bad;
}

}  // namespace
}  // namespace relais::server
