// The contract's worked example (shared/spec/examples) as test vectors: every
// line's outcome, then the statuses and the history the example gives.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <regex>
#include <sstream>

#include "relais/projections/report.h"
#include "relais/projections/views.h"
#include "support/test_support.h"

namespace relais::testing {
namespace {

const std::string kDir = std::string(RELAIS_SPEC_DIR) + "/examples/";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// Structural JSON equality (object key order ignored); keys in `ignore` that
// the actual value has and the expected one lacks are skipped.
bool JsonEqualIgnoring(simdjson::dom::element e, simdjson::dom::element a, const std::string& path,
                       std::string* why, std::string_view extra_key);
bool JsonEqual(simdjson::dom::element e, simdjson::dom::element a, const std::string& path,
               std::string* why) {
  return JsonEqualIgnoring(e, a, path, why, "hash");
}

// `extra_key`: a key the actual value may have that the example leaves out
// (hashes depend on the hash function chosen). "checkpoint" likewise: the
// report's signed checkpoint depends on the installation's key.
bool JsonEqualIgnoring(simdjson::dom::element e, simdjson::dom::element a, const std::string& path,
                       std::string* why, std::string_view extra_key) {
  using T = simdjson::dom::element_type;
  auto num = [](simdjson::dom::element x) {
    return x.type() == T::DOUBLE ? x.get_double().value() : x.type() == T::INT64 ? double(x.get_int64().value()) : double(x.get_uint64().value());
  };
  bool e_num = e.type() == T::DOUBLE || e.type() == T::INT64 || e.type() == T::UINT64;
  bool a_num = a.type() == T::DOUBLE || a.type() == T::INT64 || a.type() == T::UINT64;
  if (e_num && a_num) {
    if (num(e) != num(a)) return *why = path + ": number differs", false;
    return true;
  }
  if (e.type() != a.type()) return *why = path + ": type differs", false;
  switch (e.type()) {
    case T::OBJECT: {
      simdjson::dom::object eo = e.get_object().value();
      simdjson::dom::object ao = a.get_object().value();
      size_t matched = 0;
      for (auto [k, v] : eo) {
        auto av = ao[k];
        if (av.error()) return *why = path + "." + std::string(k) + ": missing", false;
        if (!JsonEqualIgnoring(v, av.value(), path + "." + std::string(k), why, extra_key)) return false;
        ++matched;
      }
      for (auto [k, v] : ao)
        if (eo[k].error() && k != extra_key && k != "checkpoint") return *why = path + "." + std::string(k) + ": unexpected", false;
      return true;
    }
    case T::ARRAY: {
      simdjson::dom::array ea = e.get_array().value();
      simdjson::dom::array aa = a.get_array().value();
      if (ea.size() != aa.size()) return *why = path + ": array length differs", false;
      for (size_t i = 0; i < ea.size(); ++i)
        if (!JsonEqualIgnoring(ea.at(i).value(), aa.at(i).value(), path + "[" + std::to_string(i) + "]", why,
                               extra_key))
          return false;
      return true;
    }
    case T::STRING:
      if (e.get_string().value() != a.get_string().value()) return *why = path + ": string differs", false;
      return true;
    case T::BOOL:
      if (e.get_bool().value() != a.get_bool().value()) return *why = path + ": bool differs", false;
      return true;
    default:
      return true;
  }
}

class JourneyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto lines = Lines(ReadFile(kDir + "journey.ndjson"));
    ASSERT_EQ(lines.size(), 40u) << "the worked example has 40 lines";
    for (const auto& l : lines) outcomes_.push_back(Import(*f_.engine, l));
  }
  EngineFixture f_;
  std::vector<AppendOutcome> outcomes_;
};

TEST_F(JourneyTest, EveryLineHasTheExpectedOutcome) {
  auto expected = Lines(ReadFile(kDir + "journey.expected.ndjson"));
  ASSERT_EQ(expected.size(), outcomes_.size());
  simdjson::dom::parser parser;
  for (size_t i = 0; i < expected.size(); ++i) {
    simdjson::dom::element x = parser.parse(expected[i]).value();
    std::string outcome(x["outcome"].get_string().value());
    const AppendOutcome& o = outcomes_[i];
    SCOPED_TRACE("line " + std::to_string(i + 1) + ": " + OutcomeText(o));
    if (outcome == "accepted") {
      ASSERT_EQ(o.kind, AppendOutcome::Kind::kAccepted);
      simdjson::dom::array positions = x["positions"].get_array().value();
      ASSERT_EQ(positions.size(), o.results.size());
      for (size_t k = 0; k < o.results.size(); ++k)
        EXPECT_EQ(o.results[k].position, positions.at(k).get_uint64().value());
    } else if (outcome == "duplicate") {
      EXPECT_EQ(o.kind, AppendOutcome::Kind::kDuplicate);
    } else {
      ASSERT_EQ(o.kind, AppendOutcome::Kind::kRefused);
      EXPECT_EQ(o.refusal.kind, std::string(x["kind"].get_string().value()));
      EXPECT_EQ(o.refusal.code, std::string(x["code"].get_string().value()));
    }
  }
  EXPECT_TRUE(f_.engine->Verify({}).ok);
}

TEST_F(JourneyTest, ViewsMatchTheExample) {
  simdjson::dom::parser parser;
  std::string views_text = ReadFile(kDir + "journey.views.json");
  simdjson::dom::element views = parser.parse(views_text).value();
  std::regex key_re(R"(^(history of )?(\S+)(?: as of (\d{4}-\d{2}-\d{2}))?(?:, known at (\S+))?$)");
  int checked = 0;
  simdjson::dom::object all = views.get_object().value();
  for (auto [key, expected] : all) {
    std::smatch m;
    std::string k(key);
    ASSERT_TRUE(std::regex_match(k, m, key_re)) << k;
    std::string why;
    auto subject = ParseSubject(m[2].str(), &why);
    ASSERT_TRUE(subject) << why;
    projections::ViewTime t;
    if (m[3].matched) t.as_of = ParseDate(m[3].str());
    if (m[4].matched) t.known_at = ParseTimestamp(m[4].str());
    Result<std::string> actual = m[1].matched
                                     ? projections::HistoryJson(*f_.engine, *subject, t.known_at, false)
                                     : projections::StatusJson(*f_.engine, *subject, t, *ParseDate("2026-11-29"), false);
    ASSERT_TRUE(actual.ok()) << k << ": " << actual.status().message();
    simdjson::dom::parser p2;
    simdjson::dom::element a = p2.parse(*actual).value();
    if (!m[1].matched && subject->kind == StreamKind::kHousehold) {
      // Contract v2 (lifecycle.md §1) gives every household status `erased`,
      // which the v1 example predates: nothing of it is erased.
      bool erased = true;
      EXPECT_FALSE(a["erased"].get(erased)) << k << ": no 'erased' in " << *actual;
      EXPECT_FALSE(erased) << k;
      EXPECT_TRUE(JsonEqualIgnoring(expected, a, k, &why, "erased")) << why << "\nactual: " << *actual;
    } else {
      EXPECT_TRUE(JsonEqual(expected, a, k, &why)) << why << "\nactual: " << *actual;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

TEST_F(JourneyTest, ReportMatchesTheExample) {
  projections::ReportRequest req;
  req.time.as_of = ParseDate("2017-12-31");
  req.today = *req.time.as_of;
  auto report = projections::ComputeReport(*f_.engine, req);
  ASSERT_TRUE(report.ok()) << report.status().message();
  std::string actual = projections::RenderReport(*report, projections::ReportFormat::kJson);
  std::string expected_text = ReadFile(kDir + "journey.report-2017-12-31.json");
  simdjson::dom::parser p1, p2;
  std::string why;
  EXPECT_TRUE(JsonEqualIgnoring(p1.parse(expected_text).value(), p2.parse(actual).value(), "report", &why,
                                "logHash"))
      << why << "\n" << actual;
  EXPECT_EQ(report->log_hash, *f_.engine->HashAt(33));
}

}  // namespace
}  // namespace relais::testing
