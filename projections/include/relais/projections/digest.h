// The replay digest (issue 8, "what must exist" 7): one SHA-256 that says
// "these projections are the ones this log gives", printed by `relais verify`.
//
// It covers, known at a log position P (the head) and as of the UTC date of
// P's recordedAt:
//   - the status JSON (StatusJsonAt) of every stream with an event at or
//     before P, in subject order (byte order of the subject text);
//   - the indicator report JSON (ComputeReport + RenderReport kJson) at the
//     same (asOf, knownAt = P's recordedAt, logPosition = P), its logHash
//     blanked: the chain hash covers sealed personal data, which differs
//     between directories (each seals with its own household keys), so the
//     same events replayed elsewhere have other hashes but the same digest.
// Each part is framed with its kind, name and byte length, so no two logs
// hash the same input by a shift of bytes between parts. docs/reports.md
// ("Replay digest") describes the framing.
//
// It depends only on the events at or before P: no clock, no "today", no
// cache or load order, no hash-map order (the parts are sorted, the JSON
// writers emit keys in a fixed order). A replay of the same events into
// another directory (same recordedAt), a restored backup, or another machine
// give the same digest.
//
// Thread-safety: reads the engine only; safe to call concurrently.
#pragma once

#include <string>

#include "relais/engine.h"
#include "relais/status.h"

namespace relais::projections {

// The digest of the whole log at its head (lowercase hex, 64 digits).
Result<std::string> ReplayDigest(Engine& engine);

// The digest known at position `p` (<= the head). p == 0 is the empty log.
Result<std::string> ReplayDigestAt(Engine& engine, Position p);

}  // namespace relais::projections
