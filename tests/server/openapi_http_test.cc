// The routes the other server tests do not reach over HTTP (the evidence
// routes, the tenancy record, the export, the description itself, the
// parameter and expiry refusals), once each over a real socket: their
// answers are recorded (RELAIS_RECORD_RESPONSES) and validated against
// docs/openapi.yaml by the openapi_responses fixture (tests/CMakeLists.txt).
#include <gtest/gtest.h>

#include <fstream>

#include "server/server_harness.h"
#include "support/test_support.h"

namespace relais::testing {
namespace {

TEST(OpenApiHttp, EveryRouteAnswersOverTheSocket) {
  TempDir dir;
  std::string data = dir.path() + "/data";
  std::string events = dir.path() + "/events.ndjson";
  std::ofstream(events)
      << Event(Uuid(1), "HouseholdRegistered", "household/H1", "2024-01-10",
               R"({"territory":"lille","commune":"Lille","adults":1,"children":0,)"
               R"("headOfHousehold":{"name":"N","birthDate":"1980-05-01"}})")
      << "\n"
      << Event(Uuid(2), "DwellingRegistered", "dwelling/D1", "2024-01-01",
               R"({"territory":"lille","commune":"Lille","typology":"T3","adaptations":[],"rentCents":45000})")
      << "\n";
  ASSERT_EQ(RunCli({"--data", data, "import", events}).code, 0);
  std::string admin = AddToken(data, "admin", "admin");
  std::string evaluator = AddToken(data, "eval", "evaluator");
  ASSERT_FALSE(admin.empty());
  ServerProcess server(data, {"--checkpoint-interval", "0"});
  ASSERT_TRUE(server.Start());
  auto get = [&](const std::string& target, const std::string& token) {
    return Http(server.port(), "GET", target, "", token);
  };
  EXPECT_EQ(get("/v1/openapi.json", "").status, 200);
  EXPECT_EQ(get("/v1/checkpoint", admin).status, 200);
  EXPECT_EQ(get("/v1/checkpoint?size=1", admin).status, 200);
  EXPECT_EQ(get("/v1/checkpoint/key", admin).status, 200);
  EXPECT_EQ(get("/v1/proofs/inclusion?position=1&size=2", admin).status, 200);
  EXPECT_EQ(get("/v1/proofs/consistency?from=1&size=2", admin).status, 200);
  EXPECT_EQ(get("/v1/proofs/inclusion?position=9", admin).status, 400);
  EXPECT_EQ(get("/v1/streams/household%2FH1/evidence", admin).status, 200);
  EXPECT_EQ(get("/v1/streams/dwelling%2FD1/evidence", admin).status, 200);
  EXPECT_EQ(get("/v1/streams/dwelling%2FD1/tenancy", admin).status, 200);
  EXPECT_EQ(get("/v1/streams/dwelling%2FD1/tenancy?format=html", admin).status, 200);
  EXPECT_EQ(get("/v1/streams/dwelling/D1/status", admin).status, 200);
  EXPECT_EQ(get("/v1/streams/territory%2Flille/status", admin).status, 404);  // no event of it
  EXPECT_EQ(get("/v1/export?knownAt=2099-01-01T00:00:00Z", evaluator).status, 200);
  EXPECT_EQ(get("/v1/reports/indicators?format=md", admin).status, 200);
  EXPECT_EQ(get("/v1/reports/indicators?format=html", admin).status, 200);
  // Refusals: an unknown parameter, a repeated one, a byte order mark.
  EXPECT_EQ(get("/v1/verify?as_of=2024-01-01", admin).status, 400);
  EXPECT_EQ(get("/v1/streams/household%2FH1/status?asOf=2024-01-01&asOf=2024-02-01", admin).status, 400);
  EXPECT_EQ(Http(server.port(), "POST", "/v1/events", "\xEF\xBB\xBF{}", admin).status, 400);
  // Any role reads the description's route; none needs a token.
  EXPECT_EQ(get("/v1/openapi.json", evaluator).status, 200);
}

}  // namespace
}  // namespace relais::testing
