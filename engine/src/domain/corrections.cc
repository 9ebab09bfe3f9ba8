// The rules proper to EventCorrected and EventRetracted (events.md §3, "Any
// stream"). Whether the corrected stream still satisfies every rule is checked
// by re-folding it (the caller); this file checks the target itself.
#include "relais/domain.h"

namespace relais {

std::optional<RuleFailure> CheckCorrectionTarget(const std::vector<const EventRecord*>& records,
                                                 const EventRecord& correction,
                                                 const CrossStream& cross) {
  const Uuid& target_id = correction.fact.target_id;
  const EventRecord* target = nullptr;
  bool retracted = false;
  Date current_effective;
  for (const EventRecord* r : records) {
    if (r->position >= correction.position) break;
    if (r->id == target_id) {
      target = r;
      current_effective = r->effective;
    }
    if (!target) continue;
    if (r->type == EventType::kEventRetracted && r->fact.target_id == target_id) retracted = true;
    if (r->type == EventType::kEventCorrected && r->fact.target_id == target_id)
      current_effective = r->corrected_effective;
  }
  const std::string id_text = FormatUuid(target_id);
  if (!target || IsCorrection(target->type) || retracted)
    return RuleFailure{"target_not_found",
                       "event " + id_text +
                           (!target                      ? " is not in this stream"
                            : IsCorrection(target->type) ? " is itself a correction or retraction"
                                                         : " is retracted")};

  const bool is_registration = target->type == EventType::kHouseholdRegistered ||
                               target->type == EventType::kDwellingRegistered;
  if (correction.type == EventType::kEventRetracted && is_registration) {
    for (const EventRecord* r : records) {
      if (r->position >= correction.position) break;
      if (r != target && !IsCorrection(r->type))
        return RuleFailure{"correction_breaks_rules",
                           "the registration cannot be retracted while the stream has other "
                           "events (inner rule: not_registered)"};
    }
  }
  if (target->type == EventType::kDwellingRegistered) {
    const bool moved_later = correction.type == EventType::kEventCorrected &&
                             correction.corrected_effective > current_effective;
    const bool retract = correction.type == EventType::kEventRetracted;
    std::string dwelling_id(target->fact.dwelling_id);
    if ((moved_later || retract) && cross.DwellingReferenced(dwelling_id))
      return RuleFailure{"correction_breaks_rules",
                         "the registration of dwelling '" + dwelling_id +
                             "' cannot be retracted or moved later: a household references it "
                             "(inner rule: dwelling_not_registered)"};
  }
  return std::nullopt;
}

}  // namespace relais
