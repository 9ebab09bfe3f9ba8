// Seeded randomized test: the engine against a small in-memory model of the
// rules (the "auditor" of TigerBeetle, the "expected state" of db_stress).
// Events come in date order on a few households and dwellings, so the model is
// a plain state machine written apart from engine/src/domain. The seed is
// printed on failure; RELAIS_SEED=<n> replays one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "support/test_support.h"

namespace relais::testing {
namespace {

struct Model {
  struct Episode {
    std::string kind;
    int status = 0;  // 0 active, 1 paused, 2 closed
  };
  struct Household {
    std::optional<int> dwelling;  // active occupancy
    bool arrears_open = false;
    std::map<std::string, Episode> episodes;
  };
  std::map<int, Household> households;
  std::map<int, int> occupant;  // dwelling -> household with an open occupancy
};

std::string DateOf(int day) { return FormatDate(Date{DateFromCivil(2016, 1, 1).days + day}); }

void RunSeed(uint64_t seed, int steps) {
  SCOPED_TRACE("seed " + std::to_string(seed) + " (replay with RELAIS_SEED=" + std::to_string(seed) + ")");
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  EngineFixture f;
  Model m;
  int id = 1;
  const int kHouseholds = 4, kDwellings = 3;
  for (int d = 0; d < kDwellings; ++d)
    ASSERT_EQ(Import(*f.engine, Ev(id++, "DwellingRegistered", "dwelling/D" + std::to_string(d), DateOf(0),
                                   R"({"territory":"lille","commune":"Lille","typology":"T2","adaptations":[],"rentCents":1})"))
                  .kind,
              AppendOutcome::Kind::kAccepted);
  for (int h = 0; h < kHouseholds; ++h) {
    std::string s = "household/H" + std::to_string(h);
    ASSERT_EQ(Import(*f.engine, Ev(id++, "HouseholdRegistered", s, DateOf(0),
                                   R"({"territory":"sud","commune":"Douai","adults":1,"children":0,"headOfHousehold":{"name":"M","birthDate":"1980-01-01"}})"))
                  .kind,
              AppendOutcome::Kind::kAccepted);
    ASSERT_EQ(Import(*f.engine, Ev(id++, "ConsentRecorded", s, DateOf(0), R"({"purpose":"support","given":true})")).kind,
              AppendOutcome::Kind::kAccepted);
    m.households[h];
  }
  std::vector<std::string> accepted_lines;
  int day = 1;
  for (int step = 0; step < steps; ++step) {
    day += pick(3);
    int h = pick(kHouseholds), d = pick(kDwellings);
    Model::Household& mh = m.households[h];
    std::string s = "household/H" + std::to_string(h), dw = "D" + std::to_string(d);
    std::string ep = "E" + std::to_string(pick(4));
    std::string kind = pick(2) ? "asll" : "avdl";
    std::string line, expected = "accepted";
    switch (pick(9)) {
      case 0:
        line = Ev(id, "OccupancyStarted", s, DateOf(day),
                  R"({"dwellingId":")" + dw + R"(","contract":"direct_lease","rentCents":1,"preexisting":true})");
        if (mh.dwelling) expected = "already_housed";
        else if (m.occupant.count(d)) expected = "dwelling_occupied";
        break;
      case 1:
        line = Ev(id, "OccupancyEnded", s, DateOf(day),
                  R"({"dwellingId":")" + dw + R"(","reason":"transfer","destination":"permanent"})");
        if (mh.dwelling != d) expected = "no_active_occupancy";
        break;
      case 2:
        line = Ev(id, "ArrearsAlertRaised", s, DateOf(day),
                  R"({"dwellingId":")" + dw + R"(","amountCents":100,"monthsUnpaid":1})");
        if (mh.dwelling != d) expected = "no_active_occupancy";
        else if (mh.arrears_open) expected = "arrears_already_open";
        break;
      case 3:
        line = Ev(id, "ArrearsCleared", s, DateOf(day), "{}");
        if (!mh.arrears_open) expected = "no_open_arrears";
        break;
      case 4: {
        line = Ev(id, "SupportStarted", s, DateOf(day),
                  R"({"episodeId":")" + ep + R"(","kind":")" + kind + R"(","association":"A"})");
        bool open_same = false;
        for (auto& [eid, e] : mh.episodes) open_same |= e.kind == kind && e.status != 2;
        if (mh.episodes.count(ep)) expected = "duplicate_episode";
        else if (open_same) expected = "episode_already_active";
        break;
      }
      case 5:
        line = Ev(id, "SupportPaused", s, DateOf(day), R"({"episodeId":")" + ep + R"(","reason":"other"})");
        if (!mh.episodes.count(ep) || mh.episodes[ep].status != 0) expected = "episode_not_active";
        break;
      case 6:
        line = Ev(id, "SupportUnpaused", s, DateOf(day), R"({"episodeId":")" + ep + R"("})");
        if (!mh.episodes.count(ep) || mh.episodes[ep].status != 1) expected = "episode_not_paused";
        break;
      case 7:
        line = Ev(id, "SupportClosed", s, DateOf(day), R"({"episodeId":")" + ep + R"(","reason":"other"})");
        if (!mh.episodes.count(ep) || mh.episodes[ep].status == 2) expected = "episode_not_active";
        break;
      case 8:
        if (accepted_lines.empty()) continue;
        line = accepted_lines[pick(static_cast<int>(accepted_lines.size()))];
        expected = "duplicate";
        break;
    }
    ++id;
    AppendOutcome o = Import(*f.engine, line);
    std::string got = o.kind == AppendOutcome::Kind::kAccepted    ? "accepted"
                      : o.kind == AppendOutcome::Kind::kDuplicate ? "duplicate"
                      : o.kind == AppendOutcome::Kind::kRefused   ? o.refusal.code
                                                                  : "error " + o.error.message();
    ASSERT_EQ(got, expected) << "step " << step << ": " << line;
    if (expected != "accepted") continue;
    accepted_lines.push_back(line);
    // Evolve the model.
    if (line.find("\"OccupancyStarted\"") != std::string::npos) {
      mh.dwelling = d;
      m.occupant[d] = h;
    } else if (line.find("\"OccupancyEnded\"") != std::string::npos) {
      mh.dwelling.reset();
      m.occupant.erase(d);
    } else if (line.find("\"ArrearsAlertRaised\"") != std::string::npos) {
      mh.arrears_open = true;
    } else if (line.find("\"ArrearsCleared\"") != std::string::npos) {
      mh.arrears_open = false;
    } else if (line.find("\"SupportStarted\"") != std::string::npos) {
      mh.episodes[ep] = {kind, 0};
    } else if (line.find("\"SupportPaused\"") != std::string::npos) {
      mh.episodes[ep].status = 1;
    } else if (line.find("\"SupportUnpaused\"") != std::string::npos) {
      mh.episodes[ep].status = 0;
    } else if (line.find("\"SupportClosed\"") != std::string::npos) {
      mh.episodes[ep].status = 2;
    }
  }
  VerifyReport r = f.engine->Verify({});
  EXPECT_TRUE(r.ok) << r.problem;
}

TEST(ModelTest, EngineAgreesWithTheModel) {
  if (const char* env = std::getenv("RELAIS_SEED")) {
    RunSeed(std::strtoull(env, nullptr, 10), 400);
    return;
  }
  std::random_device rd;
  uint64_t base = (static_cast<uint64_t>(rd()) << 32) | rd();
  for (uint64_t i = 0; i < 8; ++i) {
    RunSeed(base + i, 300);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace relais::testing
