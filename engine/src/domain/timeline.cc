// Effective order of a stream, with corrections and retractions applied.
#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "relais/domain.h"

namespace relais {

std::vector<TimelineEntry> BuildTimeline(const std::vector<const EventRecord*>& records,
                                         Position known_at, std::optional<Date> as_of) {
  // Corrections are rare: only build the lookup tables when the stream has one.
  bool has_corrections = false;
  for (const EventRecord* r : records) {
    if (r->position <= known_at && IsCorrection(r->type)) {
      has_corrections = true;
      break;
    }
  }
  std::unordered_map<Uuid, const EventRecord*, UuidHash> latest_correction;
  std::unordered_map<Uuid, bool, UuidHash> retracted;
  if (has_corrections) {
    for (const EventRecord* r : records) {
      if (r->position > known_at) continue;
      // Records are in position order, so the last correction seen is the one
      // that carries every earlier correction of the same target merged in.
      if (r->type == EventType::kEventCorrected) latest_correction[r->fact.target_id] = r;
      if (r->type == EventType::kEventRetracted) retracted[r->fact.target_id] = true;
    }
  }
  std::vector<TimelineEntry> out;
  out.reserve(records.size());
  for (const EventRecord* r : records) {
    if (r->position > known_at || IsCorrection(r->type)) continue;
    TimelineEntry e{r, &r->fact, r->effective, false};
    if (has_corrections) {
      if (retracted.count(r->id)) continue;
      auto it = latest_correction.find(r->id);
      if (it != latest_correction.end()) {
        e.fact = &it->second->fact;
        e.effective = it->second->corrected_effective;
      }
    }
    if (as_of && e.effective > *as_of) continue;
    out.push_back(e);
  }
  std::stable_sort(out.begin(), out.end(), [](const TimelineEntry& a, const TimelineEntry& b) {
    if (a.effective != b.effective) return a.effective < b.effective;
    return a.record->position < b.record->position;
  });
  return out;
}

}  // namespace relais
