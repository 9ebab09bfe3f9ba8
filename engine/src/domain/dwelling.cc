// Dwelling stream rules (events.md §3) and its Evolve.
#include "relais/domain.h"

namespace relais {

std::optional<RuleFailure> CheckDwellingEvent(const DwellingState& s, const Fact& f) {
  switch (f.type) {
    case EventType::kDwellingRegistered:
      if (s.registered)
        return RuleFailure{"already_registered", "the dwelling is already registered (since " +
                                                     FormatDate(s.registered_on) + ")"};
      return std::nullopt;
    case EventType::kDwellingReserved:
      if (!s.registered) return RuleFailure{"not_registered", "the dwelling is not registered"};
      if (s.reserved) return RuleFailure{"already_reserved", "the dwelling is already reserved"};
      return std::nullopt;
    case EventType::kDwellingReservationEnded:
      if (!s.registered) return RuleFailure{"not_registered", "the dwelling is not registered"};
      if (!s.reserved) return RuleFailure{"not_reserved", "the dwelling is not reserved"};
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

void EvolveDwelling(DwellingState& s, const Fact& f, Date d) {
  switch (f.type) {
    case EventType::kDwellingRegistered:
      s.registered = true;
      s.registered_on = d;
      s.territory = f.territory;
      s.typology = f.typology;
      break;
    case EventType::kDwellingReserved:
      s.reserved = true;
      break;
    case EventType::kDwellingReservationEnded:
      s.reserved = false;
      break;
    default:
      break;
  }
}

StreamVerdict CheckDwellingTimeline(const std::vector<TimelineEntry>& timeline) {
  DwellingState s;
  StreamVerdict v;
  for (size_t i = 0; i < timeline.size(); ++i) {
    if (auto failure = CheckDwellingEvent(s, *timeline[i].fact)) {
      v.ok = false;
      v.failing_index = i;
      v.failure = std::move(*failure);
      return v;
    }
    EvolveDwelling(s, *timeline[i].fact, timeline[i].effective);
  }
  return v;
}

}  // namespace relais
