// Late entries, corrections and retractions.

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "generate/simulation.h"

namespace relais::tools::gen {

// Effective day of a fact recorded today: usually today, sometimes a late entry
// made days or weeks after the fact, never before `floor_day`.
int Simulation::Late(double probability, int floor_day) {
  if (!rng_.Chance(probability)) return today_;
  const int day = std::max(today_ - rng_.Between(2, 45), floor_day);
  return std::min(day, today_);
}

void Simulation::PlanFix(int64_t target, int owner, FixKind kind, int value, int effective_day,
                         int floor_day, const char* field) {
  fixes_.push_back({target, owner, kind, value, effective_day, floor_day, field});
  Schedule(static_cast<int>(fixes_.size()) - 1, Process::kFix,
           NextWorkday(today_ + rng_.Between(7, 120)));
}

void Simulation::ApplyFix(const Fix& fix) {
  const std::string_view subject =
      fix.owner >= 0 ? std::string_view(households_[static_cast<size_t>(fix.owner)].subject)
                     : std::string_view(kTerritorySubjects[-1 - fix.owner]);
  const std::string target = emitter_.Uuid(fix.target);
  if (fix.kind == FixKind::kRetract) {
    Data().Key("targetId").String(target).Key("reason").String(Pick(kRetractionReasons));
    Emit("EventRetracted", subject, today_);
    return;
  }
  if (fix.kind == FixKind::kDifficultyDate || fix.kind == FixKind::kTerritoryDate) {
    // Only ever earlier, and never before the stream's registration: a fact
    // with no rule of its own then stays valid on its new day.
    const int day = std::max(fix.floor_day, fix.effective_day - fix.value);
    if (day >= fix.effective_day) return;
    Data()
        .Key("targetId")
        .String(target)
        .Key("effectiveDate")
        .String(DayText(day))
        .Key("reason")
        .String("Date erronée");
    Emit("EventCorrected", subject, today_);
    return;
  }
  JsonWriter& j = Data().Key("targetId").String(target).Key("data").BeginObject();
  switch (fix.kind) {
    case FixKind::kSeverity:
      j.Key("severity").Int(fix.value);
      break;
    case FixKind::kRent:
      j.Key("rentCents").Int(fix.value);
      break;
    case FixKind::kAmount:
      j.Key("amountCents").Int(fix.value);
      break;
    case FixKind::kNotes:
      j.Key("notes").String(kReviewNotes[fix.value]);
      break;
    default:
      j.Key(fix.field).Int(fix.value);
      break;
  }
  j.EndObject().Key("reason").String(Pick(kCorrectionReasons));
  Emit("EventCorrected", subject, today_);
}

}  // namespace relais::tools::gen
