// The household's own file and the retention endpoints (lifecycle.md §2-§3)
// through the real binary: `relais file` and `relais retention` on the
// command line, GET /v1/streams/household%2F<id>/file and /v1/retention over
// HTTP with their roles and journaling, and the HTML page looked at in
// headless Chromium as a household would (its text: French words only, every
// event present; its print: A4 pages).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "relais/event.h"
#include "relais/projections/labels.h"
#include "relais/types.h"
#include "server/server_harness.h"
#include "support/chromium.h"
#include "support/test_support.h"

namespace relais {
namespace {

using testing::Http;
using testing::RunRelais;

// One household with one event of nearly every household type, actors of
// several roles, two corrections and a retraction; a second household of
// another territory; their dwellings.
std::vector<std::string> Scenario() {
  int n = 0;
  auto ev = [&](const std::string& type, const std::string& subject, const std::string& date,
                const std::string& data, const std::string& actor = "") {
    std::string extra = ",\"recordedAt\":\"" + date + "T09:00:00Z\"";
    if (!actor.empty()) extra += ",\"actor\":" + actor;
    return testing::Ev(++n, type, subject, date, data, extra);
  };
  const std::string sw = R"({"id":"sw1","role":"social_worker","org":"AES du Nord"})";
  const std::string co = R"({"id":"co1","role":"coordinator","org":"lille"})";
  const std::string h = "household/H-F1";
  std::vector<std::string> lines = {
      ev("DwellingRegistered", "dwelling/D-F1", "2014-12-01",
         R"({"territory":"lille","commune":"Roubaix","typology":"T3","adaptations":["ground_floor"],"rentCents":41250})"),
      ev("HouseholdRegistered", h, "2015-01-05",
         R"({"territory":"lille","commune":"Roubaix","adults":1,"children":2,"headOfHousehold":{"name":"Camille Exemple","birthDate":"1984-06-11"}})",
         co),
      ev("ConsentRecorded", h, "2015-01-06", R"({"purpose":"support","given":true})", sw),
      ev("ConsentRecorded", h, "2015-01-06", R"({"purpose":"data_sharing","given":true})", sw),
      ev("HouseholdReferred", h, "2015-01-10",
         R"({"referralId":"R1","track":"access","source":"siao","referrer":"SIAO du Nord"})"),
      ev("ReferralDecided", h, "2015-01-20", R"({"referralId":"R1","outcome":"accepted"})", co),
      ev("PriorityRecognised", h, "2015-01-25", R"({"basis":"dalo","offerDeadline":"2015-06-30"})"),
      ev("CalApplicationFiled", h, "2015-02-01",
         R"({"referralId":"R1","dwellingId":"D-F1","sessionDate":"2015-02-10"})"),
      ev("CalDecisionRecorded", h, "2015-02-10",
         R"({"referralId":"R1","dwellingId":"D-F1","decision":"attribution"})"),
      ev("OfferAnswered", h, "2015-02-15", R"({"dwellingId":"D-F1","answer":"accepted"})"),
      ev("OccupancyStarted", h, "2015-03-01",
         R"({"dwellingId":"D-F1","contract":"sublease","association":"AES du Nord","rentCents":41250})"),
      ev("SupportStarted", h, "2015-03-01",
         R"({"episodeId":"E1","kind":"asll","association":"AES du Nord"})", sw),
      ev("ObjectivesSet", h, "2015-03-15",
         R"({"episodeId":"E1","objectives":[{"objectiveId":"O1","domain":"budget","dueDate":"2015-12-31"},{"objectiveId":"O2","domain":"housing"}]})",
         sw),
      ev("SituationReviewed", h, "2015-06-01",
         R"({"episodeId":"E1","progress":[{"objectiveId":"O1","status":"in_progress"}],"notes":"Budget en voie de stabilisation","nextReviewDate":"2015-09-01"})",
         sw),
      ev("SlideReviewHeld", h, "2015-09-01", R"({"outcome":"favourable"})", sw),
      ev("LeaseSwitched", h, "2015-10-01", R"({"dwellingId":"D-F1","to":"direct_lease"})"),
      ev("ArrearsAlertRaised", h, "2016-01-10",
         R"({"dwellingId":"D-F1","amountCents":90000,"monthsUnpaid":3})"),
      ev("RepaymentPlanAgreed", h, "2016-01-20", R"({"monthlyCents":10000,"months":9})"),
      ev("FslAidDecided", h, "2016-02-01", R"({"granted":true,"amountCents":30000})"),
      ev("CcapexReferred", h, "2016-02-05", "{}"),
      ev("EvictionStepRecorded", h, "2016-02-10", R"({"step":"payment_order"})"),
      ev("DifficultyReported", h, "2016-03-01", R"({"category":"neighbourhood","severity":2})"),
      ev("SupportPaused", h, "2016-04-01", R"({"episodeId":"E1","reason":"hospitalisation"})", sw),
      ev("SupportUnpaused", h, "2016-05-01", R"({"episodeId":"E1"})", sw),
      ev("ArrearsCleared", h, "2016-06-01", "{}"),
      ev("SupportClosed", h, "2016-09-30", R"({"episodeId":"E1","reason":"objectives_met"})", sw),
      ev("SupportResumed", h, "2017-01-10",
         R"({"episodeId":"E2","previousEpisodeId":"E1","reason":"Nouvelle difficulte de budget"})", sw),
  };
  // Corrections and a retraction, recorded later.
  const std::string difficulty = testing::IdOf(22), priority = testing::IdOf(7),
                    plan = testing::IdOf(18);
  lines.push_back(ev("EventCorrected", h, "2017-02-01",
                     R"({"targetId":")" + difficulty +
                         R"(","data":{"severity":3},"reason":"Gravite mal saisie"})",
                     co));
  lines.push_back(ev("EventCorrected", h, "2017-02-02",
                     R"({"targetId":")" + priority +
                         R"(","effectiveDate":"2015-01-24","reason":"Date de la commission DALO"})"));
  lines.push_back(ev("EventRetracted", h, "2017-02-03",
                     R"({"targetId":")" + plan + R"(","reason":"Saisie en double"})"));
  // A second household, closed long ago, in another territory.
  lines.push_back(ev("HouseholdRegistered", "household/H-F2", "2017-03-01",
                     R"({"territory":"sud","commune":"Cambrai","adults":2,"children":0,"headOfHousehold":{"name":"Dominique Autre","birthDate":"1970-02-03"}})"));
  return lines;
}

class HouseholdFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    std::string out;
    ASSERT_EQ(testing::ImportLines(data_, dir_.path() + "/events.ndjson", Scenario(), &out), 0) << out;
  }
  std::string Run(const std::vector<std::string>& args, int* rc) { return testing::RunIn(data_, args, rc); }

  testing::TempDir dir_;
  std::string data_;
};

// The keys of a JSON object, in order.
std::vector<std::string> Keys(simdjson::dom::element e) {
  std::vector<std::string> out;
  simdjson::dom::object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) return out;
  for (auto [k, v] : o) out.emplace_back(k);
  return out;
}

TEST_F(HouseholdFileTest, JsonFileHasTheContractKeysAndEveryEventInEffectiveOrder) {
  int rc = 0;
  std::string json = Run({"file", "household/H-F1"}, &rc);
  ASSERT_EQ(rc, 0) << json;
  simdjson::dom::parser p;
  simdjson::dom::element f = p.parse(json);
  EXPECT_EQ(Keys(f), (std::vector<std::string>{"subject", "knownAt", "logPosition", "logHash",
                                               "status", "events", "accessLog"}));
  EXPECT_EQ(std::string_view(f["subject"]), "household/H-F1");
  EXPECT_TRUE(f["knownAt"].is_null());
  EXPECT_EQ(uint64_t(f["logPosition"]), 31u);
  EXPECT_EQ(std::string_view(f["logHash"]).size(), 64u);
  // Status as `relais status` at the default D.
  std::string status = Run({"status", "household/H-F1"}, &rc);
  EXPECT_EQ(simdjson::minify(f["status"]) + "\n", status);
  // Every event of the history, each once, in effective order with the
  // corrections and the retraction right after their targets.
  simdjson::dom::array events = f["events"];
  EXPECT_EQ(events.size(), 29u);
  std::vector<std::string> order;
  for (simdjson::dom::element e : events) order.emplace_back(std::string_view(e["type"]));
  auto at = [&](const std::string& type) {
    return std::find(order.begin(), order.end(), type) - order.begin();
  };
  EXPECT_EQ(order.front(), "HouseholdRegistered");
  EXPECT_EQ(order[at("DifficultyReported") + 1], "EventCorrected");
  EXPECT_EQ(order[at("RepaymentPlanAgreed") + 1], "EventRetracted");
  EXPECT_EQ(order[at("PriorityRecognised") + 1], "EventCorrected");
  EXPECT_EQ(order.back(), "SupportResumed");
  // History's envelope on each event.
  simdjson::dom::element first = events.at(0);
  EXPECT_EQ(Keys(first), (std::vector<std::string>{"position", "version", "id", "type", "subject",
                                                   "effectiveDate", "recordedAt", "actor", "data",
                                                   "hash", "correctedBy", "retractedBy"}));
  EXPECT_EQ(simdjson::dom::array(f["accessLog"]).size(), 0u);
  // Known at a time before the corrections: neither they nor the second
  // household's registration exist.
  json = Run({"file", "household/H-F1", "--known-at", "2017-01-31T00:00:00Z"}, &rc);
  ASSERT_EQ(rc, 0) << json;
  simdjson::dom::element g = p.parse(json);
  EXPECT_EQ(simdjson::dom::array(g["events"]).size(), 26u);
  EXPECT_EQ(std::string_view(g["knownAt"]), "2017-01-31T00:00:00.000000Z");
}

TEST_F(HouseholdFileTest, CommandLineUsageAndNotFound) {
  int rc = 0;
  Run({"file", "dwelling/D-F1"}, &rc);
  EXPECT_EQ(rc, 2);
  Run({"file", "household/H-F1", "--format", "pdf"}, &rc);
  EXPECT_EQ(rc, 2);
  Run({"file", "household/H-F1", "--known-at", "yesterday"}, &rc);
  EXPECT_EQ(rc, 2);
  std::string out = Run({"file", "household/NOPE"}, &rc);
  EXPECT_EQ(rc, 5);
  EXPECT_EQ(out, "{\"error\":{\"code\":\"not_found\"}}\n");
  std::string none = dir_.path() + "/none";
  EXPECT_EQ(RunRelais({"--data", none, "file", "household/H-F1"}, &out), 5);
  EXPECT_NE(out.find("no_data_directory"), std::string::npos);
  EXPECT_EQ(RunRelais({"--data", none, "retention"}, &out), 5);
}

TEST_F(HouseholdFileTest, RetentionOnTheCommandLine) {
  int rc = 0;
  // H-F1 has a procedure under way (payment_order): not closed. H-F2 is
  // closed since 2017-03-01.
  std::string out = Run({"retention", "--as-of", "2019-03-01"}, &rc);
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(out,
            R"({"asOf":"2019-03-01","knownAt":null,"due":[{"subject":"household/H-F2","lastContact":"2017-03-01","dueOn":"2019-03-01","keepHistory":false}]})"
            "\n");
  out = Run({"retention", "--as-of", "2019-02-28"}, &rc);
  EXPECT_EQ(out, R"({"asOf":"2019-02-28","knownAt":null,"due":[]})" "\n");
  out = Run({"retention", "--as-of", "2019-03-01", "--years", "3"}, &rc);
  EXPECT_NE(out.find(R"("due":[])"), std::string::npos);
  // Usage errors: a D later than today, --known-at with --apply, bad values.
  Run({"retention", "--apply", "--as-of", "2999-01-01"}, &rc);
  EXPECT_EQ(rc, 2);
  Run({"retention", "--apply", "--known-at", "2019-01-01T00:00:00Z"}, &rc);
  EXPECT_EQ(rc, 2);
  Run({"retention", "--as-of", "2019-02-30"}, &rc);
  EXPECT_EQ(rc, 2);
  Run({"retention", "--years", "-1"}, &rc);
  EXPECT_EQ(rc, 2);
  // Apply: one erasure, then none (idempotent).
  out = Run({"retention", "--apply", "--as-of", "2019-03-01"}, &rc);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find(R"("subject":"household/H-F2")"), std::string::npos);
  EXPECT_NE(out.find(R"("applied":1})"), std::string::npos) << out;
  out = Run({"retention", "--apply", "--as-of", "2019-03-01"}, &rc);
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(out, R"({"asOf":"2019-03-01","knownAt":null,"due":[],"applied":0})" "\n");
  // The erased household's file: no personal field, the flag on the event.
  out = Run({"file", "household/H-F2"}, &rc);
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(out.find("Dominique"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("personalDataErased":true)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("erased":true)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("type":"PersonalDataErased")"), std::string::npos);
  out = Run({"verify"}, &rc);
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(HouseholdFileTest, OverHttpRolesJournalAndRetention) {
  std::string admin = testing::AddToken(data_, "adm", "admin");
  std::string auditor = testing::AddToken(data_, "aud", "auditor");
  std::string coord_lille = testing::AddToken(data_, "col", "coordinator", "lille");
  std::string coord_sud = testing::AddToken(data_, "cos", "coordinator", "sud");
  std::string sw = testing::AddToken(data_, "sw", "social_worker", "", "AES du Nord");
  std::string sw_other = testing::AddToken(data_, "swo", "social_worker", "", "Autre association");
  std::string tenancy = testing::AddToken(data_, "ten", "tenancy_staff", "lille");
  std::string evaluator = testing::AddToken(data_, "eva", "evaluator");
  testing::ServerProcess server(data_);
  ASSERT_TRUE(server.Start());
  const std::string path = "/v1/streams/household%2FH-F1/file";
  auto get = [&](const std::string& token, const std::string& target = "") {
    return Http(server.port(), "GET", target.empty() ? path : target, "", token);
  };
  EXPECT_EQ(get(tenancy).status, 403);
  EXPECT_EQ(get(evaluator).status, 403);
  EXPECT_EQ(get(coord_sud).status, 403);
  EXPECT_EQ(get(sw_other).status, 403);
  EXPECT_EQ(get("").status, 401);
  auto a = get(admin);
  ASSERT_EQ(a.status, 200) << a.body;
  simdjson::dom::parser p;
  simdjson::dom::element f = p.parse(a.body);
  // The four refused reads came before: journaled, with role, org, endpoint.
  simdjson::dom::array log = f["accessLog"];
  ASSERT_EQ(log.size(), 4u) << a.body;
  simdjson::dom::element e0 = log.at(0);
  EXPECT_EQ(Keys(e0), (std::vector<std::string>{"at", "role", "org", "endpoint", "allowed"}));
  EXPECT_EQ(std::string_view(e0["role"]), "tenancy_staff");
  EXPECT_EQ(std::string_view(e0["org"]), "lille");
  EXPECT_EQ(std::string_view(e0["endpoint"]), "/v1/streams/file");
  EXPECT_FALSE(bool(e0["allowed"]));
  EXPECT_EQ(std::string_view(log.at(3)["org"]), "Autre association");
  // The admin's read is journaled too: the next file lists it.
  EXPECT_EQ(get(coord_lille).status, 200);
  auto s = get(sw);
  ASSERT_EQ(s.status, 200) << s.body;
  simdjson::dom::element g = p.parse(s.body);
  simdjson::dom::array log2 = g["accessLog"];
  ASSERT_EQ(log2.size(), 6u);
  EXPECT_EQ(std::string_view(log2.at(4)["role"]), "admin");
  EXPECT_TRUE(bool(log2.at(4)["allowed"]));
  EXPECT_EQ(std::string_view(log2.at(5)["role"]), "coordinator");
  // A status read is in the household's journal too.
  EXPECT_EQ(get(auditor, "/v1/streams/household%2FH-F1/status").status, 200);
  auto h = get(auditor, path + "?format=html");
  ASSERT_EQ(h.status, 200);
  EXPECT_NE(h.headers["content-type"].find("text/html"), std::string::npos);
  EXPECT_NE(h.body.find("consultation de la situation"), std::string::npos);
  EXPECT_EQ(get(auditor, path + "?format=pdf").status, 400);
  EXPECT_EQ(get(auditor, path + "?knownAt=nope").status, 400);
  EXPECT_EQ(get(auditor, "/v1/streams/household%2FNOPE/file").status, 404);
  EXPECT_EQ(get(auditor, "/v1/streams/dwelling%2FD-F1/file").status, 404);
  EXPECT_EQ(Http(server.port(), "POST", path, "", admin).status, 405);

  // Retention: admin and auditor read it; only the admin applies it.
  auto r = get(auditor, "/v1/retention?asOf=2019-03-01");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("subject":"household/H-F2")"), std::string::npos);
  EXPECT_EQ(get(coord_lille, "/v1/retention").status, 403);
  EXPECT_EQ(get(evaluator, "/v1/retention").status, 403);
  EXPECT_EQ(get(admin, "/v1/retention?asOf=2019-13-01").status, 400);
  EXPECT_EQ(Http(server.port(), "POST", "/v1/retention?asOf=2019-03-01", "", auditor).status, 403);
  EXPECT_EQ(Http(server.port(), "POST", "/v1/retention?asOf=2999-01-01", "", admin).status, 400);
  EXPECT_EQ(
      Http(server.port(), "POST", "/v1/retention?knownAt=2019-01-01T00:00:00Z", "", admin).status,
      400);
  auto applied = Http(server.port(), "POST", "/v1/retention?asOf=2019-03-01", "", admin);
  ASSERT_EQ(applied.status, 200) << applied.body;
  EXPECT_NE(applied.body.find(R"("applied":1})"), std::string::npos) << applied.body;
  applied = Http(server.port(), "POST", "/v1/retention?asOf=2019-03-01", "", admin);
  EXPECT_EQ(applied.body, R"({"asOf":"2019-03-01","knownAt":null,"due":[],"applied":0})" "\n");
  EXPECT_EQ(Http(server.port(), "DELETE", "/v1/retention", "", admin).status, 405);
  EXPECT_EQ(server.Stop(), 0);
  // The command line reads the same journal.
  int rc = 0;
  std::string cli = Run({"file", "household/H-F1"}, &rc);
  ASSERT_EQ(rc, 0);
  simdjson::dom::element c = p.parse(cli);
  EXPECT_GE(simdjson::dom::array(c["accessLog"]).size(), 9u);
}

// ---------------------------------------------------------------------------
// The page in Chromium.

TEST_F(HouseholdFileTest, HtmlReadInHeadlessChromiumHasOnlyFrenchWordsAndEveryEvent) {
  auto chromium = testing::HeadlessChromium::Find(dir_.path() + "/chromium-profile");
  if (!chromium)
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it; CI has it)";
  // Some reads first, so that the page lists who consulted the file.
  {
    std::string admin = testing::AddToken(data_, "adm", "admin");
    std::string sw = testing::AddToken(data_, "sw", "social_worker", "", "AES du Nord");
    testing::ServerProcess server(data_);
    ASSERT_TRUE(server.Start());
    EXPECT_EQ(Http(server.port(), "GET", "/v1/streams/household%2FH-F1/status", "", sw).status, 200);
    EXPECT_EQ(Http(server.port(), "GET", "/v1/streams/household%2FH-F1/events", "", admin).status,
              200);
    EXPECT_EQ(server.Stop(), 0);
  }
  int rc = 0;
  std::string html = Run({"file", "household/H-F1", "--format", "html"}, &rc);
  ASSERT_EQ(rc, 0);
  std::string json = Run({"file", "household/H-F1"}, &rc);
  ASSERT_EQ(rc, 0);
  testing::ExpectSelfContainedPrintablePage(html);

  const std::string page = dir_.path() + "/file.html";
  auto rendered = chromium->Render(html, page);
  ASSERT_TRUE(rendered.ok()) << rendered.status().message();
  const std::string& dom = *rendered;
  ASSERT_NE(dom.find("Votre dossier"), std::string::npos) << dom.substr(0, 500);
  std::string text = testing::VisibleText(dom);

  // No JSON key, no internal code: no contract name of an event type, a
  // field or a snake_case value, no path, no braces.
  std::set<std::string> forbidden = {"household/", "/v1/", "{", "}", "null", "true", "false",
                                     "subject", "knownAt", "logPosition", "logHash", "accessLog",
                                     "correctedBy", "retractedBy", "personalDataErased"};
  for (int i = 0; i < kEventTypeCount; ++i) forbidden.insert(std::string(EventTypeName(EventType(i))));
  std::regex camel("\"([a-z]+[A-Z][A-Za-z]*)\":");
  for (auto it = std::sregex_iterator(json.begin(), json.end(), camel); it != std::sregex_iterator(); ++it)
    forbidden.insert((*it)[1]);
  for (const auto& word : forbidden)
    EXPECT_EQ(text.find(word), std::string::npos) << "the page shows '" << word << "'";
  std::smatch snake;
  EXPECT_FALSE(std::regex_search(text, snake, std::regex("\\b[a-z]+_[a-z_]+\\b")))
      << "an internal code on the page: " << snake.str();

  // Every event of the stream is there: one row each, with its French
  // words and date.
  simdjson::dom::parser p;
  simdjson::dom::element f = p.parse(json);
  simdjson::dom::array events = f["events"];
  size_t rows = 0;
  for (size_t pos = dom.find("<tr class=\"event"); pos != std::string::npos;
       pos = dom.find("<tr class=\"event", pos + 1))
    ++rows;
  EXPECT_EQ(rows, events.size());
  for (simdjson::dom::element e : events) {
    std::string_view type = e["type"];
    EXPECT_NE(text.find(std::string(labels::EventType(type))), std::string::npos) << type;
    std::string date = labels::FrenchDate(std::string_view(e["effectiveDate"]));
    EXPECT_NE(text.find(date), std::string::npos) << date;
  }
  // Dates as a household writes them; the corrections' reasons and both
  // versions; who read the file; the personal data as recorded.
  EXPECT_NE(text.find("5 janvier 2015"), std::string::npos);
  EXPECT_NE(text.find("1er mars 2015"), std::string::npos);
  EXPECT_NE(text.find("Gravite mal saisie"), std::string::npos);
  EXPECT_NE(text.find("avant, 2 ; maintenant, 3"), std::string::npos);
  EXPECT_NE(text.find("Saisie en double"), std::string::npos);
  EXPECT_NE(text.find("Camille Exemple"), std::string::npos);
  EXPECT_NE(text.find("11 juin 1984"), std::string::npos);
  EXPECT_NE(text.find("consultation de la situation"), std::string::npos);
  EXPECT_NE(text.find("consultation de l'historique"), std::string::npos);
  EXPECT_NE(text.find("AES du Nord"), std::string::npos);
  EXPECT_NE(text.find("412,50"), std::string::npos);

  // Printed: A4 pages (595 x 842 points), more than one with this history.
  std::string pdf = dir_.path() + "/file.pdf";
  Status printed = chromium->PrintToPdf(page, pdf);
  ASSERT_TRUE(printed.ok()) << printed.message();
  std::string bytes = testing::ReadFile(pdf);
  ASSERT_EQ(bytes.substr(0, 4), "%PDF");
  auto pages = testing::PdfPageSizes(bytes);
  ASSERT_FALSE(pages.empty());
  for (auto [width, height] : pages) {
    EXPECT_NEAR(width, 595.3, 1.0);
    EXPECT_NEAR(height, 841.9, 1.0);
  }
}

}  // namespace
}  // namespace relais
