// The server's side of issue 14: `GET /v1/feed?format=cloudevents` (the
// caller's own view, as CloudEvents) and `relais serve --sink-dsn` (the sink
// on its own thread inside the server, following its appends, stopping with
// it).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "server/server_harness.h"
#include "support/test_support.h"
#include "tools/cloudevents_check.h"
#include "tools/sink_harness.h"

namespace relais::testing {
namespace {

std::vector<std::string> Data(const std::vector<SseClient::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events)
    if (e.event.empty() || e.event == "message") out.push_back(e.data);
  return out;
}

std::vector<std::string> Ids(const std::vector<SseClient::Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.id);
  return out;
}

TEST(SinkServe, FeedAsCloudEventsIsTheCallersViewInTheCloudEventsFormat) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ImportLines(dir.path(), data, Generate(dir.path(), 42, 400));
  const std::string admin = AddToken(data, "a", "admin");
  const std::string tenancy = AddToken(data, "t", "tenancy_staff", "lille");
  const std::string evaluator = AddToken(data, "e", "evaluator");
  // The head before the server starts: a read-only open beside a running
  // server can fail while it flushes (the test failed 1 run in 4 so).
  Options o;
  o.data_dir = data;
  o.read_only = true;
  auto opened = Engine::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  const Position head = (*opened)->GetHead().position;
  opened->reset();
  ServerProcess server(data);
  ASSERT_TRUE(server.Start());

  SseClient all(server.port(), admin, "/v1/feed?from=1&format=cloudevents");
  ASSERT_TRUE(all.ok());
  auto events = all.Read(head, 20000);
  EXPECT_EQ(all.status(), 200);
  ExpectCloudEvents(Data(events), head);
  // The SSE id stays the position, and the event says it too.
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events[0].data.find("\"position\":" + events[0].id), std::string::npos)
      << events[0].data;

  // A tenancy_staff reads exactly the events its envelope feed gives it, and
  // nothing personal or social.
  SseClient plain(server.port(), tenancy, "/v1/feed?from=1");
  SseClient ce(server.port(), tenancy, "/v1/feed?from=1&format=cloudevents");
  auto plain_events = plain.Read(head, 1000);
  auto ce_events = ce.Read(head, 1000);
  ASSERT_FALSE(plain_events.empty());
  EXPECT_EQ(Ids(ce_events), Ids(plain_events));
  ExpectCloudEvents(Data(ce_events), Data(plain_events).size());
  for (const auto& e : ce_events) {
    EXPECT_EQ(e.data.find("headOfHousehold"), std::string::npos);
    EXPECT_EQ(e.data.find("fr.relais.SupportStarted"), std::string::npos);
  }

  EXPECT_EQ(Http(server.port(), "GET", "/v1/feed?from=1&format=cloudevents", "", evaluator).status,
            403);
  HttpResult bad = Http(server.port(), "GET", "/v1/feed?from=1&format=xml", "", admin);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("format"), std::string::npos) << bad.body;
}

TEST(SinkServe, ServeWithASinkFollowsItsAppendsAndStopsWithTheServer) {
  std::string why;
  if (Cluster(&why) == nullptr) GTEST_SKIP() << "no PostgreSQL: " << why;
  TempDir dir;
  const std::string data = dir.path() + "/data";
  std::vector<std::string> lines = Generate(dir.path(), 42, 1500);
  ImportLines(dir.path(), data, lines);
  std::string household;
  for (const auto& l : lines) {
    size_t at = l.find("\"subject\":\"household/");
    if (at != std::string::npos) {
      household = l.substr(at + 11, l.find('"', at + 11) - at - 11);
      break;
    }
  }
  ASSERT_FALSE(household.empty());
  const std::string admin = AddToken(data, "a", "admin");
  ServerProcess server(data,
                       {"--sink-dsn", Dsn(), "--sink-scope", "admin", "--sink-schema", "s_serve"});
  ASSERT_TRUE(server.Start());
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  auto position = [&]() {
    auto rows = conn->Query("SELECT position FROM s_serve.sink_state");
    return rows.ok() && !rows->empty() ? *(*rows)[0][0] : std::string();
  };
  // Appends through the server while the sink follows: a household's
  // consent (its row re-folded) and the platform's activity.
  std::vector<std::string> posts = {Event(Uuid(9000), "ConsentRecorded", household, "2024-01-02",
                                          R"({"purpose":"data_sharing","given":true})")};
  for (int i = 1; i <= 30; ++i)
    posts.push_back(
        Event(Uuid(9000 + i), "StaffTrainingHeld", "territory/sud", "2024-02-01",
              R"({"topic":"Prévention des impayés","attendees":)" + std::to_string(i) + "}"));
  for (const auto& body : posts) {
    HttpResult r = Http(server.port(), "POST", "/v1/events", body, admin);
    ASSERT_EQ(r.status, 201) << r.body << "\n" << body;
  }
  HttpResult verify = Http(server.port(), "GET", "/v1/verify", "", admin);
  ASSERT_EQ(verify.status, 200);
  const std::string events_key = "\"events\":";
  size_t at = verify.body.find(events_key);
  ASSERT_NE(at, std::string::npos) << verify.body;
  const std::string head = std::to_string(std::stoull(verify.body.substr(at + events_key.size())));
  for (int i = 0; i < 400 && position() != head; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(position(), head);
  EXPECT_EQ(server.Stop(), 0);
  ExpectSchemaMatchesLog(*conn, "s_serve", data, dir.path());
}

TEST(SinkServe, SinkOptionsOfServeAreCheckedBeforeItStarts) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  ImportLines(dir.path(), data, Generate(dir.path(), 42, 50));
  CliRun r = Relais(dir.path(), {"--data", data, "serve", "--listen", "127.0.0.1:0", "--sink-dsn",
                                 "host=/x", "--sink-scope", "auditor"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--sink-scope"), std::string::npos) << r.err;
  r = Relais(dir.path(),
             {"--data", data, "serve", "--listen", "127.0.0.1:0", "--sink-schema", "x"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--sink-dsn"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace relais::testing
