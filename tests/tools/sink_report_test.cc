// docs/sink.md's SQL, one query per report figure, run against the sink's
// tables and compared with `relais report` for several dates; and the
// CloudEvents of `relais export --format cloudevents` and of the sink's
// events table checked against the CloudEvents JSON schema
// (tests/data/cloudevents/cloudevents.json, from cloudevents/spec).
#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "relais/projections/report.h"
#include "support/test_support.h"
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
  CliRun r = Relais(dir.path(), {"--data", data, "sink", "postgres", "--dsn", Dsn(), "--scope", "admin", "--schema",
                                 "s_report", "--once"});
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
        if (territory == "all" && expected != "0" && expected != "null") nonzero_seen.insert(figure);
      }
    }
    if (HasFailure()) return;
  }
  // The data set gives most figures a value somewhere: the comparison above
  // was not only of zeros.
  EXPECT_GE(nonzero_seen.size(), 40u);
}

// A validator for the keywords the CloudEvents schema uses: type, minLength,
// format (uri-reference, uri, date-time), $ref to #/definitions, required.
class SchemaCheck {
 public:
  explicit SchemaCheck(simdjson::dom::element schema) : schema_(schema) {}
  std::string Check(simdjson::dom::element event) const {
    if (!event.is_object()) return "not an object";
    simdjson::dom::array required = schema_["required"].get_array();
    for (auto k : required) {
      std::string_view key = k.get_string();
      if (event[key].error()) return "missing " + std::string(key);
    }
    simdjson::dom::object props = schema_["properties"].get_object();
    for (auto [key, prop] : props) {
      simdjson::dom::element v;
      if (event[key].get(v)) continue;
      simdjson::dom::element def = Resolve(prop);
      if (std::string why = CheckValue(def, v); !why.empty()) return std::string(key) + ": " + why;
    }
    return "";
  }

 private:
  simdjson::dom::element Resolve(simdjson::dom::element prop) const {
    std::string_view ref;
    if (prop["$ref"].get_string().get(ref)) return prop;
    std::string name(ref.substr(ref.rfind('/') + 1));
    return schema_["definitions"][name];
  }
  static std::string TypeOf(simdjson::dom::element v) {
    switch (v.type()) {
      case simdjson::dom::element_type::OBJECT: return "object";
      case simdjson::dom::element_type::ARRAY: return "array";
      case simdjson::dom::element_type::STRING: return "string";
      case simdjson::dom::element_type::BOOL: return "boolean";
      case simdjson::dom::element_type::NULL_VALUE: return "null";
      default: return "number";
    }
  }
  static std::string CheckValue(simdjson::dom::element def, simdjson::dom::element v) {
    std::set<std::string> types;
    std::string_view one;
    simdjson::dom::array many;
    if (!def["type"].get_string().get(one)) types.insert(std::string(one));
    if (!def["type"].get_array().get(many))
      for (auto t : many) types.insert(std::string(std::string_view(t.get_string())));
    if (!types.count(TypeOf(v))) return "type " + TypeOf(v) + " not allowed";
    std::string_view s;
    if (v.get_string().get(s)) return "";
    int64_t min = 0;
    if (!def["minLength"].get_int64().get(min) && static_cast<int64_t>(s.size()) < min) return "too short";
    std::string_view format;
    if (!def["format"].get_string().get(format)) {
      static const std::regex kDateTime(
          R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))");
      static const std::regex kUriRef(R"([A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)");
      const std::string str(s);
      if (format == "date-time" && !std::regex_match(str, kDateTime)) return "not an RFC 3339 date-time";
      if ((format == "uri-reference" || format == "uri") && !std::regex_match(str, kUriRef))
        return "not a URI reference";
    }
    return "";
  }
  simdjson::dom::element schema_;
};

// The CloudEvents core rules the schema leaves out: extension names are
// [a-z0-9]{1,20}, their values strings, integers or booleans.
std::string CheckExtensions(simdjson::dom::object event) {
  static const std::set<std::string_view> kCore = {"id", "source", "specversion", "type", "datacontenttype",
                                                   "dataschema", "subject", "time", "data", "data_base64"};
  static const std::regex kName("[a-z0-9]{1,20}");
  for (auto [key, value] : event) {
    if (kCore.count(key)) continue;
    if (!std::regex_match(std::string(key), kName)) return "extension name " + std::string(key);
    auto t = value.type();
    if (t == simdjson::dom::element_type::OBJECT || t == simdjson::dom::element_type::ARRAY ||
        t == simdjson::dom::element_type::NULL_VALUE)
      return "extension " + std::string(key) + " is not a string, integer or boolean";
  }
  return "";
}

void ExpectCloudEvents(const std::vector<std::string>& events, size_t expected_count) {
  simdjson::dom::parser schema_parser;
  simdjson::dom::element schema =
      schema_parser.load(std::string(RELAIS_SPEC_DIR) + "/cloudevents/cloudevents.json");
  SchemaCheck check(schema);
  EXPECT_EQ(events.size(), expected_count);
  simdjson::dom::parser parser;
  std::set<std::string> ids;
  for (const std::string& text : events) {
    simdjson::dom::element e;
    ASSERT_FALSE(parser.parse(text).get(e)) << text;
    EXPECT_EQ(check.Check(e), "") << text;
    EXPECT_EQ(CheckExtensions(e.get_object()), "") << text;
    EXPECT_EQ(std::string_view(e["specversion"].get_string()), "1.0");
    EXPECT_EQ(std::string_view(e["type"].get_string()).rfind("fr.relais.", 0), 0u);
    EXPECT_EQ(std::string_view(e["datacontenttype"].get_string()), "application/json");
    EXPECT_FALSE(e["position"].get_uint64().error()) << text;
    EXPECT_FALSE(e["effectivedate"].get_string().error()) << text;
    ids.insert(std::string(std::string_view(e["id"].get_string())));
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_EQ(ids.size(), events.size()) << "ids are unique within the source";
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

  CliRun r = Relais(dir.path(), {"--data", data, "sink", "postgres", "--dsn", Dsn(), "--scope", "admin", "--schema",
                                 "s_ce", "--events-format", "cloudevents", "--once"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto rows = conn->Query("SELECT body::text, hash, position FROM s_ce.events ORDER BY position");
  ASSERT_TRUE(rows.ok());
  std::vector<std::string> bodies;
  for (const auto& row : *rows) bodies.push_back(*row[0]);
  ExpectCloudEvents(bodies, n);
  // The admin's CloudEvents carry the chain hash of their position.
  EXPECT_EQ(QueryOne(*conn, "SELECT count(*) FROM s_ce.events WHERE body->>'hash' = hash "
                            "AND (body->>'position')::bigint = position"),
            std::to_string(n));
  // A schema's events format is fixed: an envelope sink is refused on it.
  r = Relais(dir.path(), {"--data", data, "sink", "postgres", "--dsn", Dsn(), "--scope", "admin", "--schema", "s_ce",
                          "--once"});
  EXPECT_EQ(r.code, 7) << r.err;
}

}  // namespace
}  // namespace relais::testing
