// GET /v1/caseload (projections/caseload.h) and GET /v1/schema through the
// socket-free handlers: the four actions at their boundaries, the territory
// scope, paging, and the role refusals; the schema as the codec reads it.
#include <gtest/gtest.h>
#include <simdjson.h>

#include "relais/event.h"
#include "relais/projections/labels.h"
#include "server/router.h"
#include "server/state.h"
#include "server/token_store.h"
#include "support/test_support.h"

namespace relais::server {
namespace {

using relais::testing::Ev;
using relais::testing::TempDir;

class CaseloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokens_["admin"] = Token("admin", Role::kAdmin, "", "");
    tokens_["coord"] = Token("coord", Role::kCoordinator, "lille", "");
    tokens_["coord_sud"] = Token("coord_sud", Role::kCoordinator, "sud", "");
    tokens_["staff"] = Token("staff", Role::kTenancyStaff, "lille", "");
    tokens_["worker"] = Token("worker", Role::kSocialWorker, "", "Asso");
    tokens_["evaluator"] = Token("evaluator", Role::kEvaluator, "", "");
    tokens_["auditor"] = Token("auditor", Role::kAuditor, "", "");
    ServerOptions o;
    o.data_dir = dir_.path();
    auto s = OpenState(o);
    ASSERT_TRUE(s.ok()) << s.status().message();
    s_ = std::move(*s);
    for (const char* d : {"D1", "D2", "D3"})
      Add("DwellingRegistered", std::string("dwelling/") + d, "2019-01-01",
          R"({"territory":"lille","commune":"Lille","typology":"T2","adaptations":[],"rentCents":40000})");
    // H1: support since 2020-02-01, never reviewed.
    Register("H1", "lille");
    Consent("H1");
    Add("SupportStarted", "household/H1", "2020-02-01",
        R"({"episodeId":"E1","kind":"asll","association":"Asso"})");
    // H2: a sublease since 2020-03-20, no slide review.
    Register("H2", "lille");
    Add("OccupancyStarted", "household/H2", "2020-03-20",
        R"({"dwellingId":"D1","contract":"sublease","association":"Asso","rentCents":40000,"preexisting":true})");
    // H3: arrears alerted 2021-01-16, no CCAPEX referral.
    Register("H3", "lille");
    Add("OccupancyStarted", "household/H3", "2020-01-12",
        R"({"dwellingId":"D2","contract":"direct_lease","rentCents":36000,"preexisting":true})");
    Add("ArrearsAlertRaised", "household/H3", "2021-01-16",
        R"({"dwellingId":"D2","amountCents":108000,"monthsUnpaid":3})");
    // H4: a conditional CAL decision due 2021-06-01, never resolved.
    Register("H4", "lille");
    Add("HouseholdReferred", "household/H4", "2021-01-02",
        R"({"referralId":"R1","track":"access","source":"siao","referrer":"SIAO"})");
    Add("ReferralDecided", "household/H4", "2021-01-03", R"({"referralId":"R1","outcome":"accepted"})");
    Add("CalApplicationFiled", "household/H4", "2021-01-04",
        R"({"referralId":"R1","dwellingId":"D3","sessionDate":"2021-02-01"})");
    Add("CalDecisionRecorded", "household/H4", "2021-02-01",
        R"({"referralId":"R1","dwellingId":"D3","decision":"attribution_conditional",)"
        R"("condition":"justificatif de ressources","conditionDeadline":"2021-06-01"})");
    // H5: like H1, in the south.
    Register("H5", "sud");
    Consent("H5");
    Add("SupportStarted", "household/H5", "2020-02-01",
        R"({"episodeId":"E1","kind":"asll","association":"Asso"})");
    // H6: nothing to do.
    Register("H6", "lille");
  }
  std::string Token(const std::string& name, Role role, const std::string& territory,
                    const std::string& org) {
    TokenEntry e{name, role, territory, org};
    auto secret = AddToken(dir_.path(), e);
    EXPECT_TRUE(secret.ok());
    return secret.ok() ? *secret : "";
  }
  void Add(const std::string& type, const std::string& subject, const std::string& date,
           const std::string& data) {
    Response r = Get("admin", "", http::verb::post, Ev(++n_, type, subject, date, data));
    ASSERT_EQ(r.status, http::status::created) << type << " " << subject << ": " << r.body;
  }
  void Register(const std::string& id, const std::string& territory) {
    Add("HouseholdRegistered", "household/" + id, "2020-01-10",
        R"({"territory":")" + territory +
            R"(","commune":"C","adults":1,"children":0,"headOfHousehold":{"name":"N","birthDate":"1980-05-01"}})");
  }
  void Consent(const std::string& id) {
    Add("ConsentRecorded", "household/" + id, "2020-01-10", R"({"purpose":"support","given":true})");
  }
  Response Get(const std::string& who, const std::string& target,
               http::verb m = http::verb::get, std::string body = "") {
    Request req;
    req.method = m;
    req.target = m == http::verb::post ? "/v1/events" : target;
    req.headers = {{"Authorization", "Bearer " + tokens_[who]}};
    req.body = std::move(body);
    return HandleRequest(*s_, std::move(req));
  }
  // subject -> its action codes, from one caseload body.
  std::map<std::string, std::string> Actions(const std::string& body) {
    std::map<std::string, std::string> out;
    simdjson::dom::parser p;
    auto doc = p.parse(body);
    EXPECT_FALSE(doc.error()) << body;
    if (doc.error()) return out;
    for (auto h : doc["households"].get_array()) {
      std::string codes;
      for (auto a : h["actions"].get_array())
        codes += std::string(a["code"].get_string().value()) + ",";
      out[std::string(h["subject"].get_string().value())] = codes;
    }
    return out;
  }

  TempDir dir_;
  std::map<std::string, std::string> tokens_;
  std::unique_ptr<State> s_;
  int n_ = 0;
};

TEST_F(CaseloadTest, EachActionAtItsBoundary) {
  // The day before each is due: nothing; on the day: the action.
  auto before = Actions(Get("coord", "/v1/caseload?asOf=2020-08-01").body);
  EXPECT_EQ(before["household/H1"], "");  // 182 days after 2020-02-01 is 2020-08-01
  auto h1 = Actions(Get("coord", "/v1/caseload?asOf=2020-08-02").body);
  EXPECT_EQ(h1["household/H1"], "situation_review_overdue,");
  EXPECT_EQ(Actions(Get("coord", "/v1/caseload?asOf=2021-09-19").body)["household/H2"], "");
  EXPECT_EQ(Actions(Get("coord", "/v1/caseload?asOf=2021-09-20").body)["household/H2"],
            "slide_review_missing,");
  EXPECT_EQ(Actions(Get("coord", "/v1/caseload?asOf=2021-03-15").body)["household/H3"], "");
  EXPECT_EQ(Actions(Get("coord", "/v1/caseload?asOf=2021-03-16").body)["household/H3"],
            "ccapex_referral_missing,");
  EXPECT_EQ(Actions(Get("coord", "/v1/caseload?asOf=2021-06-01").body)["household/H4"], "");
  EXPECT_EQ(Actions(Get("coord", "/v1/caseload?asOf=2021-06-02").body)["household/H4"],
            "conditional_decision_overdue,");
  auto now = Actions(Get("coord", "/v1/caseload").body);
  EXPECT_EQ(now["household/H6"], "");
  EXPECT_EQ(now.count("household/H5"), 0u);  // another territory
  EXPECT_EQ(now.size(), 5u);
}

TEST_F(CaseloadTest, WhatClearsAnAction) {
  // Judged once before the events that clear the actions: the server's row
  // cache must see each stream change.
  auto warm = Actions(Get("coord", "/v1/caseload?asOf=2021-12-01").body);
  EXPECT_EQ(warm["household/H1"], "situation_review_overdue,");
  EXPECT_EQ(warm["household/H2"], "slide_review_missing,");
  EXPECT_EQ(warm["household/H3"], "ccapex_referral_missing,");
  EXPECT_EQ(warm["household/H4"], "conditional_decision_overdue,");
  Add("ObjectivesSet", "household/H1", "2020-03-01",
      R"({"episodeId":"E1","objectives":[{"objectiveId":"O1","domain":"budget"}]})");
  Add("SituationReviewed", "household/H1", "2021-07-01",
      R"({"episodeId":"E1","progress":[{"objectiveId":"O1","status":"in_progress"}]})");
  // An unfavourable review does not clear the slide review; a favourable one does.
  Add("SlideReviewHeld", "household/H2", "2020-12-01", R"({"outcome":"unfavourable"})");
  EXPECT_EQ(Actions(Get("coord", "/v1/caseload?asOf=2021-12-01").body)["household/H2"],
            "slide_review_missing,");
  Add("SlideReviewHeld", "household/H2", "2021-01-01", R"({"outcome":"favourable"})");
  Add("CcapexReferred", "household/H3", "2021-02-01", "{}");
  Add("CalConditionResolved", "household/H4", "2021-05-01", R"({"dwellingId":"D3","met":true})");
  auto a = Actions(Get("coord", "/v1/caseload?asOf=2021-12-01").body);
  EXPECT_EQ(a["household/H1"], "");  // reviewed 153 days before
  EXPECT_EQ(a["household/H2"], "");
  EXPECT_EQ(a["household/H3"], "");
  EXPECT_EQ(a["household/H4"], "");
}

TEST_F(CaseloadTest, KnownAtSeesTheLogOfThen) {
  Response now = Get("coord", "/v1/caseload?asOf=2021-06-30");
  ASSERT_EQ(now.status, http::status::ok) << now.body;
  EXPECT_NE(now.body.find("\"knownAt\":null"), std::string::npos);
  EXPECT_NE(now.body.find("\"total\":5"), std::string::npos) << now.body;
  // Known before the first household was registered: no household.
  Response then = Get("coord", "/v1/caseload?knownAt=2000-01-01T00:00:00Z");
  ASSERT_EQ(then.status, http::status::ok) << then.body;
  EXPECT_NE(then.body.find("\"households\":[]"), std::string::npos) << then.body;
}

TEST_F(CaseloadTest, PagesFollowTheCursor) {
  Response p1 = Get("coord", "/v1/caseload?limit=2");
  ASSERT_EQ(p1.status, http::status::ok);
  auto a1 = Actions(p1.body);
  ASSERT_EQ(a1.size(), 2u);
  EXPECT_EQ(a1.begin()->first, "household/H1");
  EXPECT_NE(p1.body.find("\"next\":\"household/H2\""), std::string::npos) << p1.body;
  auto a2 = Actions(Get("coord", "/v1/caseload?limit=2&cursor=household%2FH2").body);
  ASSERT_EQ(a2.size(), 2u);
  EXPECT_EQ(a2.begin()->first, "household/H3");
  Response last = Get("coord", "/v1/caseload?limit=2&cursor=household%2FH4");
  EXPECT_EQ(Actions(last.body).size(), 1u);
  EXPECT_NE(last.body.find("\"next\":null"), std::string::npos) << last.body;
  // Only the households with an action.
  Response needs = Get("coord", "/v1/caseload?needsAction=true");
  EXPECT_EQ(Actions(needs.body).count("household/H6"), 0u);
  EXPECT_EQ(Actions(needs.body).size(), 4u);
  for (const char* bad : {"limit=0", "limit=501", "limit=x", "cursor=dwelling%2FD1",
                          "needsAction=yes", "asOf=2021-13-01"})
    EXPECT_EQ(Get("admin", std::string("/v1/caseload?territory=lille&") + bad).status,
              http::status::bad_request)
        << bad;
  EXPECT_EQ(Get("admin", "/v1/caseload?territory=paris").status, http::status::bad_request);
}

TEST_F(CaseloadTest, OnlyAdminAndTheTerritorysCoordinator) {
  EXPECT_EQ(Get("admin", "/v1/caseload?territory=sud").status, http::status::ok);
  EXPECT_EQ(Get("admin", "/v1/caseload").status, http::status::bad_request);  // which territory?
  EXPECT_EQ(Get("coord", "/v1/caseload?territory=lille").status, http::status::ok);
  EXPECT_EQ(Get("coord", "/v1/caseload?territory=sud").status, http::status::forbidden);
  auto sud = Actions(Get("coord_sud", "/v1/caseload").body);
  EXPECT_EQ(sud.size(), 1u);
  EXPECT_EQ(sud["household/H5"], "situation_review_overdue,");
  for (const char* who : {"staff", "worker", "evaluator", "auditor"}) {
    Response r = Get(who, "/v1/caseload?territory=lille");
    EXPECT_EQ(r.status, http::status::forbidden) << who << " " << r.body;
    EXPECT_EQ(r.body.find("household/"), std::string::npos) << who;
  }
  // Each listed household is journaled as read.
  std::string journal = relais::testing::ReadFile(dir_.path() + "/access-journal.ndjson");
  EXPECT_NE(journal.find("\"subject\":\"household/H5\",\"endpoint\":\"/v1/caseload\""),
            std::string::npos)
      << journal;
}

TEST_F(CaseloadTest, TransferredHouseholdLeavesItsFormerCoordinator) {
  Add("CaseTransferred", "household/H1", "2021-01-01", R"({"territory":"sud"})");
  // Even as of a date before the transfer: the scope is judged now.
  EXPECT_EQ(Actions(Get("coord", "/v1/caseload?asOf=2020-12-01").body).count("household/H1"), 0u);
  EXPECT_EQ(Actions(Get("coord_sud", "/v1/caseload?asOf=2020-12-01").body)["household/H1"],
            "situation_review_overdue,");
}

TEST_F(CaseloadTest, SchemaIsTheCodecsWithFrenchLabels) {
  for (const char* who : {"admin", "staff", "worker", "evaluator", "auditor"})
    EXPECT_EQ(Get(who, "/v1/schema").status, http::status::ok) << who;
  Request anon;
  anon.target = "/v1/schema";
  EXPECT_EQ(HandleRequest(*s_, anon).status, http::status::unauthorized);
  Response r = Get("staff", "/v1/schema");
  simdjson::dom::parser p;
  auto doc = p.parse(r.body);
  ASSERT_FALSE(doc.error()) << r.body.substr(0, 200);
  size_t n = 0;
  for (auto t : doc["eventTypes"].get_array()) {
    std::string_view type = t["type"].get_string().value();
    auto et = EventTypeFromName(type);
    ASSERT_TRUE(et.has_value()) << type;
    EXPECT_EQ(static_cast<int>(*et), static_cast<int>(n)) << type;  // schema order
    std::string_view label = t["label"].get_string().value();
    EXPECT_TRUE(labels::HasEventType(type)) << type;
    EXPECT_NE(label, type);
    ++n;
  }
  EXPECT_EQ(n, static_cast<size_t>(kEventTypeCount));
  // CalDecisionRecorded as events.md declares it.
  auto cal = doc["eventTypes"].at(static_cast<size_t>(EventType::kCalDecisionRecorded));
  std::map<std::string, std::string> fields;
  for (auto f : cal["fields"].get_array()) {
    std::string name(f["name"].get_string().value());
    fields[name] = std::string(f["type"].get_string().value()) +
                   (f["required"].get_bool().value() ? "!" : "?");
    if (name == "decision") {
      std::string values;
      for (auto v : f["values"].get_array()) values += std::string(v["value"].get_string().value()) + ",";
      EXPECT_EQ(values,
                "attribution,attribution_ranked,attribution_conditional,non_attribution,inadmissible,");
      EXPECT_EQ(f["enum"].get_string().value(), "CalDecision");
    }
  }
  EXPECT_EQ(fields["referralId"], "text!");
  EXPECT_EQ(fields["dwellingId"], "text!");
  EXPECT_EQ(fields["decision"], "enum!");
  EXPECT_EQ(fields["rank"], "integer?");
  EXPECT_EQ(fields["conditionDeadline"], "date?");
  // Nested objects and personal data: HouseholdRegistered.headOfHousehold.
  auto reg = doc["eventTypes"].at(0);
  bool head = false;
  for (auto f : reg["fields"].get_array()) {
    if (f["name"].get_string().value() != "headOfHousehold") continue;
    head = true;
    EXPECT_EQ(f["type"].get_string().value(), "object");
    EXPECT_TRUE(f["personal"].get_bool().value());
    EXPECT_EQ(f["fields"].get_array().size(), 2u);
  }
  EXPECT_TRUE(head);
  EXPECT_FALSE(doc["eventTypes"].at(static_cast<size_t>(EventType::kPersonalDataErased))["recordable"]
                   .get_bool()
                   .value());
  // The catalogue's refusal codes come along, in French.
  EXPECT_EQ(doc["refusals"]["consent_required"].get_string().value(),
            labels::RefusalCode("consent_required"));
  EXPECT_EQ(doc["values"]["CaseloadAction.ccapex_referral_missing"].get_string().error(),
            simdjson::SUCCESS);
}

}  // namespace
}  // namespace relais::server
