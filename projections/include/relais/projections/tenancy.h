// The tenancy record of a dwelling (evidence.md §0): the events of the
// dwelling's own stream and the household events a dispute over its tenancy
// is about, each with its whole envelope, as `relais tenancy` and
// GET /v1/streams/dwelling%2F<id>/tenancy return them.
//
//   ASSIGN_OR_RETURN(TenancyRecord r, BuildTenancyRecord(engine, subject, t, today));
//   std::string json = RenderTenancyJson(r, TenancyShowAll(r), false);
//
// The record is read from the dwelling's stream and from the household
// streams the dwelling reference index names (Engine::HouseholdsReferencing:
// every household one of whose events, in its original or in a corrected
// form, names the dwelling), never by folding the whole log. The readings of
// §0 this code had to choose are in docs/decisions.md ("Tenancy record").
//
// Role filtering is visibility.h's TenancyFor; this file knows no role.
// Thread-safety: the functions only read the engine; safe to call
// concurrently.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "relais/engine.h"
#include "relais/projections/views.h"
#include "relais/status.h"
#include "relais/types.h"

namespace relais::projections {

// Why an event is in the record (the rule of §0 that brought it in).
enum class TenancyReason : uint8_t {
  kDwelling,    // an event of the dwelling's own stream
  kDwellingId,  // a household event whose (corrected) data.dwellingId is the dwelling
  kArrears,     // RepaymentPlanAgreed .. ArrearsCleared of an episode opened about it
  kEviction,    // a step of a procedure begun while such an episode was open
  kCorrection,  // an EventCorrected / EventRetracted of one of the above
};

struct TenancyEvent {
  StoredEventView view;  // as recorded: a correction's own data, not the merged target
  TenancyReason reason = TenancyReason::kDwelling;
};

struct TenancyRecord {
  Subject subject;
  std::optional<Timestamp> known_at;
  Position known_position = 0;  // the last log position the record sees
  // The dwelling status's "occupancies" array (interfaces.md §1), as of the
  // view's date, known at `known_position`: raw JSON.
  std::string occupancies_json;
  std::vector<TenancyEvent> events;  // position order, across streams
  // The records (position <= known_position) of every stream the record
  // read, by subject text: what the role filter needs to class events
  // (a correction's record carries its merged target fact).
  std::map<std::string, std::vector<EventRecord>> records;
};

// Limit: households one dwelling's record reads (docs/limits.md). The record
// of a dwelling referenced by more is an error (kResourceExhausted), never a
// read without bound.
inline constexpr size_t kTenancyHouseholdsMax = 10000;

// Builds the record of `dwelling` known at t.known_at (all of the log when
// unset); the occupancies are as of AsOfDate(t, today). NotFound when the
// dwelling's stream has no event known then; InvalidArgument when `dwelling`
// is not a dwelling subject.
Result<TenancyRecord> BuildTenancyRecord(Engine& engine, const Subject& dwelling,
                                         const ViewTime& t, Date today);

// What a reader is shown: shown[i] for events[i], with data[i] as its `data`.
struct TenancyShown {
  std::vector<bool> shown;
  std::vector<std::string> data;
};
TenancyShown TenancyShowAll(const TenancyRecord& r);

// The JSON of evidence.md §0: {"subject", "knownAt", "filtered",
// "occupancies", "events": [envelope + correctedBy + retractedBy]}; links name
// shown corrections only.
std::string RenderTenancyJson(const TenancyRecord& r, const TenancyShown& s, bool filtered,
                              bool pretty);

// The printable dispute file in French (A4, self-contained, no script).
// `checkpoint_note`: the signed checkpoint (C2SP note text) the record can be
// checked against, or empty, which prints a marked placeholder section.
std::string RenderTenancyHtml(const TenancyRecord& r, const TenancyShown& s, bool filtered,
                              const std::string& checkpoint_note);

// The signed checkpoint of the tree of size r.known_position (evidence.md §2),
// what the dispute file prints to be checked against; empty when the log
// cannot sign one (no tree or no signing key yet: a directory of an older
// relais opened read-only), so the file shows its placeholder instead.
std::string TenancyCheckpointNote(Engine& engine, const TenancyRecord& r);

// `relais tenancy` (the local, unfiltered reading) in JSON.
Result<std::string> TenancyJson(Engine& engine, const Subject& dwelling, const ViewTime& t,
                                Date today, bool pretty);

}  // namespace relais::projections
