// The case rules, one test per refusal code at least (events.md §2-§4).
// Each test reads: given these events, when this event, then accepted or
// refused with code X.
#include <gtest/gtest.h>

#include "relais/domain.h"
#include "support/test_support.h"

namespace relais::testing {
namespace {

class RulesTest : public ::testing::Test {
 protected:
  // Appends and expects acceptance.
  void Given(const std::string& type, const std::string& subject, const std::string& date,
             const std::string& data) {
    AppendOutcome o = Import(*f_.engine, Ev(next_++, type, subject, date, data));
    ASSERT_EQ(o.kind, AppendOutcome::Kind::kAccepted)
        << type << " on " << subject << " " << date << ": " << OutcomeText(o);
  }
  // Appends and returns "accepted" or the refusal code.
  std::string When(const std::string& type, const std::string& subject, const std::string& date,
                   const std::string& data, const std::string& extra = "") {
    last_ = Import(*f_.engine, Ev(next_++, type, subject, date, data, extra));
    return Code(last_);
  }
  std::string WhenRaw(const std::string& json) {
    last_ = Import(*f_.engine, json);
    return Code(last_);
  }
  static std::string Code(const AppendOutcome& o) {
    switch (o.kind) {
      case AppendOutcome::Kind::kAccepted: return "accepted";
      case AppendOutcome::Kind::kDuplicate: return "duplicate";
      case AppendOutcome::Kind::kRefused: return o.refusal.code;
      case AppendOutcome::Kind::kError: return "error: " + o.error.message();
    }
    return "?";
  }

  // Common histories.
  void Dwelling(const std::string& id, const std::string& date = "2015-01-01") {
    Given("DwellingRegistered", "dwelling/" + id, date,
          R"({"territory":"lille","commune":"Roubaix","typology":"T3","adaptations":[],"rentCents":40000})");
  }
  void Household(const std::string& id, const std::string& date = "2015-01-02") {
    Given("HouseholdRegistered", "household/" + id, date,
          R"({"territory":"lille","commune":"Roubaix","adults":1,"children":0,"headOfHousehold":{"name":"Test","birthDate":"1980-01-01"}})");
  }
  void Consent(const std::string& h, const std::string& date, bool given = true) {
    Given("ConsentRecorded", "household/" + h, date,
          std::string(R"({"purpose":"support","given":)") + (given ? "true" : "false") + "}");
  }
  // Household H with an accepted access referral R1 and an attribution on D.
  void Attributed(const std::string& h, const std::string& d) {
    Dwelling(d);
    Household(h);
    Given("HouseholdReferred", "household/" + h, "2015-01-03",
          R"({"referralId":"R1","track":"access","source":"siao","referrer":"SIAO"})");
    Given("ReferralDecided", "household/" + h, "2015-01-04", R"({"referralId":"R1","outcome":"accepted"})");
    Given("CalApplicationFiled", "household/" + h, "2015-01-05",
          R"({"referralId":"R1","dwellingId":")" + d + R"(","sessionDate":"2015-01-10"})");
    Given("CalDecisionRecorded", "household/" + h, "2015-01-10",
          R"({"referralId":"R1","dwellingId":")" + d + R"(","decision":"attribution"})");
  }
  void Housed(const std::string& h, const std::string& d, const std::string& contract = "sublease",
              const std::string& date = "2015-02-01") {
    Given("OccupancyStarted", "household/" + h, date,
          R"({"dwellingId":")" + d + R"(","contract":")" + contract +
              R"(","association":"AES","rentCents":40000,"preexisting":true})");
  }
  void Arrears(const std::string& h, const std::string& d, const std::string& date) {
    Given("ArrearsAlertRaised", "household/" + h, date,
          R"({"dwellingId":")" + d + R"(","amountCents":100000,"monthsUnpaid":3})");
  }
  void Step(const std::string& h, const std::string& date, const std::string& step,
            const std::string& extra = "") {
    Given("EvictionStepRecorded", "household/" + h, date, R"({"step":")" + step + "\"" + extra + "}");
  }
  std::string WhenStep(const std::string& h, const std::string& date, const std::string& step,
                       const std::string& extra = "") {
    return When("EvictionStepRecorded", "household/" + h, date,
                R"({"step":")" + step + "\"" + extra + "}");
  }

  EngineFixture f_;
  int next_ = 1;
  AppendOutcome last_;
};

// --- envelope and conflicts ------------------------------------------------

TEST_F(RulesTest, MalformedCases) {
  Household("H1");
  const char* bad[] = {
      R"({"id":"00000000-0000-4000-8000-0000000000aa","type":"ConsentRecorded","subject":"household/H1","effectiveDate":"2015-02-30","data":{"purpose":"support","given":true}})",
      R"({"id":"00000000-0000-4000-8000-0000000000aa","type":"ConsentRecorded","subject":"household/H1","effectiveDate":"2015-02-03","data":{"purpose":"support","given":true,"x":1}})",
      R"({"id":"00000000-0000-4000-8000-0000000000aa","type":"ConsentRecorded","subject":"household/H1","effectiveDate":"2015-02-03","data":{"purpose":"support"}})",
      R"({"id":"00000000-0000-4000-8000-0000000000aa","type":"ConsentRecorded","subject":"household/H1","effectiveDate":"2015-02-03","data":{"purpose":"nope","given":true}})",
      R"({"id":"00000000-0000-4000-8000-0000000000aa","type":"DifficultyReported","subject":"household/H1","effectiveDate":"2015-02-03","data":{"category":"other","severity":2.0}})",
      R"({"id":"00000000-0000-4000-8000-0000000000aa","type":"DifficultyReported","subject":"household/H1","effectiveDate":"2015-02-03","data":{"category":"other","severity":4}})",
      R"({"id":"00000000-0000-4000-8000-0000000000aa","type":"DwellingReserved","subject":"household/H1","effectiveDate":"2015-02-03","data":{"convention":"x"}})",
      R"({"id":"00000000-0000-4000-8000-0000000000aa","type":"StaffTrainingHeld","subject":"territory/paris","effectiveDate":"2015-02-03","data":{"topic":"x","attendees":1}})",
      R"({"id":"00000000-0000-4000-8000-0000000000aa","type":"EvictionStepRecorded","subject":"household/H1","effectiveDate":"2015-02-03","data":{"step":"summons"}})",
      R"({"id":"00000000-0000-4000-8000-0000000000aa","type":"ConsentRecorded","subject":"household/H1","effectiveDate":"2015-02-03","data":{"purpose":"support","given":true},"position":3})",
      R"({"id":"00000000-0000-4000-8000-0000000000AA","type":"ConsentRecorded","subject":"household/H1","effectiveDate":"2015-02-03","data":{"purpose":"support","given":true}})",
      R"({"id":"00000000-0000-4000-8000-0000000000aa","type":"LeaseSwitched","subject":"household/H1","effectiveDate":"2015-02-03","data":{"dwellingId":"dwelling/D1","to":"direct_lease"}})",
      R"({"id":"00000000-0000-4000-8000-0000000000aa","type":"Nope","subject":"household/H1","effectiveDate":"2015-02-03","data":{}})",
      R"({"id":"00000000-0000-4000-8000-0000000000aa","type":"ConsentRecorded","subject":"household/H1","effectiveDate":"2015-02-03","data":{"purpose":"support","given":true},"expectedVersion":-2})",
      R"({"id":"00000000-0000-4000-8000-0000000000aa","type":"ConsentRecorded","subject":"household/H1","effectiveDate":"2015-02-03"})",
      R"([])",
      R"(not json)",
  };
  for (const char* json : bad) {
    EXPECT_EQ(WhenRaw(json), "malformed") << json;
    EXPECT_EQ(last_.refusal.kind, "malformed");
  }
  // The message names the field.
  WhenRaw(bad[1]);
  EXPECT_NE(last_.refusal.message.find("data.x"), std::string::npos) << last_.refusal.message;
}

TEST_F(RulesTest, DuplicateAndIdConflict) {
  Household("H1");
  std::string ev = Ev(100, "ConsentRecorded", "household/H1", "2015-02-03", R"({"purpose":"support","given":true})");
  EXPECT_EQ(WhenRaw(ev), "accepted");
  // Key order does not matter; a retry with any expectedVersion is a duplicate.
  EXPECT_EQ(WhenRaw(Ev(100, "ConsentRecorded", "household/H1", "2015-02-03",
                       R"({"given":true,"purpose":"support"})", R"(,"expectedVersion":7)")),
            "duplicate");
  EXPECT_EQ(last_.results[0].position, 2u);
  EXPECT_EQ(WhenRaw(Ev(100, "ConsentRecorded", "household/H1", "2015-02-03",
                       R"({"purpose":"support","given":false})")),
            "id_conflict");
  EXPECT_EQ(last_.refusal.kind, "conflict");
  // A batch mixing recorded and new events.
  std::string batch = "[" + ev + "," + Ev(101, "ConsentRecorded", "household/H1", "2015-02-04",
                                           R"({"purpose":"data_sharing","given":true})") + "]";
  EXPECT_EQ(WhenRaw(batch), "id_conflict");
}

TEST_F(RulesTest, VersionConflict) {
  Household("H1");
  EXPECT_EQ(When("ConsentRecorded", "household/H1", "2015-02-03", R"({"purpose":"support","given":true})",
                 R"(,"expectedVersion":5)"),
            "version_conflict");
  EXPECT_EQ(last_.refusal.current_version, 0);
  EXPECT_EQ(When("ConsentRecorded", "household/H1", "2015-02-03", R"({"purpose":"support","given":true})",
                 R"(,"expectedVersion":0)"),
            "accepted");
  EXPECT_EQ(When("HouseholdRegistered", "household/H9", "2015-02-03",
                 R"({"territory":"sud","commune":"Douai","adults":1,"children":0,"headOfHousehold":{"name":"X","birthDate":"1990-01-01"}})",
                 R"(,"expectedVersion":-1)"),
            "accepted");
}

TEST_F(RulesTest, RecordedAtRegressionAndFuture) {
  EXPECT_EQ(When("HouseholdRegistered", "household/H1", "2015-01-02",
                 R"({"territory":"lille","commune":"Lille","adults":1,"children":0,"headOfHousehold":{"name":"X","birthDate":"1990-01-01"}})",
                 R"(,"recordedAt":"2015-01-02T00:00:00Z")"),
            "accepted");
  EXPECT_EQ(When("ConsentRecorded", "household/H1", "2015-02-03", R"({"purpose":"support","given":true})",
                 R"(,"recordedAt":"2016-01-01T00:00:00Z")"),
            "accepted");
  EXPECT_EQ(When("ConsentRecorded", "household/H1", "2015-02-03", R"({"purpose":"support","given":true})",
                 R"(,"recordedAt":"2015-12-31T23:59:59.999999Z")"),
            "recorded_at_regression");
  EXPECT_EQ(last_.refusal.kind, "conflict");
  EXPECT_EQ(When("ConsentRecorded", "household/H1", "2016-01-02", R"({"purpose":"support","given":true})",
                 R"(,"recordedAt":"2016-01-01T10:00:00Z")"),
            "effective_date_in_future");
  EXPECT_EQ(When("ConsentRecorded", "household/H1", "2016-01-01", R"({"purpose":"support","given":true})",
                 R"(,"recordedAt":"2016-01-01T10:00:00Z")"),
            "accepted");
}

// --- household rules --------------------------------------------------------

TEST_F(RulesTest, RegistrationRules) {
  EXPECT_EQ(When("ConsentRecorded", "household/H1", "2015-02-03", R"({"purpose":"support","given":true})"),
            "not_registered");
  Household("H1", "2015-02-02");
  EXPECT_EQ(When("HouseholdRegistered", "household/H1", "2015-03-01",
                 R"({"territory":"lille","commune":"Lille","adults":1,"children":0,"headOfHousehold":{"name":"X","birthDate":"1990-01-01"}})"),
            "already_registered");
  // Back-dated before the registration.
  EXPECT_EQ(When("ConsentRecorded", "household/H1", "2015-02-01", R"({"purpose":"support","given":true})"),
            "not_registered");
}

TEST_F(RulesTest, ReferralRules) {
  Household("H1");
  Given("HouseholdReferred", "household/H1", "2015-01-03", R"({"referralId":"R1","track":"access","source":"siao","referrer":"S"})");
  EXPECT_EQ(When("HouseholdReferred", "household/H1", "2015-01-04", R"({"referralId":"R1","track":"maintien","source":"siao","referrer":"S"})"),
            "duplicate_referral");
  EXPECT_EQ(When("HouseholdReferred", "household/H1", "2015-01-04", R"({"referralId":"R2","track":"access","source":"siao","referrer":"S"})"),
            "referral_already_open");
  EXPECT_EQ(When("ReferralDecided", "household/H1", "2015-01-05", R"({"referralId":"R9","outcome":"accepted"})"),
            "referral_not_open");
  EXPECT_EQ(When("ReferralDecided", "household/H1", "2015-01-05", R"({"referralId":"R1","outcome":"refused"})"),
            "reason_required");
  EXPECT_EQ(When("ReferralDecided", "household/H1", "2015-01-05", R"({"referralId":"R1","outcome":"refused","reason":"r"})"),
            "accepted");
  EXPECT_EQ(When("ReferralDecided", "household/H1", "2015-01-06", R"({"referralId":"R1","outcome":"accepted"})"),
            "referral_not_open");
  // A closed referral frees the track.
  EXPECT_EQ(When("HouseholdReferred", "household/H1", "2015-01-07", R"({"referralId":"R2","track":"access","source":"dalo","referrer":"S"})"),
            "accepted");
}

TEST_F(RulesTest, CalRules) {
  Dwelling("D1", "2015-01-08");
  Household("H1");
  Given("HouseholdReferred", "household/H1", "2015-01-03", R"({"referralId":"R1","track":"access","source":"siao","referrer":"S"})");
  EXPECT_EQ(When("CalApplicationFiled", "household/H1", "2015-01-09", R"({"referralId":"R1","dwellingId":"D1","sessionDate":"2015-01-20"})"),
            "referral_not_accepted");
  Given("ReferralDecided", "household/H1", "2015-01-04", R"({"referralId":"R1","outcome":"accepted"})");
  EXPECT_EQ(When("CalApplicationFiled", "household/H1", "2015-01-07", R"({"referralId":"R1","dwellingId":"D1","sessionDate":"2015-01-20"})"),
            "dwelling_not_registered");
  EXPECT_EQ(When("CalApplicationFiled", "household/H1", "2015-01-09", R"({"referralId":"R1","dwellingId":"D9","sessionDate":"2015-01-20"})"),
            "dwelling_not_registered");
  Given("CalApplicationFiled", "household/H1", "2015-01-09", R"({"referralId":"R1","dwellingId":"D1","sessionDate":"2015-01-20"})");
  EXPECT_EQ(When("CalApplicationFiled", "household/H1", "2015-01-10", R"({"referralId":"R1","dwellingId":"D1","sessionDate":"2015-01-21"})"),
            "application_pending");
  EXPECT_EQ(When("CalDecisionRecorded", "household/H1", "2015-01-20", R"({"referralId":"R1","dwellingId":"D2","decision":"attribution"})"),
            "no_pending_application");
  EXPECT_EQ(When("CalDecisionRecorded", "household/H1", "2015-01-20", R"({"referralId":"R1","dwellingId":"D1","decision":"attribution_ranked"})"),
            "rank_required");
  EXPECT_EQ(When("CalDecisionRecorded", "household/H1", "2015-01-20", R"({"referralId":"R1","dwellingId":"D1","decision":"attribution_conditional","condition":"c","conditionDeadline":"2015-01-19"})"),
            "condition_required");
  EXPECT_EQ(When("CalDecisionRecorded", "household/H1", "2015-01-20", R"({"referralId":"R1","dwellingId":"D1","decision":"non_attribution"})"),
            "reason_required");
  EXPECT_EQ(When("CalConditionResolved", "household/H1", "2015-01-21", R"({"dwellingId":"D1","met":true})"),
            "no_conditional_decision");
  EXPECT_EQ(When("OfferAnswered", "household/H1", "2015-01-21", R"({"dwellingId":"D1","answer":"accepted"})"),
            "no_positive_decision");
  Given("CalDecisionRecorded", "household/H1", "2015-01-20", R"({"referralId":"R1","dwellingId":"D1","decision":"attribution_conditional","condition":"c","conditionDeadline":"2015-02-01"})");
  EXPECT_EQ(When("OfferAnswered", "household/H1", "2015-01-21", R"({"dwellingId":"D1","answer":"accepted"})"),
            "no_positive_decision");
  EXPECT_EQ(When("CalConditionResolved", "household/H1", "2015-02-02", R"({"dwellingId":"D1","met":true})"),
            "condition_deadline_passed");
  Given("CalConditionResolved", "household/H1", "2015-02-01", R"({"dwellingId":"D1","met":true})");
  EXPECT_EQ(When("CalConditionResolved", "household/H1", "2015-02-01", R"({"dwellingId":"D1","met":true})"),
            "no_conditional_decision");
  EXPECT_EQ(When("OccupancyStarted", "household/H1", "2015-02-03", R"({"dwellingId":"D1","contract":"direct_lease","rentCents":1})"),
            "offer_not_accepted");
  Given("OfferAnswered", "household/H1", "2015-02-02", R"({"dwellingId":"D1","answer":"accepted"})");
  EXPECT_EQ(When("OfferAnswered", "household/H1", "2015-02-02", R"({"dwellingId":"D1","answer":"accepted"})"),
            "no_positive_decision");
  EXPECT_EQ(When("OccupancyStarted", "household/H1", "2015-02-03", R"({"dwellingId":"D1","contract":"sublease","rentCents":1})"),
            "association_required");
  EXPECT_EQ(When("OccupancyStarted", "household/H1", "2015-02-03", R"({"dwellingId":"D1","contract":"direct_lease","rentCents":1})"),
            "accepted");
  // The offer is used: a second move-in needs another one.
  Given("OccupancyEnded", "household/H1", "2015-03-01", R"({"dwellingId":"D1","reason":"transfer","destination":"permanent"})");
  EXPECT_EQ(When("OccupancyStarted", "household/H1", "2015-03-02", R"({"dwellingId":"D1","contract":"direct_lease","rentCents":1})"),
            "offer_not_accepted");
}

TEST_F(RulesTest, OccupancyRules) {
  Dwelling("D1");
  Dwelling("D2");
  Household("H1");
  Household("H2");
  EXPECT_EQ(When("OccupancyStarted", "household/H1", "2015-02-01", R"({"dwellingId":"D7","contract":"direct_lease","rentCents":1,"preexisting":true})"),
            "dwelling_not_registered");
  Housed("H1", "D1", "direct_lease", "2015-02-01");
  EXPECT_EQ(When("OccupancyStarted", "household/H1", "2015-03-01", R"({"dwellingId":"D2","contract":"direct_lease","rentCents":1,"preexisting":true})"),
            "already_housed");
  EXPECT_EQ(When("OccupancyStarted", "household/H2", "2015-03-01", R"({"dwellingId":"D1","contract":"direct_lease","rentCents":1,"preexisting":true})"),
            "dwelling_occupied");
  // An occupancy of H2 ending the day H1 moves in does not overlap.
  EXPECT_EQ(When("OccupancyStarted", "household/H2", "2015-01-10", R"({"dwellingId":"D1","contract":"direct_lease","rentCents":1,"preexisting":true})"),
            "dwelling_occupied");
  Given("OccupancyEnded", "household/H1", "2015-06-01", R"({"dwellingId":"D1","reason":"transfer","destination":"permanent"})");
  EXPECT_EQ(When("OccupancyStarted", "household/H2", "2015-06-01", R"({"dwellingId":"D1","contract":"direct_lease","rentCents":1,"preexisting":true})"),
            "accepted");
  EXPECT_EQ(When("OccupancyEnded", "household/H1", "2015-07-01", R"({"dwellingId":"D1","reason":"transfer","destination":"permanent"})"),
            "no_active_occupancy");
  // Back-dated: ending H2's occupancy before it started contradicts nothing
  // recorded later; a back-dated second start of H1 overlapping H2 does.
  EXPECT_EQ(When("OccupancyStarted", "household/H1", "2015-06-15", R"({"dwellingId":"D1","contract":"direct_lease","rentCents":1,"preexisting":true})"),
            "dwelling_occupied");
}

TEST_F(RulesTest, LeaseRules) {
  Dwelling("D1");
  Household("H1");
  EXPECT_EQ(When("SlideReviewHeld", "household/H1", "2015-02-02", R"({"outcome":"favourable"})"), "not_a_sublease");
  EXPECT_EQ(When("LeaseSwitched", "household/H1", "2015-02-02", R"({"dwellingId":"D1","to":"direct_lease"})"),
            "no_active_occupancy");
  Housed("H1", "D1", "sublease", "2015-02-01");
  EXPECT_EQ(When("LeaseSwitched", "household/H1", "2015-03-01", R"({"dwellingId":"D1","to":"direct_lease"})"),
            "no_favourable_review");
  Given("SlideReviewHeld", "household/H1", "2015-04-01", R"({"outcome":"favourable"})");
  // Back-dated before the review: still refused.
  EXPECT_EQ(When("LeaseSwitched", "household/H1", "2015-03-01", R"({"dwellingId":"D1","to":"direct_lease"})"),
            "no_favourable_review");
  EXPECT_EQ(When("LeaseSwitched", "household/H1", "2015-04-02", R"({"dwellingId":"D1","to":"direct_lease"})"),
            "accepted");
  EXPECT_EQ(When("LeaseSwitched", "household/H1", "2015-04-03", R"({"dwellingId":"D1","to":"direct_lease"})"),
            "not_a_sublease");
  EXPECT_EQ(When("SlideReviewHeld", "household/H1", "2015-04-03", R"({"outcome":"favourable"})"), "not_a_sublease");
}

TEST_F(RulesTest, SupportRules) {
  Household("H1");
  EXPECT_EQ(When("SupportStarted", "household/H1", "2015-02-01", R"({"episodeId":"E1","kind":"asll","association":"A"})"),
            "consent_required");
  Consent("H1", "2015-02-01");
  Given("SupportStarted", "household/H1", "2015-02-01", R"({"episodeId":"E1","kind":"asll","association":"A"})");
  EXPECT_EQ(When("SupportStarted", "household/H1", "2015-02-02", R"({"episodeId":"E1","kind":"avdl","association":"A"})"),
            "duplicate_episode");
  EXPECT_EQ(When("SupportStarted", "household/H1", "2015-02-02", R"({"episodeId":"E2","kind":"asll","association":"A"})"),
            "episode_already_active");
  EXPECT_EQ(When("ObjectivesSet", "household/H1", "2015-02-03", R"({"episodeId":"E1","objectives":[{"objectiveId":"O1","domain":"budget"},{"objectiveId":"O1","domain":"health"}]})"),
            "duplicate_objective");
  Given("ObjectivesSet", "household/H1", "2015-02-03", R"({"episodeId":"E1","objectives":[{"objectiveId":"O1","domain":"budget"}]})");
  EXPECT_EQ(When("SituationReviewed", "household/H1", "2015-02-04", R"({"episodeId":"E1","progress":[{"objectiveId":"O2","status":"achieved"}]})"),
            "unknown_objective");
  EXPECT_EQ(When("SupportUnpaused", "household/H1", "2015-02-05", R"({"episodeId":"E1"})"), "episode_not_paused");
  Given("SupportPaused", "household/H1", "2015-02-05", R"({"episodeId":"E1","reason":"hospitalisation"})");
  EXPECT_EQ(When("SupportPaused", "household/H1", "2015-02-06", R"({"episodeId":"E1","reason":"other"})"), "episode_not_active");
  EXPECT_EQ(When("ObjectivesSet", "household/H1", "2015-02-06", R"({"episodeId":"E1","objectives":[{"objectiveId":"O2","domain":"budget"}]})"),
            "episode_not_active");
  EXPECT_EQ(When("SituationReviewed", "household/H1", "2015-02-06", R"({"episodeId":"E1","progress":[{"objectiveId":"O1","status":"achieved"}]})"),
            "accepted");
  EXPECT_EQ(When("SupportResumed", "household/H1", "2015-02-07", R"({"episodeId":"E2","previousEpisodeId":"E1","reason":"r"})"),
            "episode_not_closed");
  Given("SupportClosed", "household/H1", "2015-03-01", R"({"episodeId":"E1","reason":"objectives_met"})");
  EXPECT_EQ(When("SupportClosed", "household/H1", "2015-03-02", R"({"episodeId":"E1","reason":"other"})"), "episode_not_active");
  EXPECT_EQ(When("SupportResumed", "household/H1", "2015-03-03", R"({"episodeId":"E1","previousEpisodeId":"E1","reason":"r"})"),
            "duplicate_episode");
  Consent("H1", "2015-03-02", false);
  EXPECT_EQ(When("SupportResumed", "household/H1", "2015-03-03", R"({"episodeId":"E2","previousEpisodeId":"E1","reason":"r"})"),
            "consent_required");
  Consent("H1", "2015-03-04", true);
  Given("SupportStarted", "household/H1", "2015-03-05", R"({"episodeId":"E3","kind":"asll","association":"A"})");
  EXPECT_EQ(When("SupportResumed", "household/H1", "2015-03-06", R"({"episodeId":"E2","previousEpisodeId":"E1","reason":"r"})"),
            "episode_already_active");
}

TEST_F(RulesTest, ArrearsAndEvictionRules) {
  Dwelling("D1");
  Household("H1");
  EXPECT_EQ(When("ArrearsAlertRaised", "household/H1", "2016-01-01", R"({"dwellingId":"D1","amountCents":5,"monthsUnpaid":1})"),
            "no_active_occupancy");
  EXPECT_EQ(When("CcapexReferred", "household/H1", "2016-01-01", "{}"), "no_open_arrears");
  EXPECT_EQ(WhenStep("H1", "2016-01-01", "payment_order"), "no_open_arrears");
  Housed("H1", "D1", "direct_lease", "2015-02-01");
  Arrears("H1", "D1", "2016-01-01");
  EXPECT_EQ(When("ArrearsAlertRaised", "household/H1", "2016-01-02", R"({"dwellingId":"D1","amountCents":5,"monthsUnpaid":1})"),
            "arrears_already_open");
  EXPECT_EQ(WhenStep("H1", "2016-01-02", "summons", R"(,"hearingDate":"2016-03-01")"), "step_out_of_order");
  Given("CcapexReferred", "household/H1", "2016-01-31", "{}");
  Step("H1", "2016-02-01", "payment_order");
  // Two calendar months after 31 January is 31 March.
  EXPECT_EQ(WhenStep("H1", "2016-03-30", "summons", R"(,"hearingDate":"2016-05-01")"), "ccapex_notice_too_short");
  Step("H1", "2016-03-31", "summons", R"(,"hearingDate":"2016-05-01")");
  Step("H1", "2016-05-01", "judgment_termination");
  EXPECT_EQ(WhenStep("H1", "2016-05-02", "police_granted"), "step_out_of_order");
  Step("H1", "2016-05-02", "order_to_leave");
  Step("H1", "2016-05-03", "police_requested");
  Step("H1", "2016-05-04", "police_refused");
  Step("H1", "2016-05-05", "police_requested");
  Step("H1", "2016-05-06", "police_granted");
  EXPECT_EQ(WhenStep("H1", "2016-11-01", "eviction_carried_out"), "winter_truce");
  EXPECT_EQ(WhenStep("H1", "2017-03-31", "eviction_carried_out"), "winter_truce");
  EXPECT_EQ(WhenStep("H1", "2016-10-31", "eviction_carried_out"), "accepted");
  // The eviction ended the occupancy.
  EXPECT_EQ(When("OccupancyEnded", "household/H1", "2016-11-02", R"({"dwellingId":"D1","reason":"transfer","destination":"unknown"})"),
            "no_active_occupancy");
  EXPECT_EQ(When("RepaymentPlanAgreed", "household/H1", "2016-11-03", R"({"monthlyCents":100,"months":12})"), "accepted");
  Given("ArrearsCleared", "household/H1", "2016-12-01", "{}");
  EXPECT_EQ(When("FslAidDecided", "household/H1", "2016-12-02", R"({"granted":true})"), "no_open_arrears");
}

TEST_F(RulesTest, EvictionNeedsOccupancy) {
  Dwelling("D1");
  Household("H1");
  Housed("H1", "D1", "direct_lease", "2015-02-01");
  Arrears("H1", "D1", "2016-01-01");
  Given("CcapexReferred", "household/H1", "2016-01-02", "{}");
  Step("H1", "2016-01-03", "payment_order");
  Step("H1", "2016-04-01", "summons", R"(,"hearingDate":"2016-05-01")");
  Step("H1", "2016-05-01", "judgment_termination");
  Step("H1", "2016-05-02", "order_to_leave");
  Step("H1", "2016-05-03", "police_requested");
  Step("H1", "2016-05-04", "police_granted");
  Given("OccupancyEnded", "household/H1", "2016-05-05", R"({"dwellingId":"D1","reason":"voluntary_departure","destination":"temporary"})");
  EXPECT_EQ(WhenStep("H1", "2016-05-06", "eviction_carried_out"), "no_active_occupancy");
}

// --- dwelling and territory ---------------------------------------------------

TEST_F(RulesTest, DwellingRules) {
  EXPECT_EQ(When("DwellingReserved", "dwelling/D1", "2015-01-01", R"({"convention":"c"})"), "not_registered");
  Dwelling("D1");
  EXPECT_EQ(When("DwellingRegistered", "dwelling/D1", "2015-01-02",
                 R"({"territory":"lille","commune":"Lille","typology":"T1","adaptations":["wheelchair"],"rentCents":1})"),
            "already_registered");
  EXPECT_EQ(When("DwellingReservationEnded", "dwelling/D1", "2015-01-02", "{}"), "not_reserved");
  Given("DwellingReserved", "dwelling/D1", "2015-01-02", R"({"convention":"c"})");
  EXPECT_EQ(When("DwellingReserved", "dwelling/D1", "2015-01-03", R"({"convention":"c"})"), "already_reserved");
  EXPECT_EQ(When("StaffTrainingHeld", "territory/sud", "2015-01-03", R"({"topic":"t","attendees":3})"), "accepted");
}

// --- corrections and retractions ----------------------------------------------

TEST_F(RulesTest, CorrectionRules) {
  Dwelling("D1");
  Household("H1");
  Housed("H1", "D1", "sublease", "2015-02-01");  // id 3
  Given("SlideReviewHeld", "household/H1", "2015-06-01", R"({"outcome":"favourable"})");  // id 4
  Given("LeaseSwitched", "household/H1", "2015-07-01", R"({"dwellingId":"D1","to":"direct_lease"})");  // id 5
  EXPECT_EQ(When("EventCorrected", "household/H1", "2016-01-01",
                 R"({"targetId":")" + IdOf(999) + R"(","reason":"x"})"),
            "target_not_found");
  // Target in another stream.
  EXPECT_EQ(When("EventCorrected", "household/H1", "2016-01-01",
                 R"({"targetId":")" + IdOf(1) + R"(","reason":"x"})"),
            "target_not_found");
  // Moving the switch before the favourable review breaks the rules.
  EXPECT_EQ(When("EventCorrected", "household/H1", "2016-01-01",
                 R"({"targetId":")" + IdOf(5) + R"(","effectiveDate":"2015-05-01","reason":"x"})"),
            "correction_breaks_rules");
  EXPECT_NE(last_.refusal.message.find("no_favourable_review"), std::string::npos) << last_.refusal.message;
  // Retracting the review breaks the switch.
  EXPECT_EQ(When("EventRetracted", "household/H1", "2016-01-01",
                 R"({"targetId":")" + IdOf(4) + R"(","reason":"x"})"),
            "correction_breaks_rules");
  // A correction whose data breaks a rule: sublease without association.
  EXPECT_EQ(When("EventCorrected", "household/H1", "2016-01-01",
                 R"({"targetId":")" + IdOf(3) + R"(","data":{"rentCents":5,"association":"AES"},"reason":"x"})"),
            "accepted");
  // Correction data is checked against the target's type.
  EXPECT_EQ(When("EventCorrected", "household/H1", "2016-01-01",
                 R"({"targetId":")" + IdOf(3) + R"(","data":{"severity":2},"reason":"x"})"),
            "malformed");
  // Registration retraction while other events exist.
  EXPECT_EQ(When("EventRetracted", "household/H1", "2016-01-01",
                 R"({"targetId":")" + IdOf(2) + R"(","reason":"x"})"),
            "correction_breaks_rules");
  // A dwelling registration cannot move later once referenced.
  EXPECT_EQ(When("EventCorrected", "dwelling/D1", "2016-01-01",
                 R"({"targetId":")" + IdOf(1) + R"(","effectiveDate":"2015-01-02","reason":"x"})"),
            "correction_breaks_rules");
  EXPECT_EQ(When("EventCorrected", "dwelling/D1", "2016-01-01",
                 R"({"targetId":")" + IdOf(1) + R"(","effectiveDate":"2014-12-01","reason":"x"})"),
            "accepted");
  // Retract a harmless event; it cannot be corrected afterwards.
  Given("DifficultyReported", "household/H1", "2015-08-01", R"({"category":"isolation","severity":1})");
  int difficulty = next_ - 1;
  EXPECT_EQ(When("EventRetracted", "household/H1", "2016-01-02",
                 R"({"targetId":")" + IdOf(difficulty) + R"(","reason":"x"})"),
            "accepted");
  EXPECT_EQ(When("EventCorrected", "household/H1", "2016-01-02",
                 R"({"targetId":")" + IdOf(difficulty) + R"(","data":{"severity":2},"reason":"x"})"),
            "target_not_found");
  // A correction cannot target a correction.
  EXPECT_EQ(When("EventRetracted", "household/H1", "2016-01-02",
                 R"({"targetId":")" + IdOf(difficulty + 1) + R"(","reason":"x"})"),
            "target_not_found");
}

TEST_F(RulesTest, BatchIsAtomicAcrossStreams) {
  std::string batch =
      "[" +
      Ev(50, "DwellingRegistered", "dwelling/D5", "2015-01-01",
         R"({"territory":"sud","commune":"Douai","typology":"T2","adaptations":[],"rentCents":1})") +
      "," +
      Ev(51, "HouseholdRegistered", "household/H5", "2015-01-01",
         R"({"territory":"sud","commune":"Douai","adults":1,"children":0,"headOfHousehold":{"name":"X","birthDate":"1990-01-01"}})") +
      "," +
      Ev(52, "OccupancyStarted", "household/H5", "2015-01-02",
         R"({"dwellingId":"D5","contract":"direct_lease","rentCents":1,"preexisting":true})") +
      "]";
  EXPECT_EQ(WhenRaw(batch), "accepted");
  EXPECT_EQ(last_.results.size(), 3u);
  Head before = f_.engine->GetHead();
  std::string bad = "[" + Ev(60, "ConsentRecorded", "household/H5", "2015-02-01", R"({"purpose":"support","given":true})") +
                    "," + Ev(61, "SupportClosed", "household/H5", "2015-02-01", R"({"episodeId":"E9","reason":"other"})") + "]";
  EXPECT_EQ(WhenRaw(bad), "episode_not_active");
  EXPECT_EQ(*last_.refusal.id, IdOf(61));
  EXPECT_EQ(f_.engine->GetHead().position, before.position);
}

}  // namespace
}  // namespace relais::testing

namespace relais::testing {
namespace {

// Limits (docs/limits.md): refused with a clear message, never truncated.
TEST(LimitsTest, OversizedRequestsAreRefused) {
  EngineFixture f;
  std::string huge = Ev(1, "StaffTrainingHeld", "territory/lille", "2015-01-01",
                        R"({"topic":")" + std::string(kRequestBytesMax, 'x') + R"(","attendees":1})");
  AppendOutcome o = Import(*f.engine, huge);
  ASSERT_EQ(o.kind, AppendOutcome::Kind::kRefused);
  EXPECT_EQ(o.refusal.code, "malformed");
  EXPECT_NE(o.refusal.message.find("over the limit"), std::string::npos) << o.refusal.message;

  std::string batch = "[";
  for (size_t i = 0; i <= kBatchEventsMax; ++i)
    batch += (i ? "," : "") + Ev(static_cast<int>(i + 10), "StaffTrainingHeld", "territory/lille", "2015-01-01",
                                 R"({"topic":"t","attendees":1})");
  batch += "]";
  o = Import(*f.engine, batch);
  ASSERT_EQ(o.kind, AppendOutcome::Kind::kRefused);
  EXPECT_NE(o.refusal.message.find("at most"), std::string::npos) << o.refusal.message;

  std::string long_text = Ev(5000, "StaffTrainingHeld", "territory/lille", "2015-01-01",
                             R"({"topic":")" + std::string(5000, 'y') + R"(","attendees":1})");
  o = Import(*f.engine, long_text);
  ASSERT_EQ(o.kind, AppendOutcome::Kind::kRefused);
  EXPECT_NE(o.refusal.message.find("data.topic"), std::string::npos) << o.refusal.message;
  EXPECT_EQ(f.engine->GetHead().position, 0u);
}

TEST(LimitsTest, EventSizeLimitCountsTheEncodedEvent) {
  EngineFixture f;
  // 20 partners of 4000 bytes: each string is within kTextBytesMax, the event is not.
  std::string partners;
  for (int i = 0; i < 20; ++i) partners += (i ? "," : "") + ("\"" + std::string(4000, 'p') + "\"");
  AppendOutcome o = Import(*f.engine, Ev(1, "PartnerMeetingHeld", "territory/sud", "2015-01-01",
                                         R"({"partners":[)" + partners + R"(],"topic":"t"})"));
  ASSERT_EQ(o.kind, AppendOutcome::Kind::kRefused);
  EXPECT_EQ(o.refusal.code, "malformed");
  EXPECT_NE(o.refusal.message.find("once encoded"), std::string::npos) << o.refusal.message;
}

// The domain's winter truce is public (the generator schedules evictions by it):
// its bounds are 1 November and 31 March, both inside.
TEST(WinterTruceTest, FirstOfNovemberToThirtyFirstOfMarchInclusive) {
  auto truce = [](const char* day) { return InWinterTruce(*ParseDate(day)); };
  EXPECT_FALSE(truce("2020-10-31"));
  EXPECT_TRUE(truce("2020-11-01"));
  EXPECT_TRUE(truce("2021-01-15"));
  EXPECT_TRUE(truce("2024-02-29"));
  EXPECT_TRUE(truce("2021-03-31"));
  EXPECT_FALSE(truce("2021-04-01"));
  EXPECT_FALSE(truce("2021-07-14"));
}

}  // namespace
}  // namespace relais::testing
