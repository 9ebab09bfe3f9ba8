// The evaluation report (time-and-indicators.md §2-§4) and its monthly series.
//
// A report is a pure function of the log, D and T: every household stream is
// folded as of D, known at T (the same BuildTimeline and EvolveHousehold as
// the status view), its facts are extracted once, and the indicators are
// counted from those facts. The same log, D and T give byte-identical output.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "relais/engine.h"
#include "relais/projections/views.h"
#include "relais/status.h"

namespace relais::projections {

enum class ReportFormat { kJson, kCsv, kMarkdown, kHtml };

// The period P of a report as of D: the 365 days ending on D, both ends
// included (time-and-indicators.md §2).
inline Date PeriodStart(Date as_of) { return as_of - 364; }

struct ReportRequest {
  ViewTime time;
  Date today;  // D when neither as_of nor known_at is given
};

// One territory block, with the raw values medians are taken of.
struct TerritoryFigures {
  int64_t households_registered = 0;
  int64_t referrals_access = 0, referrals_maintien = 0;
  std::array<int64_t, 12> referrals_by_source{};
  int64_t supported_access = 0, supported_maintien = 0, supported_unreferred = 0;
  int64_t active_support_at_date = 0;
  std::array<int64_t, 5> cal_decisions{};
  int64_t move_ins = 0;
  std::vector<int32_t> days_referral_to_move_in;
  int64_t lease_switches = 0;
  std::vector<int32_t> days_to_switch;
  int64_t retention_cohort = 0, retention_retained = 0;
  int64_t exits_total = 0;
  std::array<int64_t, 7> exits_by_reason{};
  int64_t exits_permanent = 0;
  int64_t arrears_open_at_date = 0, arrears_alerts = 0, arrears_cleared = 0;
  int64_t evictions_carried_out = 0, avoided_cohort = 0, avoided = 0;
  int64_t support_closed = 0;
  std::array<int64_t, 7> support_closed_by_reason{};
  std::vector<int32_t> support_days;
  int64_t resumption_cohort = 0, resumed = 0;
  int64_t review_cohort = 0, review_compliant = 0;
  int64_t objectives_total = 0, objectives_achieved = 0;
  int64_t staff_trainings = 0, attendees = 0, tenant_consultations = 0, partner_meetings = 0;

  void Add(const TerritoryFigures& o);  // counts summed, value lists joined
};

struct Report {
  Date as_of;
  std::optional<Timestamp> known_at;
  Position log_position = 0;
  std::string log_hash;
  // The signed checkpoint of tree size log_position (ComputeReport only;
  // unset without a signing key yet). Keyed by the installation, so left out
  // of the replay digest like the chain hash.
  std::optional<std::string> checkpoint;
  // all, lille, sud, flandres
  std::array<TerritoryFigures, 4> territories;
  // ComputeReport only, for the HTML footer's command: the recordedAt of the
  // event at log_position, and whether `--known-at` that instant gives back
  // exactly log_position (false when a later event shares the instant).
  std::optional<Timestamp> view_recorded_at;
  bool view_pinnable = false;
};

inline constexpr std::array<const char*, 4> kTerritoryKeys = {"all", "lille", "sud", "flandres"};

Result<Report> ComputeReport(Engine& engine, const ReportRequest& request);
// The same, known at log position `known_at` (capped at the head) instead of
// the last position recorded at or before request.time.known_at, which is
// still the knownAt the report states. The replay digest uses it.
Result<Report> ComputeReportAt(Engine& engine, const ReportRequest& request, Position known_at);
std::string RenderReport(const Report& report, ReportFormat format);
struct SeriesRow;

// The programme's yearly targets for householdsSupported, shown beside those
// figures in the HTML report. Source: time-and-indicators.md §4, row
// householdsSupported ("The programme's yearly target is 40–45 in access and
// 250 in maintien"); they concern the `all` block (the whole programme).
struct ProgrammeTargets {
  int64_t access_min = 40;
  int64_t access_max = 45;
  int64_t maintien = 250;
};

struct HtmlOptions {
  ProgrammeTargets targets;
};

// The HTML rendering (report_html.cc): the evaluator's printable report in
// French, indicators grouped in sections, inline SVG charts of `series`
// (none when empty), and a footer tying it to the log.
std::string RenderHtml(const Report& report, const std::vector<SeriesRow>& series,
                       const HtmlOptions& options = {});

// The sections of the HTML report: a catalogue key ("section.demand") and
// the dotted figure keys it shows, in order ("referralsReceived.bySource.*"
// stands for every value). Every figure of FlattenFigures is in exactly one
// (labels_test checks it).
struct ReportSection {
  std::string_view title_key;
  std::vector<std::string_view> rows;
};
const std::vector<ReportSection>& ReportSections();

// Flattened "dotted name" -> JSON number text, in the JSON's key order, for
// one territory block (the CSV and Markdown columns, and --check).
std::vector<std::pair<std::string, std::string>> FlattenFigures(const TerritoryFigures& f);

// Monthly series (interfaces: `relais report --series`), one row per month
// and territory. Each month runs from its first to its last day (clipped to
// [from, to]); the fold is as of `to`, known at T.
struct SeriesRow {
  std::string month;  // YYYY-MM
  std::string territory;
  int64_t supported_access = 0, supported_maintien = 0, supported_unreferred = 0;
  int64_t arrears_open = 0;
  int64_t move_ins = 0, lease_switches = 0;
  int64_t evictions_carried_out = 0, evictions_avoided = 0;
};
Result<std::vector<SeriesRow>> ComputeSeries(Engine& engine, Date from, Date to,
                                             std::optional<Timestamp> known_at);
// The same, known at log position `known_at` (a report's logPosition, so
// that its charts and its figures are folded on the same view).
Result<std::vector<SeriesRow>> ComputeSeriesAt(Engine& engine, Date from, Date to, Position known_at);
std::string RenderSeriesCsv(const std::vector<SeriesRow>& rows);

// The months of a series: each from its first to its last day, clipped to
// [from, to]; `label` YYYY-MM.
struct SeriesMonth {
  std::string label;
  Date first, last;
};
std::vector<SeriesMonth> SeriesMonths(Date from, Date to);

// What one household adds to the series: the series is the sum of these
// over every household, plus `all` as the sum of the three territories.
// `timeline` is the household's, as of the series' last day; months it adds
// nothing to are left out (the PostgreSQL sink keeps these rows per
// household, so that a household's change updates the series without a fold
// of every other household).
struct HouseholdSeriesRow {
  size_t month = 0;  // index into the months
  std::string territory;  // lille, sud or flandres
  SeriesRow counts;       // month and territory left empty
};
std::vector<HouseholdSeriesRow> HouseholdSeries(const std::vector<TimelineEntry>& timeline,
                                                const std::vector<SeriesMonth>& months);

// `relais report --check` (docs/decisions.md, "report --check"): recomputes
// the figures of a saved JSON report at the report's own view (as of its
// asOf, known at its logPosition) and at the current view of the same
// question (its knownAt when pinned, else the head), and compares.
struct ReportCheck {
  bool match = false;
  Position checked_at = 0;  // the current view's position
  // {"match", "logPosition", "checkedAt", "differences": [...],
  //  "explainedBy": [...]} (one line, no newline), for stdout.
  std::string json;
  std::string prose;  // the same in words, for stderr
};
// An unreadable report (not JSON, no asOf...) is InvalidArgument.
Result<ReportCheck> CheckReport(Engine& engine, const std::string& report_json);

}  // namespace relais::projections
