// Difficulties and paperwork with no rule attached.

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "generate/simulation.h"

namespace relais::tools::gen {

void Simulation::ReportDifficulty(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (h.home < 0 || !h.active) return;
  const char* category = std::string_view(h.source) == "epsm" && rng_.Chance(0.4)
                             ? "mental_health"
                             : rng_.Weighted(kDifficulties);
  const int severity = 1 + static_cast<int>(rng_.Weighted(std::array<int, 3>{50, 35, 15}));
  const int effective = Late(0.08, h.registered_on);
  Data().Key("category").String(category).Key("severity").Int(severity);
  const int64_t ordinal = Emit("DifficultyReported", h.subject, effective);
  const int draw = rng_.Chance(0.035) ? rng_.Between(0, 99) : 100;
  if (draw < 50) {
    PlanFix(ordinal, who, FixKind::kSeverity, severity % 3 + 1, effective, h.registered_on);
  } else if (draw < 90) {
    PlanFix(ordinal, who, FixKind::kDifficultyDate, rng_.Between(1, 14), effective,
            h.registered_on);
  } else if (draw < 100) {
    PlanFix(ordinal, who, FixKind::kRetract, 0, effective, h.registered_on);
  }
  // Difficulties come in spells rather than forever: about six reports a household.
  if (rng_.Chance(0.85)) Schedule(who, Process::kDifficulty, today_ + rng_.Between(60, 240));
}

// Paperwork with no rule attached: priority recognition, consents, transfers.
void Simulation::Admin(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (!h.active) return;
  if (h.pending_priority) {
    h.pending_priority = false;
    const std::string_view source = h.source;
    const char* basis = source == "dalo"      ? "dalo"
                        : source == "pdalhpd" ? "pdalhpd"
                                              : rng_.Weighted(kPriorityBases);
    JsonWriter& j = Data().Key("basis").String(basis);
    if (rng_.Chance(0.5)) j.Key("offerDeadline").String(DayText(today_ + rng_.Between(90, 180)));
    Emit("PriorityRecognised", h.subject, Late(0.3, h.referral_day));
    return Schedule(who, Process::kAdmin, today_ + rng_.Between(90, 400));
  }
  const int draw = rng_.Between(0, 99);
  if (draw < 20) {
    h.data_sharing = !h.data_sharing;
    Consent(who, "data_sharing", h.data_sharing, Late(0.2, h.registered_on));
  } else if (draw < 26) {
    Consent(who, "keep_history", true, today_);
  } else if (draw < 31 && !h.transferred) {
    h.transferred = true;
    h.territory = (h.territory + rng_.Between(1, 2)) % 3;
    Data().Key("territory").String(kTerritories[static_cast<size_t>(h.territory)]);
    Emit("CaseTransferred", h.subject, today_);
  }
  Schedule(who, Process::kAdmin, today_ + rng_.Between(120, 400));
}

}  // namespace relais::tools::gen
