// The tenancy record of a dwelling (evidence.md §0), rule by rule: which
// events are in it and which are not, with corrections that move a
// dwellingId away from or into the dwelling, retractions, and known-at.
// The expected members of every record are written out by hand below (the
// numbers of the events, as in Ev()), not derived from the code under test.
#include "relais/projections/tenancy.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <set>
#include <string>
#include <vector>

#include "relais/projections/visibility.h"
#include "support/test_support.h"

namespace relais::testing {
namespace {

using projections::Access;
using projections::Caller;

constexpr const char* kPhase0 = ",\"recordedAt\":\"2022-01-01T10:00:00Z\"";
constexpr const char* kPhase1 = ",\"recordedAt\":\"2022-02-01T10:00:00Z\"";
constexpr const char* kBetween = "2022-01-15T00:00:00Z";  // after phase 0, before phase 1

std::string Dwelling(int n, const std::string& id) {
  return Ev(n, "DwellingRegistered", "dwelling/" + id, "2019-01-01",
            R"({"territory":"lille","commune":"Lille","typology":"T3","adaptations":[],"rentCents":50000})",
            kPhase0);
}
std::string Household(int n, const std::string& id) {
  return Ev(n, "HouseholdRegistered", "household/" + id, "2019-01-02",
            R"({"territory":"lille","commune":"Lille","adults":1,"children":0,)"
            R"("headOfHousehold":{"name":"N","birthDate":"1980-05-01"}})",
            kPhase0);
}
std::string Occupy(int n, const std::string& h, const std::string& d, const std::string& date) {
  return Ev(n, "OccupancyStarted", "household/" + h, date,
            R"({"dwellingId":")" + d +
                R"(","contract":"direct_lease","rentCents":40000,"preexisting":true})",
            kPhase0);
}
std::string Leave(int n, const std::string& h, const std::string& d, const std::string& date) {
  return Ev(n, "OccupancyEnded", "household/" + h, date,
            R"({"dwellingId":")" + d + R"(","reason":"voluntary_departure","destination":"permanent"})",
            kPhase0);
}
std::string Alert(int n, const std::string& h, const std::string& d, const std::string& date) {
  return Ev(n, "ArrearsAlertRaised", "household/" + h, date,
            R"({"dwellingId":")" + d + R"(","amountCents":100000,"monthsUnpaid":2})", kPhase0);
}
std::string Plain(int n, const std::string& type, const std::string& h, const std::string& date,
                  const std::string& data = "{}") {
  return Ev(n, type, "household/" + h, date, data, kPhase0);
}
std::string Step(int n, const std::string& h, const std::string& date, const std::string& step,
                 const std::string& more = "") {
  return Ev(n, "EvictionStepRecorded", "household/" + h, date,
            R"({"step":")" + step + "\"" + more + "}", kPhase0);
}

class TenancyRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(f_.engine, nullptr);
    for (int i = 1; i <= 8; ++i) Add(Dwelling(i, "D" + std::to_string(i)));
    for (int i = 1; i <= 5; ++i) Add(Household(10 + i, "H" + std::to_string(i)));
    // H1: an occupancy of D1 with a whole arrears episode, then one of D2
    // with another episode; H2 moves into D1 after.
    Add(Occupy(101, "H1", "D1", "2020-01-01"));
    Add(Plain(102, "DifficultyReported", "H1", "2020-02-01", R"({"category":"neighbourhood","severity":1})"));
    Add(Alert(103, "H1", "D1", "2020-03-01"));
    Add(Plain(104, "RepaymentPlanAgreed", "H1", "2020-04-01", R"({"monthlyCents":10000,"months":10})"));
    Add(Plain(105, "FslAidDecided", "H1", "2020-05-01", R"({"granted":true,"amountCents":50000})"));
    Add(Plain(106, "CcapexReferred", "H1", "2020-05-15"));
    Add(Plain(107, "ArrearsCleared", "H1", "2020-06-01"));
    Add(Leave(108, "H1", "D1", "2020-12-31"));
    Add(Occupy(109, "H1", "D2", "2020-12-31"));
    Add(Alert(110, "H1", "D2", "2021-03-01"));
    Add(Plain(111, "RepaymentPlanAgreed", "H1", "2021-04-01", R"({"monthlyCents":10000,"months":10})"));
    Add(Plain(112, "ArrearsCleared", "H1", "2021-05-01"));
    Add(Occupy(201, "H2", "D1", "2021-01-01"));
    // H3: a procedure begun in an episode about D3 goes on after the arrears
    // are cleared, up to the judgment that closes it; the next procedure
    // begins in an episode about D4.
    Add(Occupy(301, "H3", "D3", "2019-06-01"));
    Add(Alert(302, "H3", "D3", "2020-01-10"));
    Add(Plain(303, "CcapexReferred", "H3", "2020-01-15"));
    Add(Step(304, "H3", "2020-02-01", "payment_order"));
    Add(Plain(305, "ArrearsCleared", "H3", "2020-03-01"));
    Add(Step(306, "H3", "2020-04-01", "summons", R"(,"hearingDate":"2020-05-01")"));
    Add(Step(307, "H3", "2020-06-01", "judgment_rejected"));
    Add(Leave(308, "H3", "D3", "2020-09-01"));
    Add(Occupy(309, "H3", "D4", "2020-09-01"));
    Add(Alert(310, "H3", "D4", "2021-01-10"));
    Add(Step(311, "H3", "2021-02-01", "payment_order"));
    // H4: an occupancy of D5 and an episode there, both moved to D6 by a
    // correction in phase 1.
    Add(Occupy(401, "H4", "D5", "2020-01-01"));
    Add(Alert(402, "H4", "D5", "2020-02-01"));
    Add(Plain(403, "RepaymentPlanAgreed", "H4", "2020-03-01", R"({"monthlyCents":10000,"months":10})"));
    // H5: a repayment plan of an episode about D7, retracted in phase 1, and
    // a retracted difficulty (not in the record, nor its retraction).
    Add(Occupy(501, "H5", "D7", "2020-01-01"));
    Add(Alert(502, "H5", "D7", "2020-02-01"));
    Add(Plain(503, "RepaymentPlanAgreed", "H5", "2020-03-01", R"({"monthlyCents":10000,"months":10})"));
    Add(Plain(504, "DifficultyReported", "H5", "2020-04-01", R"({"category":"isolation","severity":2})"));
  }

  void Phase1() {
    Add("[" +
        Ev(901, "EventCorrected", "household/H4", "2022-02-01",
           R"({"targetId":")" + IdOf(401) + R"(","data":{"dwellingId":"D6"},"reason":"mauvais logement"})",
           kPhase1) +
        "," +
        Ev(902, "EventCorrected", "household/H4", "2022-02-01",
           R"({"targetId":")" + IdOf(402) + R"(","data":{"dwellingId":"D6"},"reason":"mauvais logement"})",
           kPhase1) +
        "]");
    Add(Ev(903, "EventRetracted", "household/H5", "2022-02-01",
           R"({"targetId":")" + IdOf(503) + R"(","reason":"saisi par erreur"})", kPhase1));
    Add(Ev(904, "EventRetracted", "household/H5", "2022-02-01",
           R"({"targetId":")" + IdOf(504) + R"(","reason":"saisi par erreur"})", kPhase1));
    // A correction of an event outside D1's record: not in it.
    Add(Ev(905, "EventCorrected", "household/H1", "2022-02-01",
           R"({"targetId":")" + IdOf(102) + R"(","data":{"severity":2},"reason":"r"})", kPhase1));
    // A correction of a member of D1's record: in it.
    Add(Ev(906, "EventCorrected", "household/H1", "2022-02-01",
           R"({"targetId":")" + IdOf(104) + R"(","data":{"months":12},"reason":"r"})", kPhase1));
  }

  void Add(const std::string& json) {
    AppendOutcome o = Import(*f_.engine, json);
    ASSERT_EQ(o.kind, AppendOutcome::Kind::kAccepted) << OutcomeText(o) << "\n" << json;
  }

  // The event numbers of a record (Ev's n: the last 12 hex digits of the id).
  std::vector<int> Members(const std::string& dwelling, const char* known_at = nullptr) {
    projections::ViewTime t;
    if (known_at) t.known_at = ParseTimestamp(known_at);
    Subject s{StreamKind::kDwelling, "dwelling/" + dwelling};
    auto r = projections::BuildTenancyRecord(*f_.engine, s, t, DateFromCivil(2026, 1, 1));
    EXPECT_TRUE(r.ok()) << r.status().message();
    std::vector<int> out;
    if (!r.ok()) return out;
    Position last = 0;
    for (const auto& e : r->events) {
      EXPECT_GT(e.view.record.position, last) << "not in position order";
      last = e.view.record.position;
      out.push_back(static_cast<int>(std::stoi(FormatUuid(e.view.record.id).substr(24), nullptr, 16)));
    }
    return out;
  }

  EngineFixture f_;
};

TEST_F(TenancyRecordTest, DwellingIdEventsAndTheArrearsEpisodesOpenedAboutIt) {
  // D1: its registration, H1's occupancy, its alert and the episode's four
  // follow-ups, H1's departure, H2's occupancy. Not the difficulty (no
  // dwellingId, no episode type), not H1's registration, not D2's episode.
  EXPECT_EQ(Members("D1"), (std::vector<int>{1, 101, 103, 104, 105, 106, 107, 108, 201}));
  // D2: the second episode of H1 only.
  EXPECT_EQ(Members("D2"), (std::vector<int>{2, 109, 110, 111, 112}));
}

TEST_F(TenancyRecordTest, AProcedureBegunInTheEpisodeRunsToTheStepThatClosesIt) {
  // The summons and the judgment come after ArrearsCleared and are in; the
  // next procedure began in an episode about D4 and is not.
  EXPECT_EQ(Members("D3"), (std::vector<int>{3, 301, 302, 303, 304, 305, 306, 307, 308}));
  EXPECT_EQ(Members("D4"), (std::vector<int>{4, 309, 310, 311}));
}

TEST_F(TenancyRecordTest, CorrectionsMoveEventsBetweenRecordsFromTheirRecordedAtOn) {
  Phase1();
  // Known now: H4's occupancy and alert name D6, and so does the episode.
  EXPECT_EQ(Members("D5"), (std::vector<int>{5}));
  EXPECT_EQ(Members("D6"), (std::vector<int>{6, 401, 402, 403, 901, 902}));
  // Known before the corrections: as recorded then.
  EXPECT_EQ(Members("D5", kBetween), (std::vector<int>{5, 401, 402, 403}));
  EXPECT_EQ(Members("D6", kBetween), (std::vector<int>{6}));
  // The index names H4 for D6 though no original event of H4 does, after a
  // reopen too (it is stored, not rebuilt).
  auto refs = f_.engine->HouseholdsReferencing("D6");
  ASSERT_TRUE(refs.ok());
  EXPECT_EQ(*refs, std::vector<std::string>{"H4"});
  f_.engine = f_.Reopen();
  ASSERT_NE(f_.engine, nullptr);
  EXPECT_EQ(Members("D6"), (std::vector<int>{6, 401, 402, 403, 901, 902}));
}

TEST_F(TenancyRecordTest, RetractedMembersStayWithTheirRetraction) {
  Phase1();
  EXPECT_EQ(Members("D7"), (std::vector<int>{7, 501, 502, 503, 903}));
  // A correction of a member is in, of a non-member is not.
  EXPECT_EQ(Members("D1"), (std::vector<int>{1, 101, 103, 104, 105, 106, 107, 108, 201, 906}));
  std::string json;
  {
    projections::ViewTime t;
    auto j = projections::TenancyJson(*f_.engine, {StreamKind::kDwelling, "dwelling/D7"}, t,
                                      DateFromCivil(2026, 1, 1), false);
    ASSERT_TRUE(j.ok());
    json = *j;
  }
  simdjson::dom::parser p;
  simdjson::dom::element root = p.parse(json);
  for (auto e : root["events"].get_array()) {
    std::string_view id = e["id"].get_string();
    if (id == IdOf(503)) {
      EXPECT_EQ(std::string_view(e["retractedBy"].get_string()), IdOf(903));
    } else {
      EXPECT_TRUE(e["retractedBy"].is_null()) << id;
    }
  }
}

TEST_F(TenancyRecordTest, KnownAtLeavesOutWhatWasRecordedLater) {
  Phase1();
  EXPECT_EQ(Members("D7", kBetween), (std::vector<int>{7, 501, 502, 503}));
  EXPECT_EQ(Members("D1", kBetween), (std::vector<int>{1, 101, 103, 104, 105, 106, 107, 108, 201}));
  // Before anything of the dwelling was recorded: not found.
  projections::ViewTime t;
  t.known_at = ParseTimestamp("2021-01-01T00:00:00Z");
  auto r = projections::BuildTenancyRecord(*f_.engine, {StreamKind::kDwelling, "dwelling/D1"}, t,
                                           DateFromCivil(2026, 1, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST_F(TenancyRecordTest, UnknownDwellingIsNotFoundAndOtherSubjectsAreRefused) {
  projections::ViewTime t;
  auto r = projections::BuildTenancyRecord(*f_.engine, {StreamKind::kDwelling, "dwelling/NOPE"}, t,
                                           DateFromCivil(2026, 1, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  r = projections::BuildTenancyRecord(*f_.engine, {StreamKind::kHousehold, "household/H1"}, t,
                                      DateFromCivil(2026, 1, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TenancyRecordTest, OccupanciesAreTheDwellingStatus) {
  projections::ViewTime t;
  Subject d1{StreamKind::kDwelling, "dwelling/D1"};
  auto r = projections::BuildTenancyRecord(*f_.engine, d1, t, DateFromCivil(2026, 1, 1));
  ASSERT_TRUE(r.ok());
  auto status = projections::StatusJson(*f_.engine, d1, t, DateFromCivil(2026, 1, 1), false);
  ASSERT_TRUE(status.ok());
  simdjson::dom::parser p;
  simdjson::dom::element root = p.parse(*status);
  EXPECT_EQ(r->occupancies_json, std::string(simdjson::minify(root["occupancies"])));
  EXPECT_NE(r->occupancies_json.find("\"household\":\"H1\""), std::string::npos);
  EXPECT_NE(r->occupancies_json.find("\"household\":\"H2\""), std::string::npos);
}

// Tenancy staff read the record without the reasons of corrections; a
// coordinator of another territory and a social worker not at all.
TEST_F(TenancyRecordTest, RolesFilterLikeHistory) {
  Phase1();
  Subject d6{StreamKind::kDwelling, "dwelling/D6"};
  projections::ViewTime t;
  Date today = DateFromCivil(2026, 1, 1);
  Caller staff{"staff", Role::kTenancyStaff, "lille", ""};
  auto v = projections::TenancyFor(*f_.engine, staff, d6, t, today);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->access, Access::kFiltered);
  std::string json = projections::RenderTenancyJson(v->record, v->shown, v->filtered, false);
  EXPECT_EQ(json.find("mauvais logement"), std::string::npos) << json;
  EXPECT_NE(json.find(IdOf(901)), std::string::npos) << json;
  EXPECT_NE(json.find("\"filtered\":true"), std::string::npos);

  Caller admin{"admin", Role::kAdmin, "", ""};
  v = projections::TenancyFor(*f_.engine, admin, d6, t, today);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->access, Access::kAllowed);
  json = projections::RenderTenancyJson(v->record, v->shown, v->filtered, false);
  EXPECT_NE(json.find("mauvais logement"), std::string::npos);

  for (const Caller& c : {Caller{"c", Role::kCoordinator, "sud", ""},
                          Caller{"w", Role::kSocialWorker, "", "AES"},
                          Caller{"e", Role::kEvaluator, "", ""},
                          Caller{"s", Role::kTenancyStaff, "flandres", ""}}) {
    v = projections::TenancyFor(*f_.engine, c, d6, t, today);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->access, Access::kForbidden) << RoleName(c.role);
  }
}

}  // namespace
}  // namespace relais::testing
