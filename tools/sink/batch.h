// One transaction's worth of sink rows: what the events of positions
// [from, to] change, computed from the engine before anything is sent to
// PostgreSQL (so a failed connection costs a resend, never a recomputation
// half-written). Internal to tools/sink.
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "relais/engine.h"
#include "relais/projections/sink_rows.h"
#include "sink/sink.h"

namespace relais::sink {

struct Batch {
  Position from = 0, to = 0;
  std::string hash;  // the chain hash at `to`
  // Owners (columns[0] values) whose rows are replaced, per stream kind.
  std::map<StreamKind, std::vector<std::string>> owners;
  projections::SinkRows rows;  // the new rows of those owners, and the new events rows
  // Events subjects (as the events table names them) whose earlier rows are
  // rendered again: their household was erased in this batch.
  std::vector<std::string> rerendered_subjects;
  std::vector<projections::SinkRow> rerendered_events;  // positions < from
  // The months of monthly_indicators. `full_series`: they start on another
  // day (the first batch, an event effective before series_from): every
  // household's household_months are replaced and `monthly` holds the zero
  // rows monthly_indicators is rebuilt from. Else `new_months` (labels) were
  // added at the end: `monthly` holds their zero rows, and every household's
  // rows for them are in rows[kHouseholdMonths] (a household's share of the
  // earlier months does not change with them).
  bool full_series = false;
  std::vector<std::string> new_months;
  std::vector<projections::SinkRow> monthly;
  Date series_from, series_to;
  std::optional<Date> first_effective;
  std::vector<Timestamp> recorded_at;
};

struct BatchContext {
  Scope scope = Scope::kEvaluator;
  EventsFormat events_format = EventsFormat::kEnvelope;
  std::string pseudonym_key;
  std::string source_name;
  // Where the hash (and an origin's id) of each position comes from.
  LogSource* source = nullptr;
};

// Builds the batch of positions [from, to] (to <= the engine's head), cut
// short after the event whose body takes the events rows past `bytes_max`
// (Batch::to says where it ended). `first_effective`, `series_from` and
// `series_to` are sink_state's, before this batch.
struct SinkPoint {
  std::optional<Date> first_effective, series_from, series_to;
};
// `stop` set while it runs: Cancelled, the batch abandoned (nothing of it
// was sent), so that a server's shutdown does not wait for a long catch-up batch.
Result<Batch> BuildBatch(Engine& engine, const BatchContext& ctx, Position from, Position to,
                         const SinkPoint& before, size_t bytes_max, const std::atomic<bool>& stop);

}  // namespace relais::sink
