// The coordinators' own activity on the territory streams.

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "generate/simulation.h"

namespace relais::tools::gen {

// The coordinators' own activity: a few trainings, consultations and partner
// meetings a month per territory, some entered late, some by a named coordinator.
void Simulation::TerritoryActivity(int territory) {
  const char* subject = kTerritorySubjects[territory];
  const std::string_view name = kTerritories[static_cast<size_t>(territory)];
  const int effective = Late(0.1, start_day_);
  std::string actor;
  if (rng_.Chance(0.6)) {
    actor = "{\"id\":\"coord-" + std::string(name) + "-" + std::to_string(rng_.Between(1, 2)) +
            "\",\"role\":\"coordinator\",\"org\":\"" + std::string(name) + "\"}";
  }
  const size_t kind = rng_.Weighted(std::array<int, 3>{30, 25, 45});
  const char* type = nullptr;
  const char* count_field = nullptr;
  int count = 0;
  if (kind == 0) {
    type = "StaffTrainingHeld";
    count_field = "attendees";
    count = rng_.Between(5, 25);
    Data().Key("topic").String(Pick(kTrainingTopics)).Key(count_field).Int(count);
  } else if (kind == 1) {
    type = "TenantConsultationHeld";
    count_field = "participants";
    count = rng_.Between(4, 40);
    Data()
        .Key("tenantAssociation")
        .String(Pick(kTenantAssociations))
        .Key("topic")
        .String(Pick(kConsultationTopics))
        .Key(count_field)
        .Int(count);
  } else {
    type = "PartnerMeetingHeld";
    JsonWriter& j = Data().Key("partners").BeginArray();
    const int first = rng_.Between(0, static_cast<int>(std::size(kPartners)) - 1);
    const int n = rng_.Between(1, 4);
    for (int i = 0; i < n; ++i) j.String(kPartners[(first + i * 2) % std::size(kPartners)]);
    j.EndArray().Key("topic").String(Pick(kMeetingTopics));
  }
  const int64_t ordinal =
      Emit(type, subject, effective, {.expect_new_stream = false, .actor = actor});
  ++territory_events_;
  const int owner = -1 - territory;
  if (count_field != nullptr && rng_.Chance(0.06)) {
    PlanFix(ordinal, owner, FixKind::kCount, std::max(1, count + rng_.Between(-3, 3)), effective,
            effective, count_field);
  } else if (rng_.Chance(0.03)) {
    PlanFix(ordinal, owner, FixKind::kTerritoryDate, rng_.Between(1, 7), effective, start_day_);
  }
  Schedule(territory, Process::kTerritory, NextWorkday(today_ + rng_.Between(3, 12)));
}

}  // namespace relais::tools::gen
