// The simulation's plumbing: the agenda, wake-up tokens, the run loop and the
// dispatch of wake-ups to the processes.

#include "generate/simulation.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace relais::tools::gen {

void Simulation::Schedule(int who, Process process, int day) {
  // Nothing happens after the period; wake-ups past its end are simply dropped.
  if (day >= end_day_) return;
  uint32_t token = 0;
  if (static_cast<int>(process) < kHouseholdProcesses) {
    token = ++households_[who].tokens[static_cast<int>(process)];
  }
  agenda_.push({std::max(day, today_), next_seq_++, who, process, token});
}

void Simulation::Cancel(int who, Process process) {
  ++households_[who].tokens[static_cast<int>(process)];
}

int64_t Simulation::Emit(std::string_view type, std::string_view subject, int effective_day,
                         const Extras& extras) {
  if (data_.depth() != 1) {
    // Every nested object or array is ended where it is built: a bug of this
    // generator otherwise, never of its input.
    std::fprintf(stderr, "generator: %.*s data left %zu containers open\n",
                 static_cast<int>(type.size()), type.data(), data_.depth());
    std::abort();
  }
  data_.EndObject();
  return emitter_.Add(type, subject, effective_day, data_.str(), extras);
}

SimStats Simulation::Run() {
  PlanArrivals();
  RegisterStock();
  for (int t = 0; t < 3; ++t) {
    Schedule(t, Process::kTerritory, NextWorkday(start_day_ + rng_.Between(0, 10)));
  }
  while (!agenda_.empty()) {
    const Wakeup wakeup = agenda_.top();
    agenda_.pop();
    if (wakeup.day != today_) {
      emitter_.FinishDay(today_);
      today_ = wakeup.day;
    }
    Dispatch(wakeup);
  }
  emitter_.FinishDay(today_);
  emitter_.Flush();
  SimStats stats;
  stats.gen.lines = emitter_.lines();
  stats.gen.events = emitter_.events();
  stats.gen.households = registered_;
  stats.gen.dwellings = static_cast<int64_t>(dwellings_.size());
  stats.territory_events = territory_events_;
  return stats;
}

void Simulation::Dispatch(const Wakeup& wakeup) {
  if (wakeup.process == Process::kFix) return ApplyFix(fixes_[wakeup.who]);
  if (wakeup.process == Process::kTerritory) return TerritoryActivity(wakeup.who);
  const Household& h = households_[wakeup.who];
  if (wakeup.token != h.tokens[static_cast<int>(wakeup.process)]) return;  // superseded
  switch (wakeup.process) {
    case Process::kRegister:
      return Register(wakeup.who);
    case Process::kAccess:
      return AccessFlow(wakeup.who);
    case Process::kMaintien:
      return DecideMaintienReferral(wakeup.who);
    case Process::kSupport:
      return Support(wakeup.who);
    case Process::kSlide:
      return Slide(wakeup.who);
    case Process::kDeparture:
      return Depart(wakeup.who);
    case Process::kArrears:
      return Arrears(wakeup.who);
    case Process::kDifficulty:
      return ReportDifficulty(wakeup.who);
    case Process::kAdmin:
      return Admin(wakeup.who);
    default:
      return;
  }
}

}  // namespace relais::tools::gen
