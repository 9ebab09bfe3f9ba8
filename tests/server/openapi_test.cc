// docs/openapi.yaml against the router (issue 13 item 5): every route
// RouteList() names is described with exactly the query parameters the
// router lets through, every operation described is a route (bar the ones
// marked x-relais-planned), and GET /v1/openapi.json serves the document
// without a token.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <set>
#include <string>

#include "server/openapi.h"
#include "server/router.h"
#include "server/state.h"
#include "support/test_support.h"

namespace relais::server {
namespace {

std::set<std::string> Split(std::string_view list) {
  std::set<std::string> out;
  while (!list.empty()) {
    size_t comma = list.find(',');
    out.emplace(list.substr(0, comma));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(parser_.parse(OpenApiJson()).get(doc_), simdjson::SUCCESS);
  }
  // A parameter object, its $ref (to #/components/parameters/X) followed.
  simdjson::dom::element Resolve(simdjson::dom::element p) {
    std::string_view ref;
    if (p["$ref"].get(ref) == simdjson::SUCCESS) {
      std::string_view prefix = "#/components/parameters/";
      EXPECT_EQ(ref.substr(0, prefix.size()), prefix) << ref;
      return doc_["components"]["parameters"][ref.substr(prefix.size())];
    }
    return p;
  }
  bool Planned(simdjson::dom::element e) {
    bool planned = false;
    return e["x-relais-planned"].get(planned) == simdjson::SUCCESS && planned;
  }
  // The query parameters an operation declares (path-level ones included),
  // without the planned ones.
  std::set<std::string> QueryParams(simdjson::dom::element item, simdjson::dom::element op) {
    std::set<std::string> out;
    for (auto holder : {item, op}) {
      simdjson::dom::array params;
      if (holder["parameters"].get(params) != simdjson::SUCCESS) continue;
      for (auto p : params) {
        auto r = Resolve(p);
        std::string_view in, name;
        EXPECT_EQ(r["in"].get(in), simdjson::SUCCESS);
        EXPECT_EQ(r["name"].get(name), simdjson::SUCCESS);
        if (in == "query" && !Planned(r)) out.emplace(name);
      }
    }
    return out;
  }
  simdjson::dom::parser parser_;
  simdjson::dom::element doc_;
};

TEST_F(OpenApiTest, EveryRouteIsDescribedWithItsParameters) {
  std::string_view version;
  ASSERT_EQ(doc_["openapi"].get(version), simdjson::SUCCESS);
  EXPECT_EQ(version, "3.1.0");
  std::vector<RouteInfo> routes = RouteList();
  ASSERT_GT(routes.size(), 20u);
  for (const RouteInfo& r : routes) {
    SCOPED_TRACE(r.method + " " + r.path);
    simdjson::dom::element item, op;
    ASSERT_EQ(doc_["paths"][r.path].get(item), simdjson::SUCCESS) << "path not described";
    std::string method = r.method;
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    ASSERT_EQ(item[method].get(op), simdjson::SUCCESS) << "method not described";
    EXPECT_FALSE(Planned(op)) << "a route of the router is marked planned";
    EXPECT_EQ(QueryParams(item, op), Split(r.params));
  }
}

TEST_F(OpenApiTest, EveryDescribedOperationIsARouteOrPlanned) {
  std::set<std::string> routes;
  for (const RouteInfo& r : RouteList()) routes.insert(r.method + " " + r.path);
  simdjson::dom::object paths;
  ASSERT_EQ(doc_["paths"].get(paths), simdjson::SUCCESS);
  int described = 0;
  for (auto [path, item] : paths) {
    simdjson::dom::object ops;
    ASSERT_EQ(item.get(ops), simdjson::SUCCESS);
    for (auto [method, op] : ops) {
      if (method == "parameters") continue;
      std::string m(method);
      std::transform(m.begin(), m.end(), m.begin(), ::toupper);
      std::string key = m + " " + std::string(path);
      ++described;
      if (Planned(op)) continue;
      EXPECT_TRUE(routes.count(key)) << key << " is described but the router has no such route";
    }
  }
  EXPECT_GE(described, static_cast<int>(routes.size()));
}

TEST(OpenApiRoute, ServedWithoutAToken) {
  relais::testing::TempDir dir;
  ServerOptions o;
  o.data_dir = dir.path();
  auto s = OpenState(o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  Request req;
  req.target = "/v1/openapi.json";
  Response r = HandleRequest(**s, req);
  EXPECT_EQ(r.status, http::status::ok);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, std::string(OpenApiJson()) + "\n");
  req.target = "/v1/openapi.json?pretty=1";
  EXPECT_EQ(HandleRequest(**s, req).status, http::status::bad_request);
  req.method = http::verb::post;
  req.target = "/v1/openapi.json";
  EXPECT_EQ(HandleRequest(**s, req).status, http::status::method_not_allowed);
}

}  // namespace
}  // namespace relais::server
