// Evidence bundles (evidence.md §3): a view's events with their stored
// bytes and inclusion proofs against a signed checkpoint, so that a third
// party can check them offline (relais::evidence::CheckBundle).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "relais/engine.h"
#include "relais/json_writer.h"
#include "relais/status.h"
#include "relais/types.h"

namespace relais::projections {

// The JSON of `relais prove` (evidence.md §3).
std::string InclusionJson(const InclusionProof& p);
std::string ConsistencyJson(const ConsistencyProof& p);

// The bundle of the events of `view_json` (a history, or a tenancy record:
// any object whose "events" array holds history envelopes with "position"),
// as already filtered for its reader, against the checkpoint of the head
// known at `known_at` (the whole log when unset). `since`: an older
// checkpoint of this log; one that is not (bad signature, another key, a size
// past that head, a root this log never had) is Corruption naming why.
Result<std::string> EvidenceBundle(Engine& engine, std::string_view subject,
                                   std::optional<Timestamp> known_at, std::string_view view_json,
                                   const std::optional<std::string>& since);

}  // namespace relais::projections
