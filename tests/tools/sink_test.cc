// `relais sink postgres` against a real PostgreSQL started by the test
// (tests/support/pg_cluster.h): the tables equal the engine's own status and
// series on a generated data set, after more events (back-dated ones,
// corrections, retractions, an erasure), after kill -9 of the sink in the
// middle of its catch-up and after a PostgreSQL restart under a live sink;
// a database built from another log is refused with exit 7.
#include "sink/sink.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "relais/projections/report.h"
#include "relais/projections/visibility.h"
#include "server/state.h"
#include "support/test_support.h"
#include "tools/sink_harness.h"

namespace relais::testing {
namespace {

// Small enough for seconds, large enough for every event type of the generator.
constexpr int kEvents = 3000;

class SinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (Cluster(&why) == nullptr) GTEST_SKIP() << "no PostgreSQL: " << why;
    data = dir.path() + "/data";
    conn = Connect();
    ASSERT_NE(conn, nullptr);
  }
  CliRun Sink(const std::string& schema, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--data", data,  "sink",     "postgres",
                                     "--dsn",  Dsn(), "--schema", schema};
    args.insert(args.end(), extra.begin(), extra.end());
    return Relais(dir.path(), args);
  }
  // "" while the sink has not created its schema yet.
  std::string StatePosition(const std::string& schema) {
    auto rows = conn->Query("SELECT position FROM " + schema + ".sink_state");
    return rows.ok() && !rows->empty() && (*rows)[0][0] ? *(*rows)[0][0] : "";
  }
  TempDir dir;
  std::string data;
  std::unique_ptr<sink::PgConnection> conn;
};

TEST_F(SinkTest, TablesEqualStatusAndSeriesThenFollowBackdatedEventsCorrectionsAndErasure) {
  std::vector<std::string> lines = Generate(dir.path(), 42, kEvents);
  ASSERT_GT(lines.size(), 100u);
  const size_t half = lines.size() / 2;
  ImportLines(dir.path(), data, {lines.begin(), lines.begin() + static_cast<long>(half)});
  CliRun r = Sink("s_main", {"--scope", "admin", "--once"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("caught up at position"), std::string::npos) << r.err;
  ExpectSchemaMatchesLog(*conn, "s_main", data, dir.path());

  // The second half holds late entries, corrections and retractions of
  // households already in the tables (the generator's fixes.cc): their rows
  // must be re-folded, not appended to.
  ImportLines(dir.path(), data, {lines.begin() + static_cast<long>(half), lines.end()});
  // A back-dated consent (effective at the registration) changes a
  // household's consent flags as of now.
  std::string hid =
      QueryOne(*conn,
               "SELECT household_id FROM s_main.households WHERE NOT consent_keep_history "
               "AND registered ORDER BY household_id LIMIT 1");
  std::string reg = QueryOne(
      *conn, "SELECT registered_on FROM s_main.households WHERE household_id = '" + hid + "'");
  ASSERT_FALSE(hid.empty());
  ImportLines(
      dir.path(), data,
      {R"({"id":"5e1c0000-0000-4000-8000-000000000001","type":"ConsentRecorded","subject":"household/)" +
       hid + R"(","effectiveDate":")" + reg +
       R"(","data":{"purpose":"keep_history","given":true}})"});
  r = Sink("s_main", {"--scope", "admin", "--once"});
  ASSERT_EQ(r.code, 0) << r.err;
  ExpectSchemaMatchesLog(*conn, "s_main", data, dir.path());
  EXPECT_EQ(
      QueryOne(*conn, "SELECT consent_keep_history FROM s_main.households WHERE household_id = '" +
                          hid + "'"),
      "t");

  // An erasure: the household keeps its rows, flagged, and its earlier
  // events rows lose their personal fields in the same transaction.
  r = Relais(dir.path(),
             {"--data", data, "erase", "household/" + hid, "--reason", "subject_request"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Sink("s_main", {"--scope", "admin", "--once"});
  ASSERT_EQ(r.code, 0) << r.err;
  ExpectSchemaMatchesLog(*conn, "s_main", data, dir.path());
  EXPECT_EQ(
      QueryOne(*conn, "SELECT erased FROM s_main.households WHERE household_id = '" + hid + "'"),
      "t");
  const std::string subject = "'household/" + hid + "'";
  EXPECT_EQ(QueryOne(*conn, "SELECT count(*) FROM s_main.events WHERE subject = " + subject +
                                " AND body::text LIKE '%headOfHousehold%'"),
            "0");
  EXPECT_EQ(
      QueryOne(*conn, "SELECT (body->>'personalDataErased') FROM s_main.events WHERE subject = " +
                          subject + " AND type = 'HouseholdRegistered'"),
      "true");
  // A back-dated transfer of a supported household, recorded in the same
  // month as the last events: monthly_indicators is updated from that
  // household's share alone (the months did not change), and still equals
  // report --series.
  const std::string range =
      QueryOne(*conn, "SELECT series_from || ' ' || series_to FROM s_main.sink_state");
  auto moved = conn->Query(
      "SELECT h.household_id, h.registered_on, h.territory FROM s_main.households h "
      "WHERE NOT h.erased AND EXISTS (SELECT 1 FROM s_main.support_episodes e WHERE e.household_id "
      "= h.household_id) "
      "ORDER BY h.household_id LIMIT 1");
  ASSERT_TRUE(moved.ok() && !moved->empty());
  const std::string mid = *(*moved)[0][0];
  const std::string to_territory = *(*moved)[0][2] == "lille" ? "sud" : "lille";
  const std::string before_row =
      QueryOne(*conn,
               "SELECT string_agg(month || territory, ',' ORDER BY month) FROM "
               "s_main.household_months WHERE household_id = '" +
                   mid + "'");
  ImportLines(
      dir.path(), data,
      {R"({"id":"5e1c0000-0000-4000-8000-000000000002","type":"CaseTransferred","subject":"household/)" +
       mid + R"(","effectiveDate":")" + *(*moved)[0][1] + R"(","data":{"territory":")" +
       to_territory + R"("}})"});
  r = Sink("s_main", {"--scope", "admin", "--once"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(QueryOne(*conn, "SELECT series_from || ' ' || series_to FROM s_main.sink_state"), range)
      << "the months changed: the incremental path was not tested";
  EXPECT_NE(QueryOne(*conn,
                     "SELECT string_agg(month || territory, ',' ORDER BY month) FROM "
                     "s_main.household_months WHERE household_id = '" +
                         mid + "'"),
            before_row);
  ExpectSchemaMatchesLog(*conn, "s_main", data, dir.path());
  // Every other household's registration still names its head of household (admin scope).
  EXPECT_NE(QueryOne(*conn,
                     "SELECT count(*) FROM s_main.events WHERE type = 'HouseholdRegistered' "
                     "AND body->'data' ? 'headOfHousehold'"),
            "0");
}

TEST_F(SinkTest, EvaluatorScopeHoldsTheExportsPseudonymsAndNoPersonalData) {
  ImportLines(dir.path(), data, Generate(dir.path(), 42, 800));
  CliRun r = Sink("s_eval", {"--once"});  // evaluator is the default scope
  ASSERT_EQ(r.code, 0) << r.err;
  CliRun x = Relais(dir.path(), {"--data", data, "export"});
  ASSERT_EQ(x.code, 0) << x.err;
  // Every export line is the events row's body, position by position.
  std::string array = "[";
  int n = 0;
  for (size_t at = 0; at < x.out.size();) {
    size_t nl = x.out.find('\n', at);
    array += (n++ ? "," : "") + x.out.substr(at, nl - at);
    at = nl + 1;
  }
  array += "]";
  auto same = conn->Query(
      "SELECT count(*) FROM s_eval.events e JOIN jsonb_array_elements($1::jsonb) l(x) "
      "ON (l.x->>'position')::bigint = e.position WHERE e.body = l.x",
      {array});
  ASSERT_TRUE(same.ok()) << same.status().message();
  EXPECT_EQ(*(*same)[0][0], std::to_string(n));
  EXPECT_EQ(StatePosition("s_eval"), std::to_string(n));
  // No real id and no personal field anywhere.
  auto key = server::LoadPseudonymKey(data);
  ASSERT_TRUE(key.ok());
  auto events =
      conn->Query("SELECT subject FROM s_eval.events WHERE type = 'HouseholdRegistered' LIMIT 1");
  ASSERT_TRUE(events.ok() && !events->empty());
  EXPECT_EQ(QueryOne(*conn,
                     "SELECT count(*) FROM s_eval.events WHERE body::text LIKE '%headOfHousehold%' "
                     "OR body::text LIKE '%\"notes\"%'"),
            "0");
  std::string pseud =
      QueryOne(*conn, "SELECT household_id FROM s_eval.households ORDER BY household_id LIMIT 1");
  EXPECT_EQ(pseud.size(), 32u) << pseud;
  EXPECT_EQ(QueryOne(*conn,
                     "SELECT count(*) FROM s_eval.households h JOIN s_eval.events e "
                     "ON e.subject = 'household/' || h.household_id"),
            QueryOne(*conn, "SELECT count(*) FROM s_eval.events WHERE subject LIKE 'household/%'"));
  // The scope is the schema's: an admin sink is refused on it.
  r = Sink("s_eval", {"--scope", "admin", "--once"});
  EXPECT_EQ(r.code, 7) << r.err;
  EXPECT_NE(r.err.find("evaluator scope"), std::string::npos) << r.err;
}

TEST_F(SinkTest, KillNineInTheMiddleOfCatchUpResumesWithoutGapOrDoubleCount) {
  ImportLines(dir.path(), data, Generate(dir.path(), 42, kEvents));
  pid_t pid =
      RelaisInBackground(dir.path(), {"--data", data, "sink", "postgres", "--dsn", Dsn(), "--scope",
                                      "admin", "--schema", "s_kill", "--batch", "25", "--once"});
  ASSERT_GT(pid, 0);
  std::string at;
  for (int i = 0; i < 2000; ++i) {
    auto rows = conn->Query("SELECT position FROM s_kill.sink_state");
    if (rows.ok() && !rows->empty() && *(*rows)[0][0] != "0") {
      at = *(*rows)[0][0];
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(at.empty()) << "the sink committed nothing";
  ::kill(pid, SIGKILL);
  EXPECT_EQ(WaitChild(pid), -SIGKILL);
  const std::string killed_at = StatePosition("s_kill");
  Options o;
  o.data_dir = data;
  o.read_only = true;
  const Position head = (*Engine::Open(o))->GetHead().position;
  ASSERT_LT(std::stoull(killed_at), head)
      << "the sink finished before the kill: nothing was tested";
  CliRun r = Sink("s_kill", {"--scope", "admin", "--once"});
  ASSERT_EQ(r.code, 0) << r.err;
  ExpectSchemaMatchesLog(*conn, "s_kill", data, dir.path());
}

TEST_F(SinkTest, SigtermDuringCatchUpStopsAtOnceAndResumes) {
  ImportLines(dir.path(), data, Generate(dir.path(), 42, kEvents));
  // One big batch: SIGTERM arrives while it is being built or sent.
  pid_t pid = RelaisInBackground(dir.path(), {"--data", data, "sink", "postgres", "--dsn", Dsn(), "--scope", "admin",
                                              "--schema", "s_term", "--once"});
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 2000 && StatePosition("s_term").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ::kill(pid, SIGTERM);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(WaitChild(pid), 0) << ReadFile(dir.path() + "/bg.stderr");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  CliRun r = Sink("s_term", {"--scope", "admin", "--once"});
  ASSERT_EQ(r.code, 0) << r.err;
  ExpectSchemaMatchesLog(*conn, "s_term", data, dir.path());
}

TEST_F(SinkTest, LiveSinkSurvivesAPostgresRestartAndFollowsNewImports) {
  std::vector<std::string> lines = Generate(dir.path(), 42, kEvents);
  const size_t part = lines.size() * 2 / 3;
  ImportLines(dir.path(), data, {lines.begin(), lines.begin() + static_cast<long>(part)});
  pid_t pid = RelaisInBackground(
      dir.path(), {"--data", data, "sink", "postgres", "--dsn", Dsn(), "--scope", "admin",
                   "--schema", "s_live", "--batch", "50", "--poll-ms", "50"});
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 2000 && StatePosition("s_live").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::string why;
  ASSERT_TRUE(Cluster(&why)->Restart(300).ok());
  conn = Connect();
  ASSERT_NE(conn, nullptr);
  ImportLines(dir.path(), data, {lines.begin() + static_cast<long>(part), lines.end()});
  Options o;
  o.data_dir = data;
  o.read_only = true;
  const std::string head = std::to_string((*Engine::Open(o))->GetHead().position);
  for (int i = 0; i < 600 && StatePosition("s_live") != head; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(StatePosition("s_live"), head);
  ::kill(pid, SIGTERM);
  EXPECT_EQ(WaitChild(pid), 0);
  std::string err = ReadFile(dir.path() + "/bg.stderr");
  EXPECT_NE(err.find("reconnecting"), std::string::npos) << err;
  ExpectSchemaMatchesLog(*conn, "s_live", data, dir.path());
}

TEST_F(SinkTest, ADatabaseBuiltFromAnotherLogIsRefusedWithExit7) {
  ImportLines(dir.path(), data, Generate(dir.path(), 42, 600));
  ASSERT_EQ(Sink("s_other", {"--scope", "admin", "--once"}).code, 0);
  const std::string before = StatePosition("s_other");
  // Another log, longer: the same position holds another hash.
  TempDir other_dir;
  const std::string other = other_dir.path() + "/data";
  ImportLines(dir.path(), other, Generate(dir.path(), 7, 1200));
  CliRun r = Relais(dir.path(), {"--data", other, "sink", "postgres", "--dsn", Dsn(), "--scope",
                                 "admin", "--schema", "s_other", "--once"});
  EXPECT_EQ(r.code, 7) << r.err;
  EXPECT_NE(r.err.find("built from another log"), std::string::npos) << r.err;
  EXPECT_EQ(StatePosition("s_other"), before) << "nothing may be written";
  // A shorter log than the database: refused too.
  TempDir short_dir;
  const std::string shorter = short_dir.path() + "/data";
  ImportLines(dir.path(), shorter, Generate(dir.path(), 7, 200));
  r = Relais(dir.path(), {"--data", shorter, "sink", "postgres", "--dsn", Dsn(), "--scope", "admin",
                          "--schema", "s_other", "--once"});
  EXPECT_EQ(r.code, 7) << r.err;
  EXPECT_NE(r.err.find("this log ends at"), std::string::npos) << r.err;
}

// A batch that only adds months: a household it does not touch still gets
// its share of them (an open support episode counts in every later month).
TEST_F(SinkTest, NewMonthsCountHouseholdsTheBatchDoesNotTouch) {
  Options o;
  o.data_dir = data;
  o.key_generator = FixedKey;
  auto engine = Engine::Open(o);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Engine& e = **engine;
  auto at = [](const std::string& day) { return R"(,"recordedAt":")" + day + R"(T10:00:00Z")"; };
  for (
      const std::string& line :
      {Ev(1, "HouseholdRegistered", "household/A", "2024-01-05",
          R"({"territory":"sud","commune":"Lens","adults":1,"children":0,"headOfHousehold":{"name":"A","birthDate":"1980-01-01"}})",
          at("2024-01-05")),
       Ev(2, "ConsentRecorded", "household/A", "2024-01-06",
          R"({"purpose":"support","given":true})", at("2024-01-06")),
       Ev(3, "SupportStarted", "household/A", "2024-01-07",
          R"({"episodeId":"e1","kind":"asll","association":"AES"})", at("2024-01-07"))})
    ASSERT_EQ(Import(e, line).kind, AppendOutcome::Kind::kAccepted) << line;
  auto source = sink::SharedEngineSource(e);
  sink::SinkOptions so;
  so.dsn = Dsn();
  so.scope = sink::Scope::kAdmin;
  so.schema = "s_months";
  so.once = true;
  std::atomic<bool> stop{false};
  ASSERT_EQ(sink::Sink(*source, so).Run(stop).exit, sink::SinkExit::kCaughtUp);
  EXPECT_EQ(QueryOne(*conn, "SELECT count(*) FROM s_months.monthly_indicators"),
            "4");  // 2024-01 x 4 blocks
  ASSERT_EQ(
      Import(
          e,
          Ev(4, "HouseholdRegistered", "household/B", "2024-03-02",
             R"({"territory":"lille","commune":"Lille","adults":2,"children":1,"headOfHousehold":{"name":"B","birthDate":"1990-01-01"}})",
             at("2024-03-02")))
          .kind,
      AppendOutcome::Kind::kAccepted);
  ASSERT_EQ(sink::Sink(*source, so).Run(stop).exit, sink::SinkExit::kCaughtUp);
  auto series = projections::ComputeSeriesAt(e, *ParseDate("2024-01-01"), *ParseDate("2024-03-02"),
                                             e.GetHead().position);
  ASSERT_TRUE(series.ok());
  std::string expected, got;
  for (const auto& r : *series)
    expected += r.month + " " + r.territory + " " + std::to_string(r.supported_unreferred) + "\n";
  auto rows = conn->Query(
      "SELECT month, territory, supported_unreferred FROM s_months.monthly_indicators "
      "ORDER BY month, array_position(ARRAY['all','lille','sud','flandres'], territory)");
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  for (const auto& row : *rows) got += *row[0] + " " + *row[1] + " " + *row[2] + "\n";
  EXPECT_EQ(got, expected);
  EXPECT_NE(expected.find("2024-03 sud 1"), std::string::npos) << expected;
}

TEST_F(SinkTest, BadOptionsAreUsageErrors) {
  ImportLines(dir.path(), data, Generate(dir.path(), 42, 100));
  struct Case {
    std::vector<std::string> args;
    const char* names;
  };
  for (const Case& c : std::vector<Case>{{{"--scope", "auditor"}, "--scope"},
                                         {{"--schema", "Bad-Name"}, "--schema"},
                                         {{"--events-format", "xml"}, "--events-format"},
                                         {{"--batch", "0"}, "--batch"},
                                         {{"--poll-ms", "1"}, "--poll-ms"}}) {
    CliRun r = Sink("s_bad", c.args);
    EXPECT_EQ(r.code, 2) << c.names << ": " << r.err;
    EXPECT_NE(r.err.find(c.names), std::string::npos) << r.err;
  }
  CliRun r = Relais(dir.path(), {"--data", data, "sink", "postgres", "--schema", "x"});
  EXPECT_EQ(r.code, 2) << r.err;  // --dsn is required
  r = Relais(dir.path(),
             {"--data", dir.path() + "/none", "sink", "postgres", "--dsn", Dsn(), "--once"});
  EXPECT_EQ(r.code, 5) << r.err;
  // --once gives up on a database it cannot reach (a following sink waits).
  r = Relais(dir.path(),
             {"--data", data, "sink", "postgres", "--dsn", "host=/nonexistent-dir", "--once"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;
  // relais export's options.
  r = Relais(dir.path(), {"--data", data, "export", "--format", "xml"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find("--format"), std::string::npos) << r.err;
  r = Relais(dir.path(), {"--data", data, "export", "--known-at", "2016-13-01T00:00:00Z"});
  EXPECT_EQ(r.code, 2) << r.err;
  r = Relais(dir.path(), {"--data", dir.path() + "/none", "export"});
  EXPECT_EQ(r.code, 5) << r.err;
}

}  // namespace
}  // namespace relais::testing
