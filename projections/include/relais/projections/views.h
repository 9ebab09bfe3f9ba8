// Read models: a stream's status and history "as of D, known at T"
// (time-and-indicators.md §1), folded from the engine's public API with the
// domain's Evolve functions.
#pragma once

#include <optional>
#include <unordered_map>
#include <vector>
#include <string>

#include "relais/domain.h"
#include "relais/engine.h"
#include "relais/json_writer.h"
#include "relais/status.h"
#include "relais/types.h"

namespace relais::projections {

// The two times of a view. Unset known_at means "everything in the log";
// unset as_of means the UTC date of known_at, or `today`.
struct ViewTime {
  std::optional<Date> as_of;
  std::optional<Timestamp> known_at;
};

// The log position a view sees: the last one recorded at or before known_at.
Result<Position> KnownAtPosition(Engine& engine, const ViewTime& t);
Date AsOfDate(const ViewTime& t, Date today);

// events.md §5 / interfaces.md §1 `relais status`. NotFound when the subject
// has no event known at T.
Result<std::string> StatusJson(Engine& engine, const Subject& subject, const ViewTime& t,
                               Date today, bool pretty);
// The same, known at a log position rather than a time (the replay digest:
// "known at the head" is exact even when later events share its recordedAt).
Result<std::string> StatusJsonAt(Engine& engine, const Subject& subject, Position known_at,
                                 Date as_of, bool pretty);

// interfaces.md §1 `relais history`.
Result<std::string> HistoryJson(Engine& engine, const Subject& subject,
                                std::optional<Timestamp> known_at, bool pretty);

// The events of a stream that exist at T (position order); NotFound when
// none does.
Result<std::vector<StoredEventView>> EventsKnownAt(Engine& engine, const Subject& subject,
                                                   std::optional<Timestamp> known_at);

// History rendering shared by `relais history` and the role-filtered reads of
// the server: the events with shown[i], each with data[i] as its `data`, and
// their correctedBy / retractedBy links among the shown events.
std::string RenderHistory(const Subject& subject, std::optional<Timestamp> known_at,
                          const std::vector<StoredEventView>& events,
                          const std::vector<bool>& shown, const std::vector<std::string>& data,
                          bool filtered, bool pretty);
// One event's envelope keys (position ... hash), `data_json` as its data.
void WriteEnvelope(JsonWriter& w, const StoredEventView& v, std::string_view data_json);

// The correctedBy / retractedBy links of history (and of the tenancy
// record): from the shown corrections and retractions only, so a hidden one
// stays hidden. Event ids are unique in the log, so one table serves events
// of several streams.
class HistoryLinks {
 public:
  void Add(const StoredEventView& v);  // a shown event; only corrections and retractions count
  // One history event: its envelope, then correctedBy and retractedBy.
  void WriteEvent(JsonWriter& w, const StoredEventView& v, std::string_view data_json) const;

 private:
  struct Links {
    std::vector<std::string> corrected_by;
    std::optional<std::string> retracted_by;
  };
  std::unordered_map<Uuid, Links, UuidHash> links_;
};
// `relais verify` / GET /v1/verify. `digest` is written only when r.ok.
std::string VerifyJson(const VerifyReport& r, std::string_view digest = {});
// What `relais verify` and GET /v1/verify print: when `*r` is ok, with the
// replay digest (digest.h) of the verified head, position r->events. A digest
// that cannot be computed (the log cannot be folded) turns `*r` into a
// failure naming why, so the caller's exit code / status follows it.
std::string VerifyJson(Engine& engine, VerifyReport* r);

// The household state folded for (D, T); `found` false when the stream has no
// event known at T.
Result<HouseholdState> FoldHousehold(Engine& engine, const Subject& subject, Position known_at,
                                     Date as_of, bool* found);

}  // namespace relais::projections
