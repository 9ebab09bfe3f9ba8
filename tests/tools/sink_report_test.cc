// docs/sink.md's SQL, one query per report figure, run against the sink's
// tables and compared with `relais report` for several dates; and the
// CloudEvents of `relais export --format cloudevents` and of the sink's
// events table checked against the CloudEvents JSON schema
// (tests/data/cloudevents/cloudevents.json, from cloudevents/spec).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "relais/projections/report.h"
#include "support/test_support.h"
#include "tools/cloudevents_check.h"
#include "tools/sink_harness.h"

namespace relais::testing {
namespace {

// The ```sql blocks of docs/sink.md that start with "-- figure:".
std::vector<std::string> FigureQueries() {
  std::string doc = ReadFile(std::string(RELAIS_SOURCE_DIR) + "/docs/sink.md");
  std::vector<std::string> out;
  for (size_t at = 0; (at = doc.find("```sql\n", at)) != std::string::npos;) {
    at += 7;
    size_t end = doc.find("```", at);
    std::string q = doc.substr(at, end - at);
    if (q.rfind("-- figure:", 0) == 0) out.push_back(q);
    at = end + 3;
  }
  return out;
}

// :D -> $1::date, relais. -> schema.
std::string Bind(std::string q, const std::string& schema) {
  q = std::regex_replace(q, std::regex(":D\\b"), "$$1::date");
  q = std::regex_replace(q, std::regex("\\brelais\\."), schema + ".");
  while (!q.empty() && (q.back() == '\n' || q.back() == ';')) q.pop_back();
  return q;
}

class SinkReport : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (Cluster(&why) == nullptr) GTEST_SKIP() << "no PostgreSQL: " << why;
    data = dir.path() + "/data";
    conn = Connect();
    ASSERT_NE(conn, nullptr);
  }
  TempDir dir;
  std::string data;
  std::unique_ptr<sink::PgConnection> conn;
};

TEST_F(SinkReport, EveryFigureOfTheReportHasADocumentedQueryThatGivesTheReportsValue) {
  ImportLines(dir.path(), data, Generate(dir.path(), 42, 6000));
  CliRun r = Relais(dir.path(), {"--data", data, "sink", "postgres", "--dsn", Dsn(), "--scope",
                                 "admin", "--schema", "s_report", "--once"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> queries = FigureQueries();
  ASSERT_GE(queries.size(), 15u);
  Options o;
  o.data_dir = data;
  o.read_only = true;
  auto engine = Engine::Open(o);
  ASSERT_TRUE(engine.ok());
  const Date last = *ParseDate(QueryOne(*conn, "SELECT series_to FROM s_report.sink_state"));
  std::set<std::string> nonzero_seen;
  for (Date d : {last, last - 190, last - 400, last - 730}) {
    projections::ReportRequest req;
    req.time.as_of = d;
    req.today = d;
    auto report = projections::ComputeReport(**engine, req);
    ASSERT_TRUE(report.ok());
    // territory -> figure -> value text
    std::map<std::string, std::map<std::string, std::string>> got;
    for (const std::string& q : queries) {
      auto rows = conn->Query(Bind(q, "s_report"), {FormatDate(d)});
      ASSERT_TRUE(rows.ok()) << q << "\n" << rows.status().message();
      for (const auto& row : *rows) {
        ASSERT_EQ(row.size(), 3u) << q;
        ASSERT_TRUE(row[0] && row[1]) << q;
        got[*row[0]][*row[1]] = row[2] ? *row[2] : "null";
      }
    }
    for (size_t t = 0; t < 4; ++t) {
      const std::string territory = projections::kTerritoryKeys[t];
      for (const auto& [figure, expected] : projections::FlattenFigures(report->territories[t])) {
        auto it = got[territory].find(figure);
        // No row: a count of 0, a null median or rate (docs/sink.md).
        std::string value = it != got[territory].end() ? it->second
                            : expected == "null"       ? "null"
                                                       : "0";
        if (expected == "null" || value == "null") {
          EXPECT_EQ(value, expected) << figure << " " << territory << " as of " << FormatDate(d);
        } else {
          EXPECT_NEAR(std::stod(value), std::stod(expected), 1e-9)
              << figure << " " << territory << " as of " << FormatDate(d);
        }
        if (territory == "all" && expected != "0" && expected != "null")
          nonzero_seen.insert(figure);
      }
    }
    if (HasFailure()) return;
  }
  // The data set gives most figures a value somewhere: the comparison above
  // was not only of zeros.
  EXPECT_GE(nonzero_seen.size(), 40u);
}

TEST_F(SinkReport, CloudEventsOfTheExportAndOfTheSinkFollowTheCloudEventsSchema) {
  ImportLines(dir.path(), data, Generate(dir.path(), 42, 500));
  CliRun x = Relais(dir.path(), {"--data", data, "export", "--format", "cloudevents"});
  ASSERT_EQ(x.code, 0) << x.err;
  std::vector<std::string> lines;
  for (size_t at = 0; at < x.out.size();) {
    size_t nl = x.out.find('\n', at);
    lines.push_back(x.out.substr(at, nl - at));
    at = nl + 1;
  }
  CliRun plain = Relais(dir.path(), {"--data", data, "export"});
  const size_t n = static_cast<size_t>(std::count(plain.out.begin(), plain.out.end(), '\n'));
  ExpectCloudEvents(lines, n);
  // No personal data in the evaluator's CloudEvents either.
  EXPECT_EQ(x.out.find("headOfHousehold"), std::string::npos);

  CliRun r =
      Relais(dir.path(), {"--data", data, "sink", "postgres", "--dsn", Dsn(), "--scope", "admin",
                          "--schema", "s_ce", "--events-format", "cloudevents", "--once"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto rows = conn->Query("SELECT body::text, hash, position FROM s_ce.events ORDER BY position");
  ASSERT_TRUE(rows.ok());
  std::vector<std::string> bodies;
  for (const auto& row : *rows) bodies.push_back(*row[0]);
  ExpectCloudEvents(bodies, n);
  // The admin's CloudEvents carry the chain hash of their position.
  EXPECT_EQ(QueryOne(*conn,
                     "SELECT count(*) FROM s_ce.events WHERE body->>'hash' = hash "
                     "AND (body->>'position')::bigint = position"),
            std::to_string(n));
  // A schema's events format is fixed: an envelope sink is refused on it.
  r = Relais(dir.path(), {"--data", data, "sink", "postgres", "--dsn", Dsn(), "--scope", "admin",
                          "--schema", "s_ce", "--once"});
  EXPECT_EQ(r.code, 7) << r.err;
}

}  // namespace
}  // namespace relais::testing
