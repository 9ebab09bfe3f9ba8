// Indicators against hand-computed fixtures (time-and-indicators.md §2-§4):
// period edges, cohorts, medians, rates, null rules, territory attribution,
// corrections under known-at views; renderings agree; output is deterministic.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <sstream>

#include "relais/projections/report.h"
#include "support/test_support.h"

namespace relais::testing {
namespace {

using projections::ComputeReport;
using projections::ReportFormat;
using projections::ReportRequest;

class ReportTest : public ::testing::Test {
 protected:
  // Every event is recorded at noon on its effective date (an admin import),
  // unless `recorded` says otherwise.
  void Add(const std::string& type, const std::string& subject, const std::string& date,
           const std::string& data, const std::string& recorded = "") {
    std::string at = recorded.empty() ? date + "T12:00:00Z" : recorded;
    if (at < last_recorded_) at = last_recorded_;
    last_recorded_ = at;
    AppendOutcome o = Import(*f_.engine, Ev(next_++, type, subject, date, data, R"(,"recordedAt":")" + at + "\""));
    ASSERT_EQ(o.kind, AppendOutcome::Kind::kAccepted) << type << " " << date << ": " << OutcomeText(o);
  }

  void SetUp() override {
    // Dwellings.
    Add("DwellingRegistered", "dwelling/DS1", "2019-01-01",
        R"({"territory":"sud","commune":"Douai","typology":"T3","adaptations":[],"rentCents":40000})");
    Add("DwellingRegistered", "dwelling/DL1", "2019-01-01",
        R"({"territory":"lille","commune":"Lille","typology":"T2","adaptations":[],"rentCents":30000})");
    // Household B (lille, maintien): arrears and an eviction carried out.
    const std::string B = "household/B";
    Add("HouseholdRegistered", B, "2019-01-01",
        R"({"territory":"lille","commune":"Lille","adults":1,"children":0,"headOfHousehold":{"name":"B","birthDate":"1970-05-05"}})");
    Add("HouseholdReferred", B, "2019-01-01", R"({"referralId":"R1","track":"maintien","source":"agency","referrer":"Agence"})");
    Add("OccupancyStarted", B, "2019-01-01",
        R"({"dwellingId":"DL1","contract":"direct_lease","rentCents":30000,"preexisting":true})");
    // Household A (sud, access): the whole access journey.
    const std::string A = "household/A";
    Add("HouseholdRegistered", A, "2019-01-01",
        R"({"territory":"sud","commune":"Douai","adults":1,"children":1,"headOfHousehold":{"name":"A","birthDate":"1985-01-01"}})");
    Add("ConsentRecorded", A, "2019-01-01", R"({"purpose":"support","given":true})");
    Add("HouseholdReferred", A, "2019-01-10", R"({"referralId":"R1","track":"access","source":"siao","referrer":"SIAO"})");
    Add("ReferralDecided", A, "2019-01-15", R"({"referralId":"R1","outcome":"accepted"})");
    Add("CalApplicationFiled", A, "2019-01-20", R"({"referralId":"R1","dwellingId":"DS1","sessionDate":"2019-02-01"})");
    Add("CalDecisionRecorded", A, "2019-02-01", R"({"referralId":"R1","dwellingId":"DS1","decision":"attribution"})");
    Add("ArrearsAlertRaised", B, "2019-02-01", R"({"dwellingId":"DL1","amountCents":90000,"monthsUnpaid":3})");
    Add("CcapexReferred", B, "2019-02-02", "{}");
    Add("OfferAnswered", A, "2019-02-05", R"({"dwellingId":"DS1","answer":"accepted"})");
    Add("OccupancyStarted", A, "2019-03-01",
        R"({"dwellingId":"DS1","contract":"sublease","association":"AES","rentCents":40000})");
    Add("EvictionStepRecorded", B, "2019-03-01", R"({"step":"payment_order"})");
    Add("SupportStarted", A, "2019-03-01", R"({"episodeId":"E1","kind":"asll","association":"AES"})");
    Add("ObjectivesSet", A, "2019-03-05",
        R"({"episodeId":"E1","objectives":[{"objectiveId":"O1","domain":"budget"},{"objectiveId":"O2","domain":"housing"}]})");
    Add("EvictionStepRecorded", B, "2019-05-01", R"({"step":"summons","hearingDate":"2019-05-20"})");
    Add("SituationReviewed", A, "2019-06-01", R"({"episodeId":"E1","progress":[{"objectiveId":"O1","status":"achieved"}]})");
    Add("EvictionStepRecorded", B, "2019-06-01", R"({"step":"judgment_termination"})");
    Add("EvictionStepRecorded", B, "2019-06-15", R"({"step":"order_to_leave"})");
    Add("EvictionStepRecorded", B, "2019-07-01", R"({"step":"police_requested"})");
    Add("EvictionStepRecorded", B, "2019-07-15", R"({"step":"police_granted"})");
    Add("SlideReviewHeld", A, "2019-08-01", R"({"outcome":"favourable"})");
    Add("EvictionStepRecorded", B, "2019-08-01", R"({"step":"eviction_carried_out"})");
    Add("LeaseSwitched", A, "2019-09-01", R"({"dwellingId":"DS1","to":"direct_lease"})");
    switch_id_ = next_ - 1;
    Add("SupportPaused", A, "2019-10-01", R"({"episodeId":"E1","reason":"hospitalisation"})");
    Add("SupportUnpaused", A, "2019-10-11", R"({"episodeId":"E1"})");
    Add("SupportClosed", A, "2019-12-31", R"({"episodeId":"E1","reason":"objectives_met"})");
    // Platform: one training on D - 364 of D = 2019-12-31, one the day before.
    Add("StaffTrainingHeld", "territory/sud", "2018-12-31", R"({"topic":"a","attendees":5})");
    Add("StaffTrainingHeld", "territory/sud", "2019-01-01", R"({"topic":"b","attendees":7})");
    Add("ArrearsAlertRaised", A, "2020-01-15", R"({"dwellingId":"DS1","amountCents":20000,"monthsUnpaid":1})");
    Add("ArrearsCleared", A, "2020-03-01", "{}");
    Add("OccupancyEnded", A, "2020-06-30", R"({"dwellingId":"DS1","reason":"voluntary_departure","destination":"permanent"})");
    before_correction_ = "2021-01-01T00:00:00Z";
    // Recorded in 2021: the switch really happened on 2019-09-11.
    Add("EventCorrected", A, "2021-01-05",
        R"({"targetId":")" + IdOf(switch_id_) + R"(","effectiveDate":"2019-09-11","reason":"date"})",
        "2021-01-05T10:00:00Z");
  }

  projections::Report Compute(const std::string& as_of, const std::string& known_at = "") {
    ReportRequest req;
    req.time.as_of = ParseDate(as_of);
    if (!known_at.empty()) req.time.known_at = ParseTimestamp(known_at);
    req.today = *ParseDate("2026-01-01");
    auto r = ComputeReport(*f_.engine, req);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return *r;
  }

  // Flattened figures of one territory block: dotted name -> JSON number text.
  static std::map<std::string, std::string> Flat(const projections::Report& r, int territory) {
    auto v = projections::FlattenFigures(r.territories[territory]);
    return {v.begin(), v.end()};
  }

  EngineFixture f_;
  int next_ = 1;
  int switch_id_ = 0;
  std::string last_recorded_;
  std::string before_correction_;
};

TEST_F(ReportTest, AccessJourneyIn2019) {
  auto r = Compute("2019-12-31");
  auto sud = Flat(r, 2);
  EXPECT_EQ(sud["householdsRegistered"], "1");
  EXPECT_EQ(sud["referralsReceived.access"], "1");
  EXPECT_EQ(sud["referralsReceived.bySource.siao"], "1");
  EXPECT_EQ(sud["householdsSupported.access"], "1");
  EXPECT_EQ(sud["activeSupportAtDate"], "0");  // closed on D
  EXPECT_EQ(sud["calDecisions.attribution"], "1");
  EXPECT_EQ(sud["moveIns"], "1");
  EXPECT_EQ(sud["medianDaysReferralToMoveIn"], "50");  // 2019-01-10 -> 2019-03-01
  EXPECT_EQ(sud["leaseSwitches"], "1");
  EXPECT_EQ(sud["medianDaysToSwitch"], "194");  // corrected: 2019-03-01 -> 2019-09-11
  EXPECT_EQ(sud["support.closed"], "1");
  EXPECT_EQ(sud["support.closedByReason.objectives_met"], "1");
  EXPECT_EQ(sud["support.medianDays"], "295");  // 305 days less 10 paused
  EXPECT_EQ(sud["support.objectives.total"], "2");
  EXPECT_EQ(sud["support.objectives.achieved"], "1");
  EXPECT_EQ(sud["support.objectives.rate"], "0.5");
  // Platform: 2019-01-01 is D - 364 (in P), 2018-12-31 is not.
  EXPECT_EQ(sud["platform.staffTrainings"], "1");
  EXPECT_EQ(sud["platform.attendees"], "7");
  // Lille: the eviction and the open arrears.
  auto lille = Flat(r, 1);
  EXPECT_EQ(lille["referralsReceived.maintien"], "1");
  EXPECT_EQ(lille["evictions.carriedOut"], "1");
  EXPECT_EQ(lille["exits.total"], "1");
  EXPECT_EQ(lille["exits.byReason.eviction"], "1");
  EXPECT_EQ(lille["exits.toPermanentRate"], "0.0");
  EXPECT_EQ(lille["arrears.openAtDate"], "1");
  EXPECT_EQ(lille["arrears.alertsRaised"], "1");
  EXPECT_EQ(lille["householdsSupported.maintien"], "0");  // no episode
  // Empty territory: zeros and nulls.
  auto fl = Flat(r, 3);
  EXPECT_EQ(fl["householdsRegistered"], "0");
  EXPECT_EQ(fl["medianDaysToSwitch"], "null");
  EXPECT_EQ(fl["retention12m.rate"], "null");
  // all = the sum of the three.
  auto all = Flat(r, 0);
  EXPECT_EQ(all["householdsRegistered"], "2");
  EXPECT_EQ(all["moveIns"], "1");
  EXPECT_EQ(all["evictions.carriedOut"], "1");
}

TEST_F(ReportTest, KnownAtHidesTheLaterCorrection) {
  auto r = Compute("2019-12-31", before_correction_);
  EXPECT_EQ(Flat(r, 2)["medianDaysToSwitch"], "184");  // 2019-03-01 -> 2019-09-01, as then known
  EXPECT_LT(r.log_position, Compute("2019-12-31").log_position);
}

TEST_F(ReportTest, CohortsIn2020) {
  auto r = Compute("2020-12-31");
  auto sud = Flat(r, 2);
  // Occupancy of 2019-03-01 is in [D-729, D-365]; ended 2020-06-30, after
  // start + 365 (2020-02-29): retained.
  EXPECT_EQ(sud["retention12m.cohort"], "1");
  EXPECT_EQ(sud["retention12m.retained"], "1");
  EXPECT_EQ(sud["retention12m.rate"], "1.0");
  EXPECT_EQ(sud["exits.total"], "1");
  EXPECT_EQ(sud["exits.byReason.voluntary_departure"], "1");
  EXPECT_EQ(sud["exits.toPermanentRate"], "1.0");
  EXPECT_EQ(sud["arrears.alertsRaised"], "1");
  EXPECT_EQ(sud["arrears.cleared"], "1");
  EXPECT_EQ(sud["arrears.openAtDate"], "0");
  // E1 closed 2019-12-31, before D - 364 = 2020-01-01: not supported in P;
  // it is in the resumption cohort and was not resumed.
  EXPECT_EQ(sud["householdsSupported.access"], "0");
  EXPECT_EQ(sud["support.resumption.cohort"], "1");
  EXPECT_EQ(sud["support.resumption.rate"], "0.0");
  auto lille = Flat(Compute("2020-06-30"), 1);
  // payment_order 2019-03-01 in [2018-07-02, 2019-07-01]; evicted 2019-08-01.
  EXPECT_EQ(lille["evictions.avoided.cohort"], "1");
  EXPECT_EQ(lille["evictions.avoided.avoided"], "0");
  EXPECT_EQ(lille["evictions.avoided.rate"], "0.0");
}

TEST_F(ReportTest, ReviewCompliance) {
  // On 2019-09-30 E1 (started 2019-03-01 <= D - 183 = 2019-03-31) is active;
  // its review of 2019-06-01 is in [D - 182, D].
  auto sud = Flat(Compute("2019-09-30"), 2);
  EXPECT_EQ(sud["support.reviewCompliance.cohort"], "1");
  EXPECT_EQ(sud["support.reviewCompliance.compliant"], "1");
  EXPECT_EQ(sud["activeSupportAtDate"], "1");
  // On 2019-12-15 the review is older than 182 days... 2019-06-16 is D - 182.
  auto later = Flat(Compute("2019-12-15"), 2);
  EXPECT_EQ(later["support.reviewCompliance.cohort"], "1");
  EXPECT_EQ(later["support.reviewCompliance.compliant"], "0");
  // Paused on D: cohort, but not active support.
  auto paused = Flat(Compute("2019-10-05"), 2);
  EXPECT_EQ(paused["activeSupportAtDate"], "0");
  EXPECT_EQ(paused["support.reviewCompliance.cohort"], "1");
}

TEST_F(ReportTest, RenderingsAgreeAndAreDeterministic) {
  auto r = Compute("2019-12-31");
  std::string json = projections::RenderReport(r, ReportFormat::kJson);
  EXPECT_EQ(json, projections::RenderReport(Compute("2019-12-31"), ReportFormat::kJson));
  f_.engine = f_.Reopen();
  EXPECT_EQ(json, projections::RenderReport(Compute("2019-12-31"), ReportFormat::kJson));
  // CSV rows carry the same numbers as the JSON blocks.
  std::string csv = projections::RenderReport(r, ReportFormat::kCsv);
  std::istringstream in(csv);
  std::string header, line;
  std::getline(in, header);
  std::vector<std::string> columns;
  std::stringstream hs(header);
  for (std::string c; std::getline(hs, c, ',');) columns.push_back(c);
  for (int t = 0; t < 4; ++t) {
    ASSERT_TRUE(std::getline(in, line));
    std::vector<std::string> cells;
    std::stringstream ls(line);
    for (std::string c; std::getline(ls, c, ',');) cells.push_back(c);
    if (line.back() == ',') cells.push_back("");
    ASSERT_EQ(cells.size(), columns.size());
    EXPECT_EQ(cells[0], projections::kTerritoryKeys[t]);
    auto flat = Flat(r, t);
    for (size_t i = 1; i < columns.size(); ++i)
      EXPECT_EQ(cells[i], flat[columns[i]] == "null" ? "" : flat[columns[i]]) << columns[i];
  }
  // JSON parses, and its blocks hold the same numbers.
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(json).value();
  EXPECT_EQ(root["logPosition"].get_uint64().value(), r.log_position);
  EXPECT_EQ(root["territories"]["sud"]["moveIns"].get_int64().value(), 1);
  std::string md = projections::RenderReport(r, ReportFormat::kMarkdown);
  EXPECT_NE(md.find("| sud |"), std::string::npos);
  std::string html = projections::RenderHtml(r, {});
  EXPECT_NE(html.find("<table>"), std::string::npos);
  // Self-contained: no script, no external asset.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
}

// The verdict of CheckReport, parsed.
struct Verdict {
  bool match = false;
  std::map<std::string, std::string> differences;  // figure -> "old|atReportView|new"
  std::vector<std::string> explained_by;           // event ids
  std::string json, prose;
};

Verdict Check(Engine& engine, const std::string& saved) {
  auto c = projections::CheckReport(engine, saved);
  EXPECT_TRUE(c.ok()) << c.status().message();
  Verdict v;
  if (!c.ok()) return v;
  v.json = c->json;
  v.prose = c->prose;
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(c->json).value();
  v.match = root["match"].get_bool().value();
  EXPECT_EQ(v.match, c->match);
  simdjson::dom::array differences = root["differences"].get_array().value();
  simdjson::dom::array explained = root["explainedBy"].get_array().value();
  for (simdjson::dom::element d : differences)
    v.differences[std::string(d["figure"].get_string().value())] =
        simdjson::minify(d["old"]) + "|" + simdjson::minify(d["atReportView"]) + "|" + simdjson::minify(d["new"]);
  for (simdjson::dom::element e : explained)
    v.explained_by.emplace_back(e["id"].get_string().value());
  return v;
}

TEST_F(ReportTest, CheckFindsTheCorrectionThatChangedAFigure) {
  auto old_report = Compute("2019-12-31", before_correction_);
  std::string saved = projections::RenderReport(old_report, ReportFormat::kJson);
  Verdict same = Check(*f_.engine, saved);
  EXPECT_TRUE(same.match) << same.json;
  EXPECT_TRUE(same.differences.empty());
  // The same figures claimed without knownAt (a report made before the
  // correction was recorded): the correction changes medianDaysToSwitch, and
  // the check names it.
  std::string pinned = "\"knownAt\": \"" + FormatTimestamp(*ParseTimestamp(before_correction_)) + "\"";
  std::string unpinned = saved;
  unpinned.replace(unpinned.find(pinned), pinned.size(), "\"knownAt\": null");
  Verdict diff = Check(*f_.engine, unpinned);
  EXPECT_FALSE(diff.match) << diff.json;
  EXPECT_EQ(diff.differences["sud.medianDaysToSwitch"], "184|184|194") << diff.json;
  EXPECT_EQ(diff.differences["all.medianDaysToSwitch"], "184|184|194") << diff.json;
  EXPECT_EQ(diff.explained_by, std::vector<std::string>{IdOf(next_ - 1)}) << diff.json;
  EXPECT_NE(diff.prose.find("sud.medianDaysToSwitch: report 184, at its view 184, now 194"), std::string::npos)
      << diff.prose;
}

// Issue 12: a report without --known-at said "does not match (0 figures
// differ)" after any later append. It is checked at its logPosition.
TEST_F(ReportTest, CheckOfAnUnpinnedReportMatchesAfterAnUnrelatedAppend) {
  std::string saved = projections::RenderReport(Compute("2019-12-31"), ReportFormat::kJson);
  // After D, and back-dated into P without changing a figure.
  Add("DifficultyReported", "household/B", "2021-02-01", R"({"category":"neighbourhood","severity":1})",
      "2021-02-01T12:00:00Z");
  Add("ConsentRecorded", "household/B", "2019-06-01", R"({"purpose":"support","given":true})",
      "2021-02-02T12:00:00Z");
  Verdict v = Check(*f_.engine, saved);
  EXPECT_TRUE(v.match) << v.json << v.prose;
  EXPECT_TRUE(v.differences.empty());
  EXPECT_TRUE(v.explained_by.empty());
}

TEST_F(ReportTest, CheckOfAnUnpinnedReportNamesTheBackDatedEventThatChangedIt) {
  std::string saved = projections::RenderReport(Compute("2019-12-31"), ReportFormat::kJson);
  // Unrelated (after D), then a training back-dated into P, then a
  // correction of a move-in date out of P.
  Add("DifficultyReported", "household/B", "2021-02-01", R"({"category":"neighbourhood","severity":1})",
      "2021-02-01T12:00:00Z");
  Add("StaffTrainingHeld", "territory/sud", "2019-06-01", R"({"topic":"c","attendees":4})", "2021-02-02T12:00:00Z");
  const std::string training = IdOf(next_ - 1);
  Verdict v = Check(*f_.engine, saved);
  EXPECT_FALSE(v.match);
  EXPECT_EQ(v.differences["sud.platform.staffTrainings"], "1|1|2") << v.json;
  EXPECT_EQ(v.differences["all.platform.attendees"], "7|7|11") << v.json;
  EXPECT_EQ(v.differences.size(), 4u) << v.json;
  EXPECT_EQ(v.explained_by, std::vector<std::string>{training}) << v.json;
}

// Second reader: a pinned report was recomputed at the position known at T
// *now*, so an event recorded later at the same instant T (recordedAt only
// never decreases) made every figure it changed "not reproduced" and left
// explainedBy empty, as if the file were forged. The report's view is its
// logPosition; the position known at T now is the current view.
TEST_F(ReportTest, CheckOfAPinnedReportExplainsAnEventRecordedLaterAtTheSameInstant) {
  const std::string t = "2021-03-01T12:00:00Z";
  Add("DifficultyReported", "household/B", "2021-02-01", R"({"category":"neighbourhood","severity":1})", t);
  std::string saved = projections::RenderReport(Compute("2019-12-31", t), ReportFormat::kJson);
  Add("StaffTrainingHeld", "territory/sud", "2019-06-01", R"({"topic":"c","attendees":4})", t);
  const std::string training = IdOf(next_ - 1);
  Verdict v = Check(*f_.engine, saved);
  EXPECT_FALSE(v.match);
  EXPECT_EQ(v.differences["sud.platform.staffTrainings"], "1|1|2") << v.json;
  EXPECT_EQ(v.explained_by, std::vector<std::string>{training}) << v.json;
}

TEST_F(ReportTest, CheckFindsATamperedFigureAndExplainsItByNothing) {
  std::string saved = projections::RenderReport(Compute("2019-12-31"), ReportFormat::kJson);
  // sud's moveIns: 1 -> 2 (the second "moveIns" of the file: all, lille, sud).
  size_t at = 0;
  for (int i = 0; i < 3; ++i) at = saved.find("\"moveIns\": ", at + 1);
  ASSERT_EQ(saved.substr(at, 12), "\"moveIns\": 1");
  saved.replace(at, 12, "\"moveIns\": 2");
  Add("DifficultyReported", "household/B", "2021-02-01", R"({"category":"neighbourhood","severity":1})",
      "2021-02-01T12:00:00Z");
  Verdict v = Check(*f_.engine, saved);
  EXPECT_FALSE(v.match);
  EXPECT_EQ(v.differences, (std::map<std::string, std::string>{{"sud.moveIns", "2|1|1"}})) << v.json;
  EXPECT_TRUE(v.explained_by.empty());
  EXPECT_NE(v.prose.find("already at the report's own view"), std::string::npos) << v.prose;
  // A figure removed, and a chain hash that is not this log's.
  std::string cut = saved;
  cut.replace(cut.find("\"householdsRegistered\": "), 24, "\"householdsRegisterez\": ");
  EXPECT_EQ(Check(*f_.engine, cut).differences["all.householdsRegistered"], "null|2|2");
  std::string rehashed = saved;
  size_t h = rehashed.find("\"logHash\": \"") + 12;
  rehashed[h] = rehashed[h] == '0' ? '1' : '0';
  Verdict bad = Check(*f_.engine, rehashed);
  EXPECT_FALSE(bad.match);
  EXPECT_EQ(bad.differences.count("logHash"), 1u) << bad.json;
  // Not a report: an error, not a verdict.
  EXPECT_FALSE(projections::CheckReport(*f_.engine, "[1,2]").ok());
}

// Second reader: the check compared only the figures it computes, so a key
// added to a file, a period or a checkpoint changed by hand, and a knownAt
// that is not a string all went unnoticed (the last was read as "not
// pinned").
TEST_F(ReportTest, CheckSeesEveryPartOfTheFileNotOnlyItsFigures) {
  std::string saved = projections::RenderReport(Compute("2019-12-31"), ReportFormat::kJson);
  ASSERT_TRUE(Check(*f_.engine, saved).match);
  auto edited = [&](const std::string& from, const std::string& to) {
    std::string s = saved;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  // A figure the engine does not compute, and a territory it does not know.
  Verdict extra = Check(*f_.engine, edited("\"moveIns\": ", "\"moveInz\": 3, \"moveIns\": "));
  EXPECT_FALSE(extra.match);
  EXPECT_EQ(extra.differences["all.moveInz"], "3|null|null") << extra.json;
  Verdict paris = Check(*f_.engine, edited("\"territories\": {", "\"territories\": {\"paris\": {\"moveIns\": 1}, "));
  EXPECT_FALSE(paris.match);
  EXPECT_EQ(paris.differences["paris.moveIns"], "1|null|null") << paris.json;
  // The period is the report's, derived from asOf.
  Verdict period = Check(*f_.engine, edited("\"from\": \"2019-01-01\"", "\"from\": \"2018-01-01\""));
  EXPECT_FALSE(period.match);
  EXPECT_EQ(period.differences["period.from"], "\"2018-01-01\"|\"2019-01-01\"|\"2019-01-01\"") << period.json;
  // The signed checkpoint names this log at logPosition.
  size_t cp = saved.find("\"checkpoint\": \"");
  ASSERT_NE(cp, std::string::npos) << saved.substr(0, 400);
  std::string forged = saved;
  forged.insert(cp + 15, "x");
  Verdict checkpoint = Check(*f_.engine, forged);
  EXPECT_FALSE(checkpoint.match);
  EXPECT_EQ(checkpoint.differences.count("checkpoint"), 1u) << checkpoint.json;
  // knownAt must be an instant or null.
  EXPECT_FALSE(projections::CheckReport(*f_.engine, edited("\"knownAt\": null", "\"knownAt\": 5")).ok());
}

TEST_F(ReportTest, MonthlySeries) {
  auto rows = projections::ComputeSeries(*f_.engine, *ParseDate("2019-01-01"), *ParseDate("2019-12-31"), std::nullopt);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 48u);  // 12 months x 4 blocks
  std::map<std::string, projections::SeriesRow> by;
  for (const auto& r : *rows) by[r.month + "/" + r.territory] = r;
  EXPECT_EQ(by["2019-03/sud"].move_ins, 1);
  EXPECT_EQ(by["2019-03/sud"].supported_access, 1);
  EXPECT_EQ(by["2019-02/sud"].supported_access, 0);
  EXPECT_EQ(by["2019-09/all"].lease_switches, 1);  // corrected to 2019-09-11
  EXPECT_EQ(by["2019-08/lille"].evictions_carried_out, 1);
  EXPECT_EQ(by["2019-07/lille"].arrears_open, 1);
  std::string csv = projections::RenderSeriesCsv(*rows);
  EXPECT_NE(csv.find("2019-03,sud,1,0,0,0,1,0,0,0"), std::string::npos) << csv;
}

}  // namespace
}  // namespace relais::testing
