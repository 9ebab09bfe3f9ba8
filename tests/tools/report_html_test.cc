// The evaluator's report through the real binary (issue 12 items 2 and 3):
// `relais report --check` on the command line (JSON verdict on stdout, exit
// 0 on a match, 4 otherwise), and `--format html` read in headless Chromium
// (its text: French, no JSON key, rates as percentages, charts with their
// axis titles; its print: A4 pages). One Chromium run per format.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "relais/projections/labels.h"
#include "relais/projections/report.h"
#include "server/server_harness.h"
#include "support/chromium.h"
#include "support/test_support.h"

namespace relais {
namespace {

using testing::RunRelais;

// Two households over two years: an access journey (referral, CAL, move-in,
// support, switch, exit to permanent housing) and a maintien one with
// arrears and an eviction; platform events; a later correction.
class ReportHtmlTest : public ::testing::Test {
 protected:
  std::string Ev(const std::string& type, const std::string& subject, const std::string& date,
                 const std::string& data, const std::string& recorded = "") {
    // recordedAt never goes back (the engine refuses a regression).
    std::string at = recorded.empty() ? date + "T12:00:00Z" : recorded;
    if (at < last_recorded_) at = last_recorded_;
    last_recorded_ = at;
    return testing::Ev(++n_, type, subject, date, data, R"(,"recordedAt":")" + at + "\"");
  }

  void SetUp() override {
    data_ = dir_.path() + "/data";
    const std::string A = "household/A", B = "household/B";
    Import({
        Ev("DwellingRegistered", "dwelling/DS1", "2019-01-01",
           R"({"territory":"sud","commune":"Douai","typology":"T3","adaptations":[],"rentCents":40000})"),
        Ev("DwellingRegistered", "dwelling/DL1", "2019-01-01",
           R"({"territory":"lille","commune":"Lille","typology":"T2","adaptations":[],"rentCents":30000})"),
        Ev("HouseholdRegistered", B, "2019-01-01",
           R"({"territory":"lille","commune":"Lille","adults":1,"children":0,"headOfHousehold":{"name":"B","birthDate":"1970-05-05"}})"),
        Ev("HouseholdReferred", B, "2019-01-01",
           R"({"referralId":"R1","track":"maintien","source":"agency","referrer":"Agence"})"),
        Ev("OccupancyStarted", B, "2019-01-01",
           R"({"dwellingId":"DL1","contract":"direct_lease","rentCents":30000,"preexisting":true})"),
        Ev("ConsentRecorded", B, "2019-01-01", R"({"purpose":"support","given":true})"),
        Ev("SupportStarted", B, "2019-01-05", R"({"episodeId":"EB","kind":"asll","association":"AES"})"),
        Ev("HouseholdRegistered", A, "2019-01-01",
           R"({"territory":"sud","commune":"Douai","adults":1,"children":1,"headOfHousehold":{"name":"A","birthDate":"1985-01-01"}})"),
        Ev("ConsentRecorded", A, "2019-01-05", R"({"purpose":"support","given":true})"),
        Ev("HouseholdReferred", A, "2019-01-10",
           R"({"referralId":"R1","track":"access","source":"siao","referrer":"SIAO"})"),
        Ev("ReferralDecided", A, "2019-01-15", R"({"referralId":"R1","outcome":"accepted"})"),
        Ev("CalApplicationFiled", A, "2019-01-20",
           R"({"referralId":"R1","dwellingId":"DS1","sessionDate":"2019-02-01"})"),
        Ev("CalDecisionRecorded", A, "2019-02-01",
           R"({"referralId":"R1","dwellingId":"DS1","decision":"attribution"})"),
        Ev("ArrearsAlertRaised", B, "2019-02-01", R"({"dwellingId":"DL1","amountCents":90000,"monthsUnpaid":3})"),
        Ev("OfferAnswered", A, "2019-02-05", R"({"dwellingId":"DS1","answer":"accepted"})"),
        Ev("OccupancyStarted", A, "2019-03-01",
           R"({"dwellingId":"DS1","contract":"sublease","association":"AES","rentCents":40000})"),
        Ev("EvictionStepRecorded", B, "2019-03-01", R"({"step":"payment_order"})"),
        Ev("SupportStarted", A, "2019-03-01", R"({"episodeId":"E1","kind":"asll","association":"AES"})"),
        Ev("ObjectivesSet", A, "2019-03-05",
           R"({"episodeId":"E1","objectives":[{"objectiveId":"O1","domain":"budget"},{"objectiveId":"O2","domain":"housing"}]})"),
        Ev("SituationReviewed", A, "2019-06-01",
           R"({"episodeId":"E1","progress":[{"objectiveId":"O1","status":"achieved"}]})"),
        Ev("SlideReviewHeld", A, "2019-08-01", R"({"outcome":"favourable"})"),
        Ev("LeaseSwitched", A, "2019-09-01", R"({"dwellingId":"DS1","to":"direct_lease"})"),
        Ev("SupportClosed", A, "2019-12-31", R"({"episodeId":"E1","reason":"objectives_met"})"),
        Ev("StaffTrainingHeld", "territory/sud", "2019-05-01", R"({"topic":"a","attendees":7})"),
        Ev("PartnerMeetingHeld", "territory/lille", "2019-06-01", R"({"partners":["CCAS"],"topic":"b"})"),
        Ev("OccupancyEnded", A, "2020-06-30",
           R"({"dwellingId":"DS1","reason":"voluntary_departure","destination":"permanent"})"),
    });
  }

  void Import(const std::vector<std::string>& lines) {
    std::string out;
    ASSERT_EQ(testing::ImportLines(data_, dir_.path() + "/events" + std::to_string(n_) + ".ndjson", lines, &out), 0)
        << out;
  }

  std::string Run(const std::vector<std::string>& args, int* rc) { return testing::RunIn(data_, args, rc); }

  testing::TempDir dir_;
  std::string data_;
  int n_ = 0;
  std::string last_recorded_;
};

// The verdict on stdout is one JSON object, nothing else (prose is stderr's).
simdjson::dom::element Verdict(simdjson::dom::parser& p, const std::string& out) {
  simdjson::dom::element v;
  EXPECT_EQ(p.parse(out).get(v), simdjson::SUCCESS) << "stdout is not one JSON object: " << out;
  return v;
}

TEST_F(ReportHtmlTest, CheckOnTheCommandLine) {
  int rc = 0;
  std::string saved = Run({"report", "--as-of", "2019-12-31"}, &rc);
  ASSERT_EQ(rc, 0);
  std::string file = dir_.path() + "/report.json";
  std::ofstream(file) << saved;
  simdjson::dom::parser p;
  std::string out = Run({"report", "--check", file}, &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(bool(Verdict(p, out)["match"]));

  // An unrelated append (after D): still a match.
  Import({Ev("DifficultyReported", "household/B", "2021-02-01", R"({"category":"neighbourhood","severity":1})")});
  out = Run({"report", "--check", file}, &rc);
  EXPECT_EQ(rc, 0) << out;
  simdjson::dom::element v = Verdict(p, out);
  EXPECT_TRUE(bool(v["match"]));
  EXPECT_EQ(simdjson::dom::array(v["differences"]).size(), 0u);

  // A training back-dated into the period: no match, the figure and the
  // event named.
  Import({Ev("StaffTrainingHeld", "territory/sud", "2019-07-01", R"({"topic":"c","attendees":3})",
             "2021-02-02T12:00:00Z")});
  const std::string training = testing::IdOf(n_);
  out = Run({"report", "--check", file}, &rc);
  EXPECT_EQ(rc, 4) << out;
  v = Verdict(p, out);
  EXPECT_FALSE(bool(v["match"]));
  std::set<std::string> figures;
  for (simdjson::dom::element d : simdjson::dom::array(v["differences"]))
    figures.insert(std::string(std::string_view(d["figure"])));
  EXPECT_EQ(figures, (std::set<std::string>{"all.platform.staffTrainings", "all.platform.attendees",
                                            "sud.platform.staffTrainings", "sud.platform.attendees"}));
  simdjson::dom::array explained = v["explainedBy"];
  ASSERT_EQ(explained.size(), 1u) << out;
  EXPECT_EQ(std::string_view(explained.at(0)["id"]), training);

  // A tampered figure in a report pinned by knownAt: reproduced at its
  // view, the file differs.
  std::string pinned = Run({"report", "--as-of", "2019-12-31", "--known-at", "2021-01-01T00:00:00Z"}, &rc);
  ASSERT_EQ(rc, 0);
  size_t at = pinned.find("\"householdsRegistered\": 2");
  ASSERT_NE(at, std::string::npos) << pinned;
  pinned.replace(at, 25, "\"householdsRegistered\": 3");
  std::ofstream(file, std::ios::out | std::ios::trunc) << pinned;
  out = Run({"report", "--check", file}, &rc);
  EXPECT_EQ(rc, 4) << out;
  v = Verdict(p, out);
  ASSERT_EQ(simdjson::dom::array(v["differences"]).size(), 1u) << out;
  simdjson::dom::element d0 = simdjson::dom::array(v["differences"]).at(0);
  EXPECT_EQ(std::string_view(d0["figure"]), "all.householdsRegistered");
  EXPECT_EQ(int64_t(d0["old"]), 3);
  EXPECT_EQ(int64_t(d0["new"]), 2);
  EXPECT_FALSE(bool(d0["reproduced"]));
  EXPECT_EQ(simdjson::dom::array(v["explainedBy"]).size(), 0u);

  // Not a report: a usage error.
  std::ofstream(file, std::ios::out | std::ios::trunc) << "not json";
  Run({"report", "--check", file}, &rc);
  EXPECT_EQ(rc, 2);
  // Second reader: options that would choose another view were ignored, and
  // an endless file was read without end.
  const std::string good = dir_.path() + "/report-again.json";
  std::ofstream(good) << saved;
  Run({"report", "--check", good, "--known-at", "2021-01-01T00:00:00Z"}, &rc);
  EXPECT_EQ(rc, 2);
  Run({"report", "--check", good, "--format", "csv"}, &rc);
  EXPECT_EQ(rc, 2);
  // Over the 16 MiB cap: a valid report padded with blanks, which would
  // match if it were read whole, is refused unread.
  const std::string padded = dir_.path() + "/report-padded.json";
  {
    std::ofstream out(padded);
    out << saved << std::string(16u << 20, ' ');
  }
  std::string refusal = Run({"report", "--check", padded}, &rc);
  EXPECT_EQ(rc, 2) << refusal;
  Run({"report", "--check", "/dev/zero"}, &rc);
  EXPECT_EQ(rc, 2);
}

// ---------------------------------------------------------------------------
// The page in Chromium.

TEST_F(ReportHtmlTest, HtmlReadInHeadlessChromiumIsFrenchPrintableAndHasNoJsonKey) {
  auto chromium = testing::HeadlessChromium::Find(dir_.path() + "/chromium-profile");
  if (!chromium)
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it; CI has it)";
  int rc = 0;
  std::string html = Run({"report", "--as-of", "2020-12-31", "--format", "html"}, &rc);
  ASSERT_EQ(rc, 0);
  std::string json = Run({"report", "--as-of", "2020-12-31"}, &rc);
  ASSERT_EQ(rc, 0);
  testing::ExpectSelfContainedPrintablePage(html);
  EXPECT_NE(html.find("figure { break-inside: avoid;"), std::string::npos);

  const std::string page = dir_.path() + "/report.html";
  auto rendered = chromium->Render(html, page);
  ASSERT_TRUE(rendered.ok()) << rendered.status().message();
  const std::string& dom = *rendered;
  ASSERT_NE(dom.find("Indicateurs d'évaluation"), std::string::npos) << dom.substr(0, 500);
  std::string text = testing::VisibleText(dom);

  // No JSON key: no dotted figure name, no camelCase key of the report, no
  // enum spelling (unless it is also a word of its own French label).
  std::set<std::string> forbidden = {"{", "}", "null", "true", "false", "territories", "all"};
  for (const auto& [key, value] : projections::FlattenFigures(projections::TerritoryFigures{})) {
    forbidden.insert(key);
    std::string last = key.substr(key.rfind('.') + 1);
    if (key.find(".bySource.") != std::string::npos || key.find("ByReason.") != std::string::npos ||
        key.find("byReason.") != std::string::npos || key.rfind("calDecisions.", 0) == 0) {
      // Spellings that are also French words ("attribution", "association").
      if (last != "attribution" && last != "association") forbidden.insert(last);
    }
  }
  std::regex camel("\"([a-z]+[A-Z][A-Za-z0-9]*)\":");
  for (auto it = std::sregex_iterator(json.begin(), json.end(), camel); it != std::sregex_iterator(); ++it)
    forbidden.insert((*it)[1]);
  for (const auto& word : forbidden) {
    std::regex whole("(^|[^A-Za-z0-9_.])" + std::regex_replace(word, std::regex("[.{}]"), "\\$&") +
                     "($|[^A-Za-z0-9_])");
    EXPECT_FALSE(std::regex_search(text, whole)) << "the page shows '" << word << "'";
  }
  std::smatch snake;
  EXPECT_FALSE(std::regex_search(text, snake, std::regex("\\b[a-z]+_[a-z_]+\\b")))
      << "an internal code on the page: " << snake.str();

  // French words: sections, labels and definitions, targets.
  for (auto key : {"section.demand", "section.allocation", "section.housing", "section.support",
                   "section.arrears", "section.platform", "section.verify"})
    EXPECT_NE(text.find(std::string(labels::ReportText(key))), std::string::npos) << key;
  EXPECT_NE(text.find(std::string(labels::IndicatorLabel("retention12m").definition)), std::string::npos);
  EXPECT_NE(text.find("40 à 45 ménages par an"), std::string::npos);
  EXPECT_NE(text.find("250 ménages par an"), std::string::npos);
  EXPECT_NE(text.find("31 décembre 2020"), std::string::npos);
  // Rates as percentages with their parts: retention 1 of 1 in sud,
  // objectives none closed in P.
  EXPECT_NE(text.find("100,0\u00a0%"), std::string::npos);
  EXPECT_NE(text.find("1 sur 1"), std::string::npos);
  EXPECT_FALSE(std::regex_search(text, std::regex("\\b0\\.[0-9]"))) << "a rate printed as a fraction";
  // Charts: inline SVG, axis titles, one figure per chart.
  size_t svgs = 0;
  for (size_t at = dom.find("<svg"); at != std::string::npos; at = dom.find("<svg", at + 1)) ++svgs;
  EXPECT_EQ(svgs, 7u);
  std::string first_svg = dom.substr(dom.find("<svg"), dom.find("</svg>") - dom.find("<svg"));
  EXPECT_NE(first_svg.find(">" + std::string(labels::ReportText("axis.month")) + "<"), std::string::npos);
  EXPECT_NE(first_svg.find(">" + std::string(labels::ReportText("axis.households")) + "<"), std::string::npos);
  EXPECT_NE(first_svg.find("stroke-dasharray"), std::string::npos) << "series told apart by dashes";
  // The footer: position, hash, command, checkpoint.
  simdjson::dom::parser p;
  simdjson::dom::element r = p.parse(json);
  EXPECT_NE(text.find(std::string(std::string_view(r["logHash"]))), std::string::npos);
  EXPECT_NE(text.find("relais report --as-of 2020-12-31 --known-at "), std::string::npos);
  // The footer says how to save the JSON that --check reads.
  EXPECT_NE(text.find("--format json > rapport.json"), std::string::npos);
  std::string_view checkpoint;
  ASSERT_EQ(r["checkpoint"].get(checkpoint), simdjson::SUCCESS);
  std::string origin(checkpoint.substr(0, checkpoint.find('\n')));
  EXPECT_NE(text.find(origin), std::string::npos);

  // Printed: A4 pages (595 x 842 points), more than one.
  std::string pdf = dir_.path() + "/report.pdf";
  Status printed = chromium->PrintToPdf(page, pdf);
  ASSERT_TRUE(printed.ok()) << printed.message();
  std::string bytes = testing::ReadFile(pdf);
  ASSERT_EQ(bytes.substr(0, 4), "%PDF");
  auto pages = testing::PdfPageSizes(bytes);
  for (auto [width, height] : pages) {
    EXPECT_NEAR(width, 595.3, 1.0);
    EXPECT_NEAR(height, 841.9, 1.0);
  }
  EXPECT_GE(pages.size(), 2u);
}

}  // namespace
}  // namespace relais
