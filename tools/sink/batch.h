// One transaction's worth of sink rows: what the events of positions
// [from, to] change, computed from the engine before anything is sent to
// PostgreSQL (so a failed connection costs a resend, never a recomputation
// half-written). Internal to tools/sink.
#pragma once

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
  // The months of monthly_indicators changed (a new month, an earlier first
  // effective date): every household was re-folded into household_months,
  // and `monthly` holds the zero rows monthly_indicators starts from.
  bool full_series = false;
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
};

// Builds the batch of positions [from, to] (to <= the engine's head), cut
// short after the event whose body takes the events rows past `bytes_max`
// (Batch::to says where it ended). `first_effective`, `series_from` and
// `series_to` are sink_state's, before this batch.
struct SinkPoint {
  std::optional<Date> first_effective, series_from, series_to;
};
Result<Batch> BuildBatch(Engine& engine, const BatchContext& ctx, Position from, Position to,
                         const SinkPoint& before, size_t bytes_max);

}  // namespace relais::sink
