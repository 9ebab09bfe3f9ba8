// `relais sink postgres --url --token --replica`: a standalone sink following
// a running server through its feed (sink/feed_source.h). The tables equal
// the server's own status and series, sink_state holds the server's chain
// hash, appends through HTTP (and an erasure) arrive, and a server killed and
// restarted is followed again without gap or double count.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "server/server_harness.h"
#include "support/test_support.h"
#include "tools/sink_harness.h"

namespace relais::testing {
namespace {

// The server's head: its position and chain hash (GET /v1/verify).
std::pair<std::string, std::string> ServerHead(uint16_t port, const std::string& admin) {
  HttpResult verify = Http(port, "GET", "/v1/verify", "", admin);
  EXPECT_EQ(verify.status, 200) << verify.body;
  auto field = [&](const std::string& key) -> std::string {
    size_t at = verify.body.find("\"" + key + "\":");
    if (at == std::string::npos) return "";
    at += key.size() + 3;
    if (verify.body[at] == '"') return verify.body.substr(at + 1, 64);
    return std::to_string(std::stoull(verify.body.substr(at)));
  };
  return {field("events"), field("head")};
}

class SinkFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (Cluster(&why) == nullptr) GTEST_SKIP() << "no PostgreSQL: " << why;
    data = dir.path() + "/data";
    replica = dir.path() + "/replica";
    conn = Connect();
    ASSERT_NE(conn, nullptr);
  }
  std::vector<std::string> SinkArgs(uint16_t port, const std::string& token,
                                    const std::string& schema) {
    return {"sink",     "postgres", "--dsn",
            Dsn(),      "--url",    "http://127.0.0.1:" + std::to_string(port),
            "--token",  token,      "--replica",
            replica,    "--scope",  "admin",
            "--schema", schema};
  }
  std::string State(const std::string& schema, const std::string& column) {
    auto rows = conn->Query("SELECT " + column + " FROM " + schema + ".sink_state");
    return rows.ok() && !rows->empty() && (*rows)[0][0] ? *(*rows)[0][0] : "";
  }
  // The background sinks' stderr (bg.stderr: the last one started).
  std::string Err() {
    std::ifstream in(dir.path() + "/bg.stderr");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // Waits (at most 15 s) for sink_state to reach `position`.
  bool WaitFor(const std::string& schema, const std::string& position) {
    for (int i = 0; i < 300; ++i) {
      if (State(schema, "position") == position) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  TempDir dir;
  std::string data, replica;
  std::unique_ptr<sink::PgConnection> conn;
};

TEST_F(SinkFeedTest, FollowsAServerThroughItsFeedAcrossAServerRestart) {
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
  ServerProcess server(data);
  ASSERT_TRUE(server.Start());
  const uint16_t port = server.port();

  pid_t sink = RelaisInBackground(dir.path(), SinkArgs(port, admin, "s_feed"));
  ASSERT_GT(sink, 0);
  auto [head, hash] = ServerHead(port, admin);
  ASSERT_TRUE(WaitFor("s_feed", head)) << State("s_feed", "position") << " != " << head << "\n"
                                       << Err();
  // The server's chain hash, not the replica's own (its sealed fields are
  // under other keys).
  EXPECT_EQ(State("s_feed", "hash"), hash);
  EXPECT_EQ(QueryOne(*conn, "SELECT hash FROM s_feed.events WHERE position = " + head), hash);
  EXPECT_EQ(QueryOne(*conn, "SELECT body->>'hash' FROM s_feed.events WHERE position = " + head),
            hash);
  ExpectSchemaMatchesLog(*conn, "s_feed", data, dir.path());

  // Appends through HTTP, and an erasure: they arrive.
  std::vector<std::string> posts = {Event(Uuid(9000), "ConsentRecorded", household, "2024-01-02",
                                          R"({"purpose":"data_sharing","given":true})")};
  for (int i = 1; i <= 20; ++i)
    posts.push_back(
        Event(Uuid(9000 + i), "StaffTrainingHeld", "territory/sud", "2024-02-01",
              R"({"topic":"Prévention des impayés","attendees":)" + std::to_string(i) + "}"));
  for (const auto& body : posts)
    ASSERT_EQ(Http(port, "POST", "/v1/events", body, admin).status, 201) << body;
  const std::string encoded = "household%2F" + household.substr(household.find('/') + 1);
  HttpResult erased = Http(port, "POST", "/v1/streams/" + encoded + "/erasure",
                           R"({"reason":"subject_request"})", admin);
  ASSERT_EQ(erased.status / 100, 2) << erased.body;
  std::tie(head, hash) = ServerHead(port, admin);
  ASSERT_TRUE(WaitFor("s_feed", head)) << State("s_feed", "position") << " != " << head << "\n"
                                       << Err();
  EXPECT_EQ(State("s_feed", "hash"), hash);
  EXPECT_EQ(QueryOne(*conn, "SELECT erased FROM s_feed.households WHERE household_id = '" +
                                household.substr(household.find('/') + 1) + "'"),
            "t");
  EXPECT_EQ(QueryOne(*conn, "SELECT count(*) FROM s_feed.events WHERE subject = '" + household +
                                "' AND body::text LIKE '%headOfHousehold\":%'"),
            "0");
  // The erasure's row names the server's event id, not the replica's.
  HttpResult history = Http(port, "GET", "/v1/streams/" + encoded + "/events", "", admin);
  const std::string erasure_id =
      QueryOne(*conn, "SELECT id FROM s_feed.events WHERE type = 'PersonalDataErased'");
  EXPECT_NE(history.body.find(erasure_id), std::string::npos) << erasure_id;
  ExpectSchemaMatchesLog(*conn, "s_feed", data, dir.path());

  // The server killed: the sink waits, then follows the restarted server
  // (the same port) from the replica's head.
  server.Kill();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Written while no server runs: the restarted one serves them in its feed.
  std::vector<std::string> more;
  for (int i = 21; i <= 40; ++i)
    more.push_back(Event(Uuid(9000 + i), "StaffTrainingHeld", "territory/lille", "2024-03-01",
                         R"({"topic":"Accueil","attendees":)" + std::to_string(i) + "}"));
  ImportLines(dir.path(), data, more);
  server.set_port(port);
  ASSERT_TRUE(server.Start());
  std::tie(head, hash) = ServerHead(port, admin);
  ASSERT_TRUE(WaitFor("s_feed", head)) << State("s_feed", "position") << " != " << head << "\n"
                                       << Err();
  EXPECT_EQ(State("s_feed", "hash"), hash);
  EXPECT_EQ(QueryOne(*conn, "SELECT count(*) FROM s_feed.events"), head);
  EXPECT_EQ(QueryOne(*conn,
                     "SELECT count(*) FROM s_feed.platform_activity WHERE territory = "
                     "'lille' AND attendees BETWEEN 21 AND 40 AND effective_date = "
                     "'2024-03-01'"),
            "20");
  ExpectSchemaMatchesLog(*conn, "s_feed", data, dir.path());

  // The sink killed (-9) while events keep coming: the next one resumes
  // from sink_state over the replica, without gap or double count.
  ::kill(sink, SIGKILL);
  EXPECT_EQ(WaitChild(sink), -SIGKILL);
  for (int i = 41; i <= 60; ++i)
    ASSERT_EQ(Http(port, "POST", "/v1/events",
                   Event(Uuid(9000 + i), "StaffTrainingHeld", "territory/flandres", "2024-03-02",
                         R"({"topic":"Accueil","attendees":)" + std::to_string(i) + "}"),
                   admin)
                  .status,
              201);
  std::tie(head, hash) = ServerHead(port, admin);
  // As if a sink had been killed between the replica's synced events and
  // their server hashes (feed-origin, 102 bytes a position; the tables are
  // never past the hashes): a sink on this replica takes those hashes from
  // the feed again, checking the events' ids, then goes on.
  const std::string origin = replica + "/feed-origin";
  const auto origin_size = std::filesystem::file_size(origin);
  ASSERT_GT(origin_size, 5u * 102);
  std::filesystem::resize_file(origin, origin_size - 5 * 102);
  pid_t other_schema = RelaisInBackground(dir.path(), SinkArgs(port, admin, "s_feed_b"));
  ASSERT_TRUE(WaitFor("s_feed_b", head)) << State("s_feed_b", "position") << " != " << head << "\n"
                                         << Err();
  EXPECT_EQ(State("s_feed_b", "hash"), hash);
  ::kill(other_schema, SIGTERM);
  EXPECT_EQ(WaitChild(other_schema), 0);
  ExpectSchemaMatchesLog(*conn, "s_feed_b", data, dir.path());
  sink = RelaisInBackground(dir.path(), SinkArgs(port, admin, "s_feed"));
  ASSERT_TRUE(WaitFor("s_feed", head)) << State("s_feed", "position") << " != " << head << "\n"
                                       << Err();
  EXPECT_EQ(QueryOne(*conn, "SELECT count(*) FROM s_feed.events"), head);
  ExpectSchemaMatchesLog(*conn, "s_feed", data, dir.path());

  // A sink started after the erasure, on a new replica: the erased
  // household's events come without their personal fields, and still fold.
  const std::string first_replica = replica;
  replica = dir.path() + "/replica2";
  pid_t fresh = RelaisInBackground(dir.path(), SinkArgs(port, admin, "s_fresh"));
  ASSERT_TRUE(WaitFor("s_fresh", head)) << State("s_fresh", "position") << " != " << head << "\n"
                                        << Err();
  EXPECT_EQ(State("s_fresh", "hash"), hash);
  ExpectSchemaMatchesLog(*conn, "s_fresh", data, dir.path());
  ::kill(fresh, SIGTERM);
  EXPECT_EQ(WaitChild(fresh), 0);
  ::kill(sink, SIGTERM);
  EXPECT_EQ(WaitChild(sink), 0);
  EXPECT_EQ(server.Stop(), 0);

  // The replica bound to this server, pointed at another server's log: refused (exit 7).
  const std::string other = dir.path() + "/other";
  ImportLines(dir.path(), other, Generate(dir.path(), 7, 1600));
  const std::string other_admin = AddToken(other, "a", "admin");
  ServerProcess other_server(other);
  ASSERT_TRUE(other_server.Start());
  replica = first_replica;
  CliRun refused = Relais(dir.path(), SinkArgs(other_server.port(), other_admin, "s_feed"));
  EXPECT_EQ(refused.code, 7) << refused.err;
  EXPECT_NE(refused.err.find("another server"), std::string::npos) << refused.err;
}

TEST_F(SinkFeedTest, UsageErrorsAndAnEvaluatorTokenRefused) {
  ImportLines(dir.path(), data, Generate(dir.path(), 42, 50));
  const std::string evaluator = AddToken(data, "e", "evaluator");
  const std::string tenancy = AddToken(data, "t", "tenancy_staff", "lille");
  const std::string url = "http://127.0.0.1:1";
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"sink", "postgres", "--dsn", Dsn(), "--schema", "s_bad"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Relais(dir.path(), args);
  };
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--url", url, "--token", "t", "--replica", replica}, "evaluator"},
      {{"--url", url, "--token", "t", "--replica", replica, "--scope", "evaluator"}, "admin token"},
      {{"--url", url, "--replica", replica, "--scope", "admin"}, "--token"},
      {{"--url", url, "--token", "t", "--scope", "admin"}, "--replica"},
      {{"--url", "https://127.0.0.1:1", "--token", "t", "--replica", replica, "--scope", "admin"},
       "https"},
      {{"--url", "127.0.0.1:1", "--token", "t", "--replica", replica, "--scope", "admin"},
       "http://HOST:PORT"},
      {{"--data", data, "--url", url, "--token", "t", "--replica", replica, "--scope", "admin"},
       "not both"},
      {{"--url", url, "--token", "t", "--replica", replica, "--scope", "admin", "--once"},
       "--once"},
      {{"--data", data, "--token", "t"}, "--url"},
  };
  for (const auto& c : cases) {
    CliRun r = run(c.args);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.says << ": " << r.err;
  }
  // A token the feed refuses (an evaluator's: 403) ends the sink with exit
  // 2 and says to use an admin token; nothing was written.
  ServerProcess server(data);
  ASSERT_TRUE(server.Start());
  CliRun r = run({"--url", "http://127.0.0.1:" + std::to_string(server.port()), "--token",
                  evaluator, "--replica", replica, "--scope", "admin"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("403"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("admin token"), std::string::npos) << r.err;
  // A token whose feed skips events (tenancy staff of one territory): the
  // replica cannot hold the log; exit 2, saying so.
  r = run({"--url", "http://127.0.0.1:" + std::to_string(server.port()), "--token", tenancy,
           "--replica", dir.path() + "/r3", "--scope", "admin"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("does not read every event; use an admin token"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace relais::testing
