// Bail glissant (slide to a direct lease) and departures.

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "generate/simulation.h"

namespace relais::tools::gen {

void Simulation::Slide(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (h.home < 0) return;
  const Dwelling& d = dwellings_[static_cast<size_t>(h.home)];
  if (h.contract == Contract::kHosting ||
      (h.contract == Contract::kSublease && h.favourable_review)) {
    Data().Key("dwellingId").String(d.id).Key("to").String("direct_lease");
    Emit("LeaseSwitched", h.subject, today_);
    h.contract = Contract::kDirectLease;
    return;
  }
  if (h.contract != Contract::kSublease) return;
  const std::string_view outcome = rng_.Weighted(
      std::array<Choice, 3>{{{"favourable", 65}, {"postponed", 20}, {"unfavourable", 15}}});
  JsonWriter& j = Data().Key("outcome").String(outcome);
  int next = 0;
  if (outcome == "favourable") {
    h.favourable_review = true;
    next = NextWorkday(today_ + rng_.Between(0, 45));
  } else if (outcome == "postponed") {
    next = NextWorkday(today_ + rng_.Between(60, 120));
    j.Key("nextReviewDate").String(DayText(next));
  } else {
    next = NextWorkday(today_ + rng_.Between(90, 180));
    if (rng_.Chance(0.5)) j.Key("nextReviewDate").String(DayText(next));
  }
  Emit("SlideReviewHeld", h.subject, today_);
  Schedule(who, Process::kSlide, next);
}

void Simulation::Depart(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (h.home < 0) return;
  if (h.stage != Stage::kNone && h.stage != Stage::kClosed) {
    // Nobody leaves in the middle of a court procedure in this data set: it
    // would leave the procedure unable to end with eviction_carried_out.
    return Schedule(who, Process::kDeparture, today_ + rng_.Between(60, 120));
  }
  const std::string_view reason = rng_.Weighted(std::array<Choice, 6>{{{"voluntary_departure", 30},
                                                                       {"transfer", 12},
                                                                       {"rehoused", 25},
                                                                       {"death", 5},
                                                                       {"abandonment", 8},
                                                                       {"institution", 8}}});
  const char* destination = "unknown";
  if (reason == "transfer" || reason == "rehoused") {
    destination = "permanent";
  } else if (reason == "institution") {
    destination = "institutional";
  } else if (reason == "voluntary_departure") {
    destination = rng_.Weighted(
        std::array<Choice, 3>{{{"permanent", 50}, {"temporary", 20}, {"unknown", 30}}});
  } else if (reason == "abandonment" && rng_.Chance(0.2)) {
    destination = "temporary";
  }
  Data()
      .Key("dwellingId")
      .String(dwellings_[static_cast<size_t>(h.home)].id)
      .Key("reason")
      .String(reason)
      .Key("destination")
      .String(destination);
  Emit("OccupancyEnded", h.subject, today_);
  Vacate(who);
  if (h.episode_status == EpisodeStatus::kActive || h.episode_status == EpisodeStatus::kPaused) {
    CloseEpisode(who, reason == "death" ? "death" : "moved_out");
  }
  h.active = false;
  Cancel(who, Process::kSlide);
  // Arrears stay open after the departure until they are cleared, if ever.
  if (h.arrears_open && reason != "death" && rng_.Chance(0.4)) {
    h.arrears_step = ArrearsStep::kClear;
    Schedule(who, Process::kArrears, today_ + rng_.Between(60, 365));
  } else {
    Cancel(who, Process::kArrears);
  }
}

}  // namespace relais::tools::gen
