// The rows of the PostgreSQL sink's tables (docs/sink.md), as pure functions
// of a stream's records: the same BuildTimeline and Evolve* folds as status
// and the report, so a table row is what `relais status` says, and the dated
// facts (referrals, episodes, pauses, steps...) are the ones the report counts.
//
// A stream's rows are always rebuilt whole from its records known at a
// position (a back-dated event, a correction or a retraction re-folds the
// stream; nothing is patched). Every table but `events` and
// `monthly_indicators` is owned by one stream kind through its first column
// (household_id, dwelling_id or territory): replacing a stream's rows is
// "delete where owner = id, insert the new rows".
//
// No personal data is ever in these rows: the folds carry none (events.md §1,
// Fact holds only whether a personal field is present), so an erased
// household's rows are the same as before its erasure, with `erased` true.
// Identifiers go through an IdMap: the identity for the admin scope, the
// pseudonymised export's Pseudonym for the evaluator scope, so that the rows
// join with the evaluator's export and its events table.
//
// Thread-safety: pure functions.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/engine.h"
#include "relais/projections/report.h"
#include "relais/types.h"

namespace relais::projections {

enum class SinkTableId : uint8_t {
  kHouseholds,
  kHouseholdTerritories,
  kReferrals,
  kCalDecisions,
  kOccupancies,
  kContractPeriods,
  kSupportEpisodes,
  kSupportPauses,
  kSituationReviews,
  kObjectives,
  kArrearsEpisodes,
  kProcedureSteps,
  kDwellings,
  kPlatformActivity,
  kMonthlyIndicators,
  kEvents,
  kHouseholdMonths,
};
inline constexpr int kSinkTableCount = 17;

struct SinkColumn {
  std::string_view name;
  std::string_view sql_type;  // PostgreSQL type, with NOT NULL where it holds
};

struct SinkTable {
  SinkTableId id;
  std::string_view name;
  std::vector<SinkColumn> columns;
  std::vector<std::string_view> key;  // the primary key's columns
  // The stream kind whose fold owns the rows (through columns[0]); nullopt
  // for monthly_indicators (replaced whole) and events (one row per event).
  std::optional<StreamKind> owner;
};

// Every table, indexed by SinkTableId.
const std::vector<SinkTable>& SinkTables();
const SinkTable& SinkTableOf(SinkTableId id);

// A value in PostgreSQL's text input form ("t", "2016-03-01", "42", ...) or
// NULL (nullopt).
using SinkValue = std::optional<std::string>;
using SinkRow = std::vector<SinkValue>;

struct SinkRows {
  // rows[static_cast<int>(SinkTableId)]
  std::vector<std::vector<SinkRow>> tables = std::vector<std::vector<SinkRow>>(kSinkTableCount);
  std::vector<SinkRow>& operator[](SinkTableId id) { return tables[static_cast<int>(id)]; }
  const std::vector<SinkRow>& operator[](SinkTableId id) const {
    return tables[static_cast<int>(id)];
  }
};

// Maps a bare identifier (household, dwelling, referral, episode, objective
// id) to what the tables hold.
using IdMap = std::function<std::string(std::string_view)>;

// The rows every owned table holds for one stream: its records in position
// order (Engine::ReadStream), seen as known at `known_at` (later records do
// not exist), folded over every effective date (the current state: no event
// is effective after its recordedAt's date). A stream with no record known at
// `known_at` has no row. Territory streams own platform_activity rows only.
// `months` (may be null): a household's household_months rows too, its
// share of the monthly series over those months (HouseholdSeries, folded as
// of the last month's last day).
SinkRows StreamRows(const Subject& subject, const std::vector<EventRecord>& records,
                    Position known_at, const IdMap& ids,
                    const std::vector<SeriesMonth>* months = nullptr);

// A household's household_months rows alone, over `months` (its share of
// each; months it adds nothing to have no row).
std::vector<SinkRow> HouseholdMonthRows(const Subject& household,
                                        const std::vector<EventRecord>& records, Position known_at,
                                        const IdMap& ids, const std::vector<SeriesMonth>& months);

// The owner value of a stream's rows (columns[0]): the mapped bare id, or the
// territory's name (territories are not pseudonymised: they are the report's
// own blocks).
std::string SinkOwner(const Subject& subject, const IdMap& ids);

// monthly_indicators: the rows of ComputeSeries (`relais report --series`),
// one per month and territory, in its order. The sink keeps it as the sum
// of household_months (plus zeros), which is the same sum ComputeSeries makes.
std::vector<SinkRow> MonthlyIndicatorRows(const std::vector<SeriesRow>& series);

}  // namespace relais::projections
