// Who sees what through corrections (events.md §3: "the class of a corrected
// event, and of every correction or retraction of it, is the strictest of the
// target's original form and its corrected forms known at T").
//
// The matrix: every role x every read path (history, feed, status, export,
// and the write check) x (original class, corrected class) pairs, with
// retractions and several corrections of one event, viewed known at a time
// before and after each correction. The expected class of every event at
// every stage is written out by hand below (kClass), not derived from the
// code under test.
#include "relais/projections/visibility.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace relais::testing {
namespace {

using projections::Access;
using projections::Caller;
using relais::Role;

enum Cls { kM = 0, kS = 1, kH = 2, kUnknown = 3 };

// Stage k: the log after phase k (0 base events, 1 first corrections, 2 second
// corrections and a retraction of a corrected event).
constexpr int kStages = 3;
const char* const kRecordedAt[kStages] = {"2025-03-01T10:00:00Z", "2025-04-01T10:00:00Z",
                                          "2025-05-01T10:00:00Z"};
const char* const kEffective[kStages] = {"2025-03-01", "2025-04-01", "2025-05-01"};
// Known-at times between the phases: before phase 1, between 1 and 2, after 2.
const char* const kKnownAt[kStages] = {"2025-03-15T00:00:00Z", "2025-04-15T00:00:00Z",
                                       "2025-05-15T00:00:00Z"};

// One event of a household's script, by its number within the household.
struct Script {
  int n;
  int phase;
  const char* type;
  std::string data;  // may name other events as @N (their id)
  // Its class at stages 0, 1, 2 (kUnknown while not yet recorded).
  std::array<Cls, kStages> cls;
};

// The pairs covered: A M->H->M (two corrections), B H->M, C M retracted,
// D M->H then retracted, E M->M (severity only), plus the S events.
std::vector<Script> Scripts(bool data_sharing) {
  std::vector<Script> s = {
      {1,
       0,
       "HouseholdRegistered",
       R"({"territory":"lille","commune":"Lille","adults":1,"children":0,)"
       R"("headOfHousehold":{"name":"PERSONAL-NAME","birthDate":"1980-01-01"}})",
       {kM, kM, kM}},
      {2, 0, "ConsentRecorded", R"({"purpose":"support","given":true})", {kS, kS, kS}},
      {4,
       0,
       "SupportStarted",
       R"({"episodeId":"ep1","kind":"asll","association":"asso-a"})",
       {kS, kS, kS}},
      // A
      {10, 0, "DifficultyReported", R"({"category":"neighbourhood","severity":2})", {kM, kH, kH}},
      // B
      {11, 0, "DifficultyReported", R"({"category":"mental_health","severity":3})", {kH, kH, kH}},
      // C
      {12, 0, "DifficultyReported", R"({"category":"neighbourhood","severity":1})", {kM, kM, kM}},
      // D
      {13, 0, "DifficultyReported", R"({"category":"dwelling_upkeep","severity":1})", {kM, kH, kH}},
      // E
      {14, 0, "DifficultyReported", R"({"category":"isolation","severity":1})", {kM, kM, kM}},
      {20,
       1,
       "EventCorrected",
       R"({"targetId":"@10","data":{"category":"mental_health"},"reason":"SECRET-REASON-20"})",
       {kUnknown, kH, kH}},
      {21,
       1,
       "EventCorrected",
       R"({"targetId":"@11","data":{"category":"neighbourhood"},"reason":"SECRET-REASON-21"})",
       {kUnknown, kH, kH}},
      {22,
       1,
       "EventRetracted",
       R"({"targetId":"@12","reason":"SECRET-REASON-22"})",
       {kUnknown, kM, kM}},
      {23,
       1,
       "EventCorrected",
       R"({"targetId":"@13","data":{"category":"mental_health"},"reason":"SECRET-REASON-23"})",
       {kUnknown, kH, kH}},
      {24,
       1,
       "EventCorrected",
       R"({"targetId":"@14","data":{"severity":2},"reason":"SECRET-REASON-24"})",
       {kUnknown, kM, kM}},
      // A corrected back: the strictest form known (mental_health) still rules.
      {30,
       2,
       "EventCorrected",
       R"({"targetId":"@10","data":{"category":"isolation"},"reason":"SECRET-REASON-30"})",
       {kUnknown, kUnknown, kH}},
      // D retracted after its correction to mental_health.
      {31,
       2,
       "EventRetracted",
       R"({"targetId":"@13","reason":"SECRET-REASON-31"})",
       {kUnknown, kUnknown, kH}},
  };
  if (data_sharing)
    s.push_back(
        {3, 0, "ConsentRecorded", R"({"purpose":"data_sharing","given":true})", {kS, kS, kS}});
  return s;
}

struct Household {
  std::string subject;
  int base;  // event ids are IdOf(base + n)
  bool data_sharing;
};
const Household kHouseholds[] = {{"household/h-nods", 1000, false}, {"household/h-ds", 2000, true}};

std::string Resolve(std::string data, int base) {
  for (size_t at; (at = data.find('@')) != std::string::npos;) {
    size_t end = at + 1;
    while (end < data.size() && isdigit(static_cast<unsigned char>(data[end]))) ++end;
    int n = std::stoi(data.substr(at + 1, end - at - 1));
    data.replace(at, end - at, IdOf(base + n));
  }
  return data;
}

struct RoleCase {
  std::string label;
  Caller caller;
  // Highest class seen on each household (kUnknown: the subject is forbidden).
  Cls max_nods, max_ds;
};

std::vector<RoleCase> Roles() {
  auto c = [](Role r, std::string territory, std::string org) {
    Caller x;
    x.name = "t";
    x.role = r;
    x.territory = std::move(territory);
    x.org = std::move(org);
    return x;
  };
  return {
      {"admin", c(Role::kAdmin, "", ""), kH, kH},
      {"auditor", c(Role::kAuditor, "", ""), kH, kH},
      {"coordinator lille", c(Role::kCoordinator, "lille", ""), kH, kH},
      {"coordinator sud", c(Role::kCoordinator, "sud", ""), kUnknown, kUnknown},
      // data_sharing given on h-ds only.
      {"social_worker asso-a", c(Role::kSocialWorker, "", "asso-a"), kS, kH},
      {"social_worker asso-b", c(Role::kSocialWorker, "", "asso-b"), kUnknown, kUnknown},
      {"tenancy_staff lille", c(Role::kTenancyStaff, "lille", ""), kM, kM},
      {"tenancy_staff sud", c(Role::kTenancyStaff, "sud", ""), kUnknown, kUnknown},
      {"evaluator", c(Role::kEvaluator, "", ""), kUnknown, kUnknown},
  };
}

Cls MaxFor(const RoleCase& r, const Household& h) { return h.data_sharing ? r.max_ds : r.max_nods; }

// Ids (text) of the events of `h` a role may see at stage `stage`.
std::set<std::string> Expected(const RoleCase& r, const Household& h, int stage, bool* all) {
  std::set<std::string> out;
  *all = true;
  for (const Script& e : Scripts(h.data_sharing)) {
    Cls c = e.cls[stage];
    if (c == kUnknown) continue;
    if (c <= MaxFor(r, h)) {
      out.insert(IdOf(h.base + e.n));
    } else {
      *all = false;
    }
  }
  return out;
}

class VisibilityMatrixTest : public ::testing::Test {
 protected:
  // Appends phase `p` of both households (admin imports with recordedAt).
  void Phase(int p) {
    for (const Household& h : kHouseholds)
      for (const Script& e : Scripts(h.data_sharing)) {
        if (e.phase != p) continue;
        std::string extra = std::string(",\"recordedAt\":\"") + kRecordedAt[p] + "\"";
        std::string line =
            Ev(h.base + e.n, e.type, h.subject, kEffective[p], Resolve(e.data, h.base), extra);
        AppendOutcome o = Import(*f_.engine, line);
        ASSERT_EQ(o.kind, AppendOutcome::Kind::kAccepted) << line << ": " << OutcomeText(o);
      }
  }
  static Subject Subj(const std::string& text) { return Subject{StreamKind::kHousehold, text}; }
  static std::optional<Timestamp> KnownAt(int k) { return ParseTimestamp(kKnownAt[k]); }

  EngineFixture f_;
  simdjson::dom::parser parser_;
};

// History, known at every time up to the current phase.
TEST_F(VisibilityMatrixTest, History) {
  for (int phase = 0; phase < kStages; ++phase) {
    Phase(phase);
    for (const RoleCase& r : Roles())
      for (const Household& h : kHouseholds)
        for (int k = 0; k <= phase + 1 && k < kStages + 1; ++k) {
          // k == phase + 1: no known-at (the head), i.e. the phase's stage.
          bool head = k == phase + 1;
          int stage = head ? phase : k;
          SCOPED_TRACE(r.label + " on " + h.subject + " after phase " + std::to_string(phase) +
                       (head ? std::string(", head") : std::string(", known at ") + kKnownAt[k]));
          auto view = projections::HistoryFor(*f_.engine, r.caller, Subj(h.subject),
                                              head ? std::nullopt : KnownAt(k));
          ASSERT_TRUE(view.ok()) << view.status().message();
          if (MaxFor(r, h) == kUnknown) {
            EXPECT_EQ(view->access, Access::kForbidden);
            EXPECT_TRUE(view->json.empty());
            continue;
          }
          bool all = false;
          std::set<std::string> expected = Expected(r, h, stage, &all);
          simdjson::dom::element root = parser_.parse(view->json).value();
          // Bound first: value() of a temporary result would dangle in a range-for.
          simdjson::dom::array events = root["events"].get_array().value();
          std::set<std::string> shown;
          for (auto e : events) shown.insert(std::string(e["id"].get_string().value()));
          EXPECT_EQ(shown, expected);
          // Links name only events the caller sees.
          for (auto e : events) {
            simdjson::dom::array corrected_by = e["correctedBy"].get_array().value();
            for (auto c : corrected_by)
              EXPECT_TRUE(shown.count(std::string(c.get_string().value())));
            std::string_view rb;
            if (!e["retractedBy"].get_string().get(rb)) EXPECT_TRUE(shown.count(std::string(rb)));
          }
          if (MaxFor(r, h) < kH)
            EXPECT_EQ(view->json.find("mental_health"), std::string::npos) << view->json;
          if (r.caller.role == Role::kTenancyStaff) {
            EXPECT_EQ(view->json.find("SECRET-REASON"), std::string::npos) << view->json;
            EXPECT_EQ(view->access, Access::kFiltered);
          } else {
            EXPECT_EQ(view->access, all ? Access::kAllowed : Access::kFiltered);
          }
          EXPECT_EQ(root["filtered"].get_bool().value(), view->access == Access::kFiltered);
        }
  }
}

// The feed is judged when it is read: a replay from position 1 after a
// correction no longer delivers what the correction made health.
TEST_F(VisibilityMatrixTest, Feed) {
  for (int phase = 0; phase < kStages; ++phase) {
    Phase(phase);
    for (const RoleCase& r : Roles()) {
      SCOPED_TRACE(r.label + " after phase " + std::to_string(phase));
      std::set<std::string> expected, shown;
      for (const Household& h : kHouseholds) {
        if (MaxFor(r, h) == kUnknown || r.caller.role == Role::kEvaluator) continue;
        bool all;
        auto e = Expected(r, h, phase, &all);
        expected.insert(e.begin(), e.end());
      }
      Status st = f_.engine->Scan(1, [&](const StoredEventView& v) {
        bool filtered = false;
        auto json = projections::FeedEventFor(*f_.engine, r.caller, v, &filtered);
        if (!json) return true;
        shown.insert(FormatUuid(v.record.id));
        if (r.max_nods < kH || r.max_ds < kH) {
          // A role that misses H on some household never reads mental_health there.
          bool may_h = v.subject.text == "household/h-ds" ? r.max_ds == kH : r.max_nods == kH;
          if (!may_h) EXPECT_EQ(json->find("mental_health"), std::string::npos) << *json;
        }
        if (r.caller.role == Role::kTenancyStaff)
          EXPECT_EQ(json->find("SECRET-REASON"), std::string::npos) << *json;
        return true;
      });
      ASSERT_TRUE(st.ok()) << st.message();
      EXPECT_EQ(shown, expected);
    }
  }
}

// Status: the subject rights, and no health detail in what a role reads.
TEST_F(VisibilityMatrixTest, Status) {
  for (int phase = 0; phase < kStages; ++phase) {
    Phase(phase);
    for (const RoleCase& r : Roles())
      for (const Household& h : kHouseholds)
        for (int k = 0; k <= phase; ++k) {
          SCOPED_TRACE(r.label + " on " + h.subject + " after phase " + std::to_string(phase) +
                       ", known at " + kKnownAt[k]);
          projections::ViewTime t;
          t.known_at = KnownAt(k);
          auto view = projections::StatusFor(*f_.engine, r.caller, Subj(h.subject), t,
                                             *ParseDate("2026-01-01"));
          ASSERT_TRUE(view.ok()) << view.status().message();
          if (MaxFor(r, h) == kUnknown) {
            EXPECT_EQ(view->access, Access::kForbidden);
            continue;
          }
          EXPECT_EQ(view->access,
                    r.caller.role == Role::kTenancyStaff ? Access::kFiltered : Access::kAllowed);
          EXPECT_EQ(view->json.find("mental_health"), std::string::npos);
          EXPECT_EQ(view->json.find("SECRET-REASON"), std::string::npos);
          if (r.caller.role == Role::kTenancyStaff)
            EXPECT_EQ(view->json.find("episodes"), std::string::npos) << view->json;
        }
  }
}

// The evaluator's export carries every event known at T (every class,
// pseudonymised) and never a personal field, a correction's reason included.
TEST_F(VisibilityMatrixTest, Export) {
  for (int phase = 0; phase < kStages; ++phase) {
    Phase(phase);
    for (int k = 0; k <= phase + 1; ++k) {
      bool head = k == phase + 1;
      int stage = head ? phase : k;
      SCOPED_TRACE("after phase " + std::to_string(phase) + ", stage " + std::to_string(stage));
      size_t lines = 0;
      Status st = projections::ExportPseudonymised(
          *f_.engine, head ? std::nullopt : KnownAt(k), "synthetic-key", [&](std::string_view l) {
            ++lines;
            EXPECT_EQ(l.find("SECRET-REASON"), std::string::npos) << l;
            EXPECT_EQ(l.find("PERSONAL-NAME"), std::string::npos) << l;
            EXPECT_EQ(l.find("00000000-0000-4000-8000-"), std::string::npos) << l;
            return true;
          });
      ASSERT_TRUE(st.ok()) << st.message();
      size_t known = 0;
      for (const Household& h : kHouseholds)
        for (const Script& e : Scripts(h.data_sharing))
          if (e.cls[stage] != kUnknown) ++known;
      EXPECT_EQ(lines, known);
    }
  }
}

// Writes: a role may not correct or retract an event whose strictest form it
// may not see.
TEST_F(VisibilityMatrixTest, WritesFollowTheStrictestClass) {
  auto retract = [](const Household& h, int target) {
    return Ev(9000 + target, "EventRetracted", h.subject, "2025-06-01",
              "{\"targetId\":\"" + IdOf(h.base + target) + "\",\"reason\":\"r\"}");
  };
  for (int phase = 0; phase < kStages; ++phase) {
    Phase(phase);
    for (const RoleCase& r : Roles())
      for (const Household& h : kHouseholds)
        for (int target : {10, 11, 12, 13, 14}) {
          if (phase >= 1 && target == 12) continue;  // already retracted
          if (phase >= 2 && target == 13) continue;
          SCOPED_TRACE(r.label + " retracts " + std::to_string(target) + " of " + h.subject +
                       " after phase " + std::to_string(phase));
          Cls c = kUnknown;
          for (const Script& e : Scripts(h.data_sharing))
            if (e.n == target) c = e.cls[phase];
          bool may = r.caller.role != Role::kAuditor && r.caller.role != Role::kEvaluator &&
                     MaxFor(r, h) != kUnknown && c <= MaxFor(r, h);
          Status st = projections::AuthoriseWrite(*f_.engine, r.caller, retract(h, target));
          EXPECT_EQ(st.ok(), may) << st.message();
          // A refusal never names the class of the event the caller may not read.
          EXPECT_EQ(st.message().find("class"), std::string::npos) << st.message();
        }
  }
}

// A correction cannot target a correction (events.md §3): corrections of
// corrections cannot be a way around the class of the first one.
TEST_F(VisibilityMatrixTest, ACorrectionOfACorrectionIsRefused) {
  Phase(0);
  Phase(1);
  const Household& h = kHouseholds[0];
  std::string line = Ev(h.base + 99, "EventCorrected", h.subject, "2025-06-01",
                        "{\"targetId\":\"" + IdOf(h.base + 20) + "\",\"data\":{},\"reason\":\"r\"}",
                        ",\"recordedAt\":\"2025-06-01T10:00:00Z\"");
  AppendOutcome o = Import(*f_.engine, line);
  ASSERT_EQ(o.kind, AppendOutcome::Kind::kRefused) << OutcomeText(o);
  EXPECT_EQ(o.refusal.code, "target_not_found");
}

}  // namespace
}  // namespace relais::testing
