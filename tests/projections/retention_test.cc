// Retention (lifecycle.md §2) on its edges: the exact due day and the day
// before, a 29 February last contact, keep_history given then withdrawn
// (and known at a time before the withdrawal), each blocking state and a
// direct lease that does not block, retractions and corrections of the last
// contact, erased households, and --apply's idempotence.
#include "relais/projections/retention.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace relais {
namespace {

using projections::RetentionRequest;
using testing::Ev;
using testing::IdOf;

constexpr const char* kHousehold =
    R"({"territory":"lille","commune":"Lille","adults":1,"children":0,)"
    R"("headOfHousehold":{"name":"Personne Test","birthDate":"1980-01-01"}})";

class RetentionTest : public ::testing::Test {
 protected:
  RetentionTest() {
    // A different key per household (the fixture's FixedKey gives all the
    // same bytes, which an erasure's check would find in the others' keys).
    f_.options.key_generator = [n = std::make_shared<uint8_t>(0)](uint8_t* key32) {
      ++*n;
      for (int i = 0; i < 32; ++i) key32[i] = static_cast<uint8_t>(i * 7 + 1 + *n * 31);
    };
    f_.engine = f_.Reopen();
  }

  // Appends one event (an admin import), failing the test when refused.
  void Add(const std::string& type, const std::string& subject, const std::string& date,
           const std::string& data) {
    AppendOutcome o = testing::Import(*f_.engine, Ev(++n_, type, subject, date, data));
    ASSERT_EQ(o.kind, AppendOutcome::Kind::kAccepted)
        << type << " " << subject << " " << date << ": " << testing::OutcomeText(o);
    last_id_ = IdOf(n_);
  }
  void Register(const std::string& h, const std::string& date) {
    Add("HouseholdRegistered", "household/" + h, date, kHousehold);
  }
  void Dwelling(const std::string& d, const std::string& date) {
    Add("DwellingRegistered", "dwelling/" + d, date,
        R"({"territory":"lille","commune":"Lille","typology":"T2","adaptations":[],"rentCents":40000})");
  }
  void Occupy(const std::string& h, const std::string& d, const std::string& date,
              const std::string& contract) {
    std::string assoc = contract == "direct_lease" ? "" : R"(,"association":"AES")";
    Add("OccupancyStarted", "household/" + h, date,
        R"({"dwellingId":")" + d + R"(","contract":")" + contract + R"(","rentCents":40000,"preexisting":true)" +
            assoc + "}");
  }

  // The due entries as of D (known at T when given), by subject.
  std::vector<projections::RetentionDue> Due(const std::string& d,
                                             std::optional<Timestamp> known_at = std::nullopt,
                                             projections::RetentionPolicy policy = {}) {
    RetentionRequest req;
    req.time.as_of = ParseDate(d);
    req.time.known_at = known_at;
    req.today = *ParseDate("2026-01-01");
    req.policy = policy;
    auto r = projections::ComputeRetention(*f_.engine, req);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->due : std::vector<projections::RetentionDue>{};
  }
  bool IsDue(const std::string& h, const std::string& d,
             std::optional<Timestamp> known_at = std::nullopt) {
    for (const auto& e : Due(d, known_at))
      if (e.subject == "household/" + h) return true;
    return false;
  }
  std::optional<projections::RetentionDue> Entry(const std::string& h, const std::string& d) {
    for (const auto& e : Due(d))
      if (e.subject == "household/" + h) return e;
    return std::nullopt;
  }

  testing::EngineFixture f_;
  int n_ = 0;
  std::string last_id_;
};

TEST(RetentionRule, AddYearsKeepsTheDayAndClamps29February) {
  EXPECT_EQ(FormatDate(projections::AddYears(*ParseDate("2015-03-10"), 2)), "2017-03-10");
  EXPECT_EQ(FormatDate(projections::AddYears(*ParseDate("2016-02-29"), 2)), "2018-02-28");
  EXPECT_EQ(FormatDate(projections::AddYears(*ParseDate("2016-02-29"), 5)), "2021-02-28");
  EXPECT_EQ(FormatDate(projections::AddYears(*ParseDate("2016-02-29"), 4)), "2020-02-29");
  EXPECT_EQ(FormatDate(projections::AddYears(*ParseDate("2015-02-28"), 1)), "2016-02-28");
  EXPECT_EQ(FormatDate(projections::AddYears(*ParseDate("2015-12-31"), 0)), "2015-12-31");
}

TEST_F(RetentionTest, DueExactlyTwoYearsAfterTheLastContactNotTheDayBefore) {
  Register("A", "2015-03-10");
  EXPECT_FALSE(IsDue("A", "2017-03-09"));
  EXPECT_TRUE(IsDue("A", "2017-03-10"));
  EXPECT_TRUE(IsDue("A", "2019-01-01"));
  auto e = Entry("A", "2017-03-10");
  ASSERT_TRUE(e);
  EXPECT_EQ(FormatDate(e->last_contact), "2015-03-10");
  EXPECT_EQ(FormatDate(e->due_on), "2017-03-10");
  EXPECT_FALSE(e->keep_history);
  // The view is as of D: a household registered after D does not exist then.
  EXPECT_FALSE(IsDue("A", "2015-03-09"));
}

TEST_F(RetentionTest, LastContactOn29February) {
  Register("L", "2016-02-29");
  EXPECT_FALSE(IsDue("L", "2018-02-27"));
  EXPECT_TRUE(IsDue("L", "2018-02-28"));
  EXPECT_EQ(FormatDate(Entry("L", "2018-02-28")->due_on), "2018-02-28");
  Add("ConsentRecorded", "household/L", "2016-02-29", R"({"purpose":"keep_history","given":true})");
  EXPECT_FALSE(IsDue("L", "2021-02-27"));
  EXPECT_TRUE(IsDue("L", "2021-02-28"));
  EXPECT_EQ(FormatDate(Entry("L", "2021-02-28")->due_on), "2021-02-28");
}

TEST_F(RetentionTest, TheDurationsAreOptions) {
  Register("O", "2015-03-10");
  projections::RetentionPolicy p;
  p.years = 3;
  auto due = Due("2018-03-09", std::nullopt, p);
  EXPECT_TRUE(due.empty());
  due = Due("2018-03-10", std::nullopt, p);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(FormatDate(due[0].due_on), "2018-03-10");
}

TEST_F(RetentionTest, KeepHistoryGivenThenWithdrawn) {
  Register("K", "2015-01-05");
  f_.clock->Advance(1000000);
  Add("ConsentRecorded", "household/K", "2015-01-10", R"({"purpose":"keep_history","given":true})");
  // Given as of D: five years from the last contact.
  EXPECT_FALSE(IsDue("K", "2017-01-10"));
  EXPECT_FALSE(IsDue("K", "2020-01-09"));
  EXPECT_TRUE(IsDue("K", "2020-01-10"));
  auto e = Entry("K", "2020-01-10");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->keep_history);
  EXPECT_EQ(FormatDate(e->due_on), "2020-01-10");
  Timestamp before_withdrawal = f_.clock->Now();
  f_.clock->Advance(1000000);
  Add("ConsentRecorded", "household/K", "2015-06-01", R"({"purpose":"keep_history","given":false})");
  // Withdrawn: two years from the new last contact (the withdrawal itself).
  EXPECT_FALSE(IsDue("K", "2017-05-31"));
  EXPECT_TRUE(IsDue("K", "2017-06-01"));
  e = Entry("K", "2017-06-01");
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->keep_history);
  EXPECT_EQ(FormatDate(e->last_contact), "2015-06-01");
  // As of a D before the withdrawal, the consent still holds.
  EXPECT_FALSE(IsDue("K", "2015-05-31"));
  // Known at a time before the withdrawal was recorded: five years again.
  EXPECT_FALSE(IsDue("K", "2017-06-01", before_withdrawal));
  EXPECT_TRUE(IsDue("K", "2020-01-10", before_withdrawal));
}

TEST_F(RetentionTest, AnOpenReferralBlocksUntilDecided) {
  Register("R", "2015-01-05");
  Add("HouseholdReferred", "household/R", "2015-01-10",
      R"({"referralId":"R1","track":"maintien","source":"agency","referrer":"Agence"})");
  EXPECT_FALSE(IsDue("R", "2030-01-01"));
  Add("ReferralDecided", "household/R", "2015-02-10", R"({"referralId":"R1","outcome":"accepted"})");
  EXPECT_FALSE(IsDue("R", "2017-02-09"));
  EXPECT_TRUE(IsDue("R", "2017-02-10"));
  // As of a D when it was still open, it blocked.
  EXPECT_FALSE(IsDue("R", "2015-02-09"));
}

TEST_F(RetentionTest, ActiveAndPausedEpisodesBlock) {
  Register("E", "2015-01-05");
  Add("ConsentRecorded", "household/E", "2015-01-06", R"({"purpose":"support","given":true})");
  Add("SupportStarted", "household/E", "2015-01-10",
      R"({"episodeId":"E1","kind":"asll","association":"AES"})");
  EXPECT_FALSE(IsDue("E", "2030-01-01"));  // active
  Add("SupportPaused", "household/E", "2015-03-01", R"({"episodeId":"E1","reason":"hospitalisation"})");
  EXPECT_FALSE(IsDue("E", "2030-01-01"));  // paused
  Add("SupportClosed", "household/E", "2015-04-01", R"({"episodeId":"E1","reason":"objectives_met"})");
  EXPECT_FALSE(IsDue("E", "2017-03-31"));
  EXPECT_TRUE(IsDue("E", "2017-04-01"));
}

TEST_F(RetentionTest, OpenArrearsBlockUntilCleared) {
  Dwelling("D-ARR", "2014-01-01");
  Register("M", "2015-01-05");
  Occupy("M", "D-ARR", "2015-01-06", "direct_lease");
  Add("ArrearsAlertRaised", "household/M", "2015-02-01",
      R"({"dwellingId":"D-ARR","amountCents":50000,"monthsUnpaid":2})");
  EXPECT_FALSE(IsDue("M", "2030-01-01"));
  Add("ArrearsCleared", "household/M", "2015-05-01", "{}");
  EXPECT_FALSE(IsDue("M", "2017-04-30"));
  EXPECT_TRUE(IsDue("M", "2017-05-01"));
}

TEST_F(RetentionTest, AProcedureUnderWayBlocksUntilClosed) {
  Dwelling("D-PRO", "2014-01-01");
  Register("P", "2015-01-05");
  Occupy("P", "D-PRO", "2015-01-06", "direct_lease");
  Add("ArrearsAlertRaised", "household/P", "2015-01-10",
      R"({"dwellingId":"D-PRO","amountCents":50000,"monthsUnpaid":2})");
  Add("CcapexReferred", "household/P", "2015-01-15", "{}");
  Add("EvictionStepRecorded", "household/P", "2015-01-20", R"({"step":"payment_order"})");
  Add("ArrearsCleared", "household/P", "2015-02-01", "{}");
  // Arrears cleared, but the procedure is still at payment_order.
  EXPECT_FALSE(IsDue("P", "2030-01-01"));
  Add("EvictionStepRecorded", "household/P", "2015-03-20",
      R"({"step":"summons","hearingDate":"2015-05-01"})");
  EXPECT_FALSE(IsDue("P", "2030-01-01"));
  Add("EvictionStepRecorded", "household/P", "2015-05-01", R"({"step":"judgment_delays"})");
  // Closed: due two years after the judgment.
  EXPECT_FALSE(IsDue("P", "2017-04-30"));
  EXPECT_TRUE(IsDue("P", "2017-05-01"));
}

TEST_F(RetentionTest, AnActiveSubleaseOrHostingBlocksADirectLeaseDoesNot) {
  Dwelling("D-SUB", "2014-01-01");
  Dwelling("D-HOS", "2014-01-01");
  Dwelling("D-DIR", "2014-01-01");
  Register("S", "2015-01-05");
  Occupy("S", "D-SUB", "2015-01-06", "sublease");
  Register("H", "2015-01-05");
  Occupy("H", "D-HOS", "2015-01-06", "hosting");
  Register("B", "2015-01-05");
  Occupy("B", "D-DIR", "2015-01-06", "direct_lease");
  EXPECT_FALSE(IsDue("S", "2030-01-01"));
  EXPECT_FALSE(IsDue("H", "2030-01-01"));
  // A direct lease is the household's own: it does not block.
  EXPECT_FALSE(IsDue("B", "2017-01-05"));
  EXPECT_TRUE(IsDue("B", "2017-01-06"));
  // The sublease slides to a direct lease: no longer blocking.
  Add("SlideReviewHeld", "household/S", "2015-06-01", R"({"outcome":"favourable"})");
  Add("LeaseSwitched", "household/S", "2015-07-01", R"({"dwellingId":"D-SUB","to":"direct_lease"})");
  EXPECT_FALSE(IsDue("S", "2017-06-30"));
  EXPECT_TRUE(IsDue("S", "2017-07-01"));
  // The hosting ends: no longer blocking.
  Add("OccupancyEnded", "household/H", "2015-08-01",
      R"({"dwellingId":"D-HOS","reason":"rehoused","destination":"permanent"})");
  EXPECT_FALSE(IsDue("H", "2017-07-31"));
  EXPECT_TRUE(IsDue("H", "2017-08-01"));
  // As of a D when the hosting was active, it blocked.
  EXPECT_FALSE(IsDue("H", "2015-07-31"));
}

TEST_F(RetentionTest, LastContactFollowsRetractionsAndCorrections) {
  Register("C", "2015-01-05");
  Add("ConsentRecorded", "household/C", "2015-06-01", R"({"purpose":"support","given":true})");
  std::string consent = last_id_;
  EXPECT_EQ(FormatDate(Entry("C", "2020-01-01")->last_contact), "2015-06-01");
  // A correction moves it; the correction's own date plays no part.
  Add("EventCorrected", "household/C", "2016-01-01",
      R"({"targetId":")" + consent + R"(","effectiveDate":"2015-03-01","reason":"erreur de date"})");
  EXPECT_EQ(FormatDate(Entry("C", "2020-01-01")->last_contact), "2015-03-01");
  EXPECT_TRUE(IsDue("C", "2017-03-01"));
  EXPECT_FALSE(IsDue("C", "2017-02-28"));
  // A retracted event is no contact; the retraction itself neither.
  Add("EventRetracted", "household/C", "2016-02-01",
      R"({"targetId":")" + consent + R"(","reason":"saisie en double"})");
  EXPECT_EQ(FormatDate(Entry("C", "2020-01-01")->last_contact), "2015-01-05");
  EXPECT_TRUE(IsDue("C", "2017-01-05"));
}

TEST_F(RetentionTest, DueIsSortedBySubjectAndRenderedAsTheContractSays) {
  Register("Z", "2015-01-05");
  Register("A2", "2015-01-05");
  Register("M2", "2015-01-05");
  RetentionRequest req;
  req.time.as_of = ParseDate("2018-01-01");
  req.today = *ParseDate("2026-01-01");
  auto r = projections::ComputeRetention(*f_.engine, req);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(projections::RenderRetention(*r, std::nullopt),
            R"({"asOf":"2018-01-01","knownAt":null,"due":[)"
            R"({"subject":"household/A2","lastContact":"2015-01-05","dueOn":"2017-01-05","keepHistory":false},)"
            R"({"subject":"household/M2","lastContact":"2015-01-05","dueOn":"2017-01-05","keepHistory":false},)"
            R"({"subject":"household/Z","lastContact":"2015-01-05","dueOn":"2017-01-05","keepHistory":false}]})");
  EXPECT_NE(projections::RenderRetention(*r, 3).find(R"(,"applied":3})"), std::string::npos);
}

TEST_F(RetentionTest, ApplyErasesTheDueOnesOnceWithTheRetentionActor) {
  Register("X1", "2015-01-05");
  Register("X2", "2015-01-05");
  Add("HouseholdReferred", "household/X2", "2015-01-10",
      R"({"referralId":"R1","track":"maintien","source":"agency","referrer":"Agence"})");
  RetentionRequest req;
  req.time.as_of = ParseDate("2025-12-31");
  req.today = *ParseDate("2026-01-01");
  auto first = projections::ApplyRetention(*f_.engine, req);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->applied, 1);
  ASSERT_EQ(first->result.due.size(), 1u);
  EXPECT_EQ(first->result.due[0].subject, "household/X1");
  // The erasure: reason retention_expired, effective on D, the retention actor.
  auto events = f_.engine->ReadStreamEvents(Subject{StreamKind::kHousehold, "household/X1"});
  ASSERT_TRUE(events.ok());
  const StoredEventView& last = events->back();
  EXPECT_EQ(last.record.type, EventType::kPersonalDataErased);
  EXPECT_EQ(FormatDate(last.record.effective), "2025-12-31");
  EXPECT_EQ(last.actor.id, "retention");
  EXPECT_EQ(last.actor.role, "admin");
  EXPECT_EQ(last.actor.org, "-");
  EXPECT_NE(last.data_json.find("retention_expired"), std::string::npos) << last.data_json;
  // Idempotent: nothing is due any more, nothing is applied.
  auto second = projections::ApplyRetention(*f_.engine, req);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->applied, 0);
  EXPECT_TRUE(second->result.due.empty());
  // Erased: never due again, whatever D.
  EXPECT_FALSE(IsDue("X1", "2030-01-01"));
  // Applying with a past knowledge is refused.
  req.time.known_at = f_.clock->Now();
  EXPECT_FALSE(projections::ApplyRetention(*f_.engine, req).ok());
}

// The view is read, then each due household is erased: a household that
// was due when read but got an event meanwhile (a new referral: the support
// resumed) must not be erased on a judgement that no longer holds. The
// erasure carries the stream's version of the view (version_conflict).
TEST_F(RetentionTest, ApplyDoesNotEraseAHouseholdThatChangedSinceTheView) {
  Register("C", "2015-01-05");
  RetentionRequest req;
  req.time.as_of = ParseDate("2025-12-31");
  req.today = *ParseDate("2026-01-01");
  auto view = projections::ComputeRetention(*f_.engine, req);
  ASSERT_TRUE(view.ok()) << view.status().message();
  ASSERT_EQ(view->due.size(), 1u);
  // Between the view and the erasure (a concurrent POST /v1/events).
  Add("HouseholdReferred", "household/C", "2025-12-30",
      R"({"referralId":"R1","track":"maintien","source":"agency","referrer":"Agence"})");
  auto applied = projections::ApplyRetentionDue(*f_.engine, *view);
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ(*applied, 0);
  auto erased = f_.engine->IsErased(Subject{StreamKind::kHousehold, "household/C"});
  ASSERT_TRUE(erased.ok());
  EXPECT_FALSE(*erased) << "a household with an open referral was erased by retention";
  // With its referral open, it is no longer due.
  auto again = projections::ComputeRetention(*f_.engine, req);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->due.empty());
}

TEST_F(RetentionTest, AnErasureKnownAtTExcludesWhateverItsDate) {
  Register("Y", "2015-01-05");
  Timestamp before = f_.clock->Now();
  f_.clock->Advance(1000000);
  AppendOutcome o = f_.engine->Erase(Subject{StreamKind::kHousehold, "household/Y"},
                                     ErasureReason::kSubjectRequest, ActorInfo{"erase", "admin", "-"});
  ASSERT_EQ(o.kind, AppendOutcome::Kind::kAccepted) << testing::OutcomeText(o);
  // Its effectiveDate is 2026-01-01, after D: it still excludes the household.
  EXPECT_FALSE(IsDue("Y", "2020-01-01"));
  // Known before the erasure, the household was due.
  EXPECT_TRUE(IsDue("Y", "2020-01-01", before));
}

}  // namespace
}  // namespace relais
