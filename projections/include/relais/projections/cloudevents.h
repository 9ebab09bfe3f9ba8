// CloudEvents 1.0 (JSON event format, cloudevents/spec
// cloudevents/formats/json-format.md) for relais's events: the feed
// (`GET /v1/feed?format=cloudevents`), the export (`relais export --format
// cloudevents`) and the sink's events table (`--events-format cloudevents`).
//
// One mapping, from the envelope every read path already renders (history,
// feed, export), so that the CloudEvent carries exactly what the caller may
// see and nothing more:
//   specversion "1.0"; id = the envelope's id (the pseudonym in an export);
//   source = the installation (its checkpoint origin, a URI-reference);
//   type = "fr.relais.<EventType>"; subject; time = recordedAt;
//   datacontenttype "application/json"; data = the envelope's data;
//   extension attributes: position (integer), effectivedate (string),
//   hash (when the envelope has one), streamversion (integer), actorrole,
//   actorid, actororg (those the envelope carries), personaldataerased (true
//   on events whose personal fields were erased, lifecycle.md §1).
// Thread-safety: pure function (one parser per thread).
#pragma once

#include <string>
#include <string_view>

#include "relais/engine.h"
#include "relais/status.h"

namespace relais::projections {

inline constexpr std::string_view kCloudEventTypePrefix = "fr.relais.";

// The CloudEvent (one JSON object, no newline) of one envelope. An envelope
// that does not parse or lacks id/type/subject/recordedAt is Internal: the
// envelopes are relais's own.
Result<std::string> ToCloudEvent(std::string_view envelope_json, std::string_view source);

// The installation's name, its checkpoints' origin (the verifier key's name);
// "relais" for a directory that has no signing key yet.
std::string InstallationSource(Engine& engine);

}  // namespace relais::projections
