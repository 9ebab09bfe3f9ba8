// The server's stderr log (tools/server/server_log.h, docs/server.md
// "Logs"): the real binary, its stderr captured in a file. Every line is
// one JSON object; a request's line names the route's template and the
// token's name, never the subject, the query or the token's secret.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "server/server_harness.h"
#include "support/test_support.h"

namespace relais::testing {
namespace {

constexpr const char* kSubjectId = "HZQXSECRET42";  // a household id that must not be logged

std::string Registered() {
  return R"({"territory":"lille","commune":"Lille","adults":1,"children":0,"headOfHousehold":{"name":"Zoé Zorglub","birthDate":"1980-05-01"}})";
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    if (nl > start) out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

TEST(OpsLogTest, EveryLineIsJsonAndRequestsNameTemplatesNotSubjectsNorSecrets) {
  TempDir dir, logs;
  const std::string log_path = logs.path() + "/stderr.log";
  std::string secret = AddToken(dir.path(), "ops-admin", "admin");
  ASSERT_FALSE(secret.empty());
  ServerProcess server(dir.path());
  server.set_stderr_path(log_path);
  ASSERT_TRUE(server.Start());
  const std::string subject = std::string("household/") + kSubjectId;
  const std::string encoded = std::string("household%2F") + kSubjectId;
  HttpResult r = Http(server.port(), "POST", "/v1/events",
                      Event(Uuid(1), "HouseholdRegistered", subject, "2024-01-10", Registered()),
                      secret);
  ASSERT_EQ(r.status, 201) << r.body;
  r = Http(server.port(), "GET",
           "/v1/streams/" + encoded + "/status?knownAt=2031-02-03T04:05:06Z", "", secret);
  ASSERT_EQ(r.status, 200) << r.body;
  r = Http(server.port(), "GET", "/v1/streams/" + encoded + "/events", "", secret);
  ASSERT_EQ(r.status, 200) << r.body;
  r = Http(server.port(), "GET", "/v1/nowhere/" + std::string(kSubjectId), "", secret);
  ASSERT_EQ(r.status, 404);
  r = Http(server.port(), "GET", "/v1/verify", "", "wrongsecret-7f3a9c");
  ASSERT_EQ(r.status, 401);
  r = Http(server.port(), "GET", "/healthz");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(server.Stop(), 0);

  std::string text = ReadFile(log_path);
  std::vector<std::string> lines = Lines(text);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(text.find(kSubjectId), std::string::npos) << text;
  EXPECT_EQ(text.find(secret), std::string::npos) << "the token's secret was logged";
  EXPECT_EQ(text.find("wrongsecret"), std::string::npos) << text;
  EXPECT_EQ(text.find("2031-02-03"), std::string::npos) << "a query value was logged";
  EXPECT_EQ(text.find("Zorglub"), std::string::npos) << text;

  simdjson::dom::parser parser;
  std::vector<std::string> routes;
  bool listening = false, stopped = false;
  for (const std::string& line : lines) {
    simdjson::dom::element e;
    ASSERT_FALSE(parser.parse(line).get(e)) << "not JSON: " << line;
    std::string_view time, level, msg;
    ASSERT_FALSE(e["time"].get_string().get(time)) << line;
    EXPECT_EQ(time.size(), 24u) << line;  // 2026-12-02T13:21:51.123Z
    EXPECT_EQ(time.back(), 'Z') << line;
    ASSERT_FALSE(e["level"].get_string().get(level)) << line;
    ASSERT_FALSE(e["msg"].get_string().get(msg)) << line;
    if (msg == "request") {
      std::string_view method, route;
      int64_t status = 0;
      double ms = -1;
      ASSERT_FALSE(e["method"].get_string().get(method)) << line;
      ASSERT_FALSE(e["route"].get_string().get(route)) << line;
      ASSERT_FALSE(e["status"].get_int64().get(status)) << line;
      ASSERT_FALSE(e["durationMs"].get_double().get(ms)) << line;
      EXPECT_GE(ms, 0) << line;
      simdjson::dom::element token;
      ASSERT_FALSE(e["token"].get(token)) << line;
      if (route == "/healthz" || status == 401) {
        EXPECT_TRUE(token.is_null()) << line;
      } else {
        EXPECT_EQ(std::string_view(token.get_string().value_unsafe()), "ops-admin") << line;
      }
      routes.push_back(std::string(method) + " " + std::string(route) + " " +
                       std::to_string(status));
    } else if (msg == "listening") {
      listening = true;
      std::string_view version, listen, data_dir;
      uint64_t events = 99;
      EXPECT_FALSE(e["version"].get_string().get(version)) << line;
      EXPECT_FALSE(version.empty()) << line;
      EXPECT_FALSE(e["listen"].get_string().get(listen)) << line;
      EXPECT_EQ(listen, "127.0.0.1:" + std::to_string(server.port())) << line;
      EXPECT_FALSE(e["dataDir"].get_string().get(data_dir)) << line;
      EXPECT_EQ(data_dir, dir.path()) << line;
      EXPECT_FALSE(e["events"].get_uint64().get(events)) << line;
      EXPECT_EQ(events, 0u) << line;
    } else if (msg == "stopped") {
      stopped = true;
      uint64_t events = 0;
      EXPECT_FALSE(e["events"].get_uint64().get(events)) << line;
      EXPECT_EQ(events, 1u) << line;
    }
  }
  EXPECT_TRUE(listening) << text;
  EXPECT_TRUE(stopped) << text;
  std::vector<std::string> want = {
      "POST /v1/events 201", "GET /v1/streams/{subject}/status 200",
      "GET /v1/streams/{subject}/events 200", "GET unknown 404", "GET /v1/verify 401",
      "GET /healthz 200"};
  // A line is written once its answer is sent: two requests close together
  // may log in either order.
  std::sort(routes.begin(), routes.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(routes, want) << text;
}

TEST(OpsLogTest, LevelWarnHidesRequestLinesAndOffSilencesAll) {
  TempDir dir, logs;
  std::string secret = AddToken(dir.path(), "ops-admin", "admin");
  for (const char* level : {"warn", "off"}) {
    const std::string log_path = logs.path() + "/" + level + ".log";
    ServerProcess server(dir.path(), {"--log-level", level});
    server.set_stderr_path(log_path);
    ASSERT_TRUE(server.Start());
    ASSERT_EQ(Http(server.port(), "GET", "/v1/verify", "", secret).status, 200);
    ASSERT_EQ(server.Stop(), 0);
    std::string text = ReadFile(log_path);
    EXPECT_EQ(text.find("\"request\""), std::string::npos) << level << ": " << text;
    EXPECT_EQ(text.find("\"listening\""), std::string::npos) << level << ": " << text;
    if (std::string(level) == "off") {
      EXPECT_EQ(text, "");
    }
  }
  // debug shows the request lines.
  const std::string log_path = logs.path() + "/debug.log";
  ServerProcess server(dir.path(), {"--log-level", "debug"});
  server.set_stderr_path(log_path);
  ASSERT_TRUE(server.Start());
  ASSERT_EQ(Http(server.port(), "GET", "/v1/verify", "", secret).status, 200);
  ASSERT_EQ(server.Stop(), 0);
  EXPECT_NE(ReadFile(log_path).find("\"route\":\"/v1/verify\""), std::string::npos);
}

TEST(OpsLogTest, BadLogLevelIsAUsageError) {
  TempDir dir;
  std::string out;
  EXPECT_EQ(RunRelais({"--data", dir.path(), "serve", "--listen", "127.0.0.1:0", "--log-level",
                       "loud"},
                      &out),
            2);
  EXPECT_EQ(out, "");  // nothing listened
}

TEST(OpsJournalOptionsTest, BadCapsAreUsageErrorsAndASmallCapRotatesAServedJournal) {
  TempDir dir;
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"--journal-max-bytes", "10"}, {"--journal-max-bytes", "64X"},
        {"--journal-max-bytes", "-1"}, {"--journal-max-age", "0d"}, {"--journal-max-age", "12"},
        {"--journal-max-age", "3651d"}}) {
    std::vector<std::string> args = {"--data", dir.path(), "serve", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), bad.begin(), bad.end());
    std::string out;
    EXPECT_EQ(RunRelais(args, &out), 2) << bad[0] << " " << bad[1];
    EXPECT_EQ(out, "");
  }
  std::string secret = AddToken(dir.path(), "ops-admin", "admin");
  ServerProcess server(dir.path(), {"--journal-max-bytes", "1K", "--journal-max-age", "180d",
                                    "--log-level", "warn"});
  ASSERT_TRUE(server.Start());
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(Http(server.port(), "GET", "/v1/streams/household%2FX" + std::to_string(i) + "/status",
                   "", secret)
                  .status,
              404);
  HttpResult r = Http(server.port(), "GET", "/v1/audit/access?limit=3", "", secret);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"next\":\""), std::string::npos) << r.body;
  ASSERT_EQ(server.Stop(), 0);
  int rotated = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir.path()))
    if (f.path().filename().string().starts_with("access-journal.0")) ++rotated;
  EXPECT_GE(rotated, 2);
}

}  // namespace
}  // namespace relais::testing
