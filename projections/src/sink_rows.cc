#include "relais/projections/sink_rows.h"

#include <algorithm>

#include "relais/domain.h"

namespace relais::projections {

namespace {

// Column types: ids and enum names are text, dates date, counts bigint.
constexpr std::string_view kText = "text NOT NULL";
constexpr std::string_view kTextNull = "text";
constexpr std::string_view kDate = "date NOT NULL";
constexpr std::string_view kDateNull = "date";
constexpr std::string_view kInt = "bigint NOT NULL";
constexpr std::string_view kIntNull = "bigint";
constexpr std::string_view kBool = "boolean NOT NULL";
constexpr std::string_view kBoolNull = "boolean";

std::vector<SinkTable> MakeTables() {
  using T = SinkTableId;
  const auto H = StreamKind::kHousehold;
  std::vector<SinkTable> t;
  t.push_back({T::kHouseholds,
               "households",
               {{"household_id", kText},
                {"registered", kBool},
                {"registered_on", kDateNull},
                {"territory", kTextNull},
                {"track", kText},
                {"occupancy_dwelling_id", kTextNull},
                {"occupancy_contract", kTextNull},
                {"occupancy_since", kDateNull},
                {"arrears_open", kBoolNull},
                {"arrears_amount_cents", kIntNull},
                {"arrears_since", kDateNull},
                {"procedure_stage", kText},
                {"consent_support", kBool},
                {"consent_data_sharing", kBool},
                {"consent_keep_history", kBool},
                {"erased", kBool},
                {"version", kInt},
                {"last_position", kInt}},
               {"household_id"},
               H});
  t.push_back({T::kHouseholdTerritories,
               "household_territories",
               {{"household_id", kText}, {"seq", kInt}, {"from_date", kDate}, {"territory", kText}},
               {"household_id", "seq"},
               H});
  t.push_back({T::kReferrals,
               "referrals",
               {{"household_id", kText},
                {"referral_id", kText},
                {"seq", kInt},
                {"track", kText},
                {"source", kText},
                {"status", kText},
                {"referred_on", kDate}},
               {"household_id", "referral_id"},
               H});
  t.push_back({T::kCalDecisions,
               "cal_decisions",
               {{"household_id", kText},
                {"seq", kInt},
                {"referral_id", kText},
                {"dwelling_id", kText},
                {"decision", kText},
                {"decided_on", kDate},
                {"condition_deadline", kDateNull},
                {"resolved", kBool},
                {"met", kBool},
                {"answered", kBool},
                {"answer", kTextNull},
                {"used", kBool}},
               {"household_id", "seq"},
               H});
  t.push_back({T::kOccupancies,
               "occupancies",
               {{"household_id", kText},
                {"seq", kInt},
                {"dwelling_id", kText},
                {"start_date", kDate},
                {"end_date", kDateNull},
                {"end_reason", kTextNull},
                {"destination", kTextNull},
                {"contract", kText},
                {"association", kTextNull},
                {"referral_id", kTextNull},
                {"preexisting", kBool}},
               {"household_id", "seq"},
               H});
  t.push_back({T::kContractPeriods,
               "contract_periods",
               {{"household_id", kText},
                {"occupancy_seq", kInt},
                {"seq", kInt},
                {"contract", kText},
                {"from_date", kDate}},
               {"household_id", "occupancy_seq", "seq"},
               H});
  t.push_back({T::kSupportEpisodes,
               "support_episodes",
               {{"household_id", kText},
                {"episode_id", kText},
                {"seq", kInt},
                {"kind", kText},
                {"association", kText},
                {"status", kText},
                {"started_on", kDate},
                {"closed_on", kDateNull},
                {"close_reason", kTextNull},
                {"previous_episode_id", kTextNull},
                {"paused_days", kInt},
                {"paused_since", kDateNull}},
               {"household_id", "episode_id"},
               H});
  t.push_back({T::kSupportPauses,
               "support_pauses",
               {{"household_id", kText},
                {"episode_id", kText},
                {"seq", kInt},
                {"paused_on", kDate},
                {"unpaused_on", kDateNull}},
               {"household_id", "episode_id", "seq"},
               H});
  t.push_back(
      {T::kSituationReviews,
       "situation_reviews",
       {{"household_id", kText}, {"seq", kInt}, {"episode_id", kText}, {"reviewed_on", kDate}},
       {"household_id", "seq"},
       H});
  t.push_back({T::kObjectives,
               "objectives",
               {{"household_id", kText},
                {"episode_id", kText},
                {"objective_id", kText},
                {"seq", kInt},
                {"domain", kText},
                {"status", kText}},
               {"household_id", "episode_id", "objective_id"},
               H});
  t.push_back({T::kArrearsEpisodes,
               "arrears_episodes",
               {{"household_id", kText},
                {"seq", kInt},
                {"dwelling_id", kText},
                {"since", kDate},
                {"amount_cents", kInt},
                {"cleared_on", kDateNull}},
               {"household_id", "seq"},
               H});
  t.push_back({T::kProcedureSteps,
               "procedure_steps",
               {{"household_id", kText}, {"seq", kInt}, {"step", kText}, {"effective_date", kDate}},
               {"household_id", "seq"},
               H});
  t.push_back({T::kDwellings,
               "dwellings",
               {{"dwelling_id", kText},
                {"registered", kBool},
                {"registered_on", kDateNull},
                {"territory", kTextNull},
                {"typology", kTextNull},
                {"reserved", kBool},
                {"version", kInt},
                {"last_position", kInt}},
               {"dwelling_id"},
               StreamKind::kDwelling});
  t.push_back({T::kPlatformActivity,
               "platform_activity",
               {{"territory", kText},
                {"position", kInt},
                {"type", kText},
                {"effective_date", kDate},
                {"attendees", kIntNull},
                {"participants", kIntNull}},
               {"territory", "position"},
               StreamKind::kTerritory});
  t.push_back({T::kMonthlyIndicators,
               "monthly_indicators",
               {{"month", kText},
                {"territory", kText},
                {"supported_access", kInt},
                {"supported_maintien", kInt},
                {"supported_unreferred", kInt},
                {"arrears_open", kInt},
                {"move_ins", kInt},
                {"lease_switches", kInt},
                {"evictions_carried_out", kInt},
                {"evictions_avoided", kInt}},
               {"month", "territory"},
               std::nullopt});
  std::vector<SinkTable> tail;  // pushed after events: the SinkTableId order
  tail.push_back({T::kHouseholdMonths,
                  "household_months",
                  {{"household_id", kText},
                   {"month", kText},
                   {"territory", kText},
                   {"supported_access", kInt},
                   {"supported_maintien", kInt},
                   {"supported_unreferred", kInt},
                   {"arrears_open", kInt},
                   {"move_ins", kInt},
                   {"lease_switches", kInt},
                   {"evictions_carried_out", kInt},
                   {"evictions_avoided", kInt}},
                  {"household_id", "month"},
                  H});
  t.push_back({T::kEvents,
               "events",
               {{"position", kInt},
                {"id", kText},
                {"type", kText},
                {"subject", kText},
                {"effective_date", kDate},
                {"recorded_at", "timestamptz NOT NULL"},
                {"hash", kText},
                {"body", "jsonb NOT NULL"}},
               {"position"},
               std::nullopt});
  for (auto& x : tail) t.push_back(std::move(x));
  return t;
}

SinkValue Text(std::string_view s) { return std::string(s); }
SinkValue Bool(bool b) { return std::string(b ? "t" : "f"); }
SinkValue Int(int64_t v) { return std::to_string(v); }
SinkValue Day(Date d) { return FormatDate(d); }
SinkValue OptDay(const std::optional<Date>& d) {
  return d ? SinkValue(FormatDate(*d)) : std::nullopt;
}
template <typename E>
SinkValue Name(E e) {
  return std::string(JsonName(e));
}

std::string_view EpisodeStatusText(EpisodeStatus s) {
  switch (s) {
    case EpisodeStatus::kActive:
      return "active";
    case EpisodeStatus::kPaused:
      return "paused";
    case EpisodeStatus::kClosed:
      return "closed";
  }
  return "?";
}

std::string_view ReferralStatusText(ReferralStatus s) {
  switch (s) {
    case ReferralStatus::kOpen:
      return "open";
    case ReferralStatus::kAccepted:
      return "accepted";
    case ReferralStatus::kRefused:
      return "refused";
    case ReferralStatus::kExpired:
      return "expired";
  }
  return "?";
}

// The dated facts of a household that its state does not keep (every pause,
// review, alert, step, transfer), gathered in the same walk of the timeline
// as the fold.
struct Pause {
  std::string_view episode;
  Date on;
  std::optional<Date> until;
};
struct Arrears {
  std::string_view dwelling;
  Date since;
  int64_t amount = 0;
  std::optional<Date> cleared;
};

void HouseholdRows(const std::string& hid, const std::vector<TimelineEntry>& timeline,
                   const std::vector<const EventRecord*>& known, const IdMap& ids, SinkRows* out) {
  HouseholdState s;
  std::vector<std::pair<Date, sc::Territory>> territories;
  std::vector<Pause> pauses;
  std::vector<std::pair<std::string_view, Date>> reviews;
  std::vector<Arrears> arrears;
  std::vector<std::pair<sc::EvictionStep, Date>> steps;
  for (const TimelineEntry& e : timeline) {
    const Fact& f = *e.fact;
    const Date d = e.effective;
    switch (f.type) {
      case EventType::kHouseholdRegistered:
      case EventType::kCaseTransferred:
        territories.push_back({d, f.territory});
        break;
      case EventType::kSupportPaused:
        pauses.push_back({f.episode_id, d, std::nullopt});
        break;
      case EventType::kSupportUnpaused:
        for (auto it = pauses.rbegin(); it != pauses.rend(); ++it)
          if (it->episode == f.episode_id && !it->until) {
            it->until = d;
            break;
          }
        break;
      case EventType::kSituationReviewed:
        reviews.push_back({f.episode_id, d});
        break;
      case EventType::kArrearsAlertRaised:
        arrears.push_back({f.dwelling_id, d, f.amount_cents, std::nullopt});
        break;
      case EventType::kArrearsCleared:
        if (!arrears.empty() && !arrears.back().cleared) arrears.back().cleared = d;
        break;
      case EventType::kEvictionStepRecorded:
        steps.push_back({f.step, d});
        break;
      default:
        break;
    }
    EvolveHousehold(s, f, d);
  }
  const std::string h = ids(hid);
  bool erased = false;
  for (const EventRecord* r : known) erased |= r->type == EventType::kPersonalDataErased;
  const EventRecord& last = *known.back();

  // households
  std::string track = "unreferred";
  if (!s.referrals.empty()) track = std::string(JsonName(s.referrals.back().track));
  SinkRow row{Text(h), Bool(s.registered), s.registered ? Day(s.registered_on) : std::nullopt,
              s.registered ? Name(s.territory) : std::nullopt, Text(track)};
  if (const OccupancyState* o = s.ActiveOccupancy()) {
    row.insert(row.end(), {Text(ids(o->dwelling_id)), Name(o->contract()), Day(o->since)});
  } else {
    row.insert(row.end(), {std::nullopt, std::nullopt, std::nullopt});
  }
  if (s.arrears) {
    row.insert(row.end(),
               {Bool(s.arrears->open), Int(s.arrears->amount_cents), Day(s.arrears->since)});
  } else {
    row.insert(row.end(), {std::nullopt, std::nullopt, std::nullopt});
  }
  row.insert(row.end(), {Text(ProcedureStageName(s.stage)), Bool(s.consent_support),
                         Bool(s.consent_data_sharing), Bool(s.consent_keep_history), Bool(erased),
                         Int(last.version), Int(static_cast<int64_t>(last.position))});
  (*out)[SinkTableId::kHouseholds].push_back(std::move(row));

  for (size_t i = 0; i < territories.size(); ++i)
    (*out)[SinkTableId::kHouseholdTerritories].push_back({Text(h), Int(static_cast<int64_t>(i)),
                                                          Day(territories[i].first),
                                                          Name(territories[i].second)});
  for (size_t i = 0; i < s.referrals.size(); ++i) {
    const ReferralState& r = s.referrals[i];
    (*out)[SinkTableId::kReferrals].push_back(
        {Text(h), Text(ids(r.id)), Int(static_cast<int64_t>(i)), Name(r.track), Name(r.source),
         Text(ReferralStatusText(r.status)), Day(r.referred_on)});
  }
  for (size_t i = 0; i < s.decisions.size(); ++i) {
    const DecisionState& c = s.decisions[i];
    (*out)[SinkTableId::kCalDecisions].push_back(
        {Text(h), Int(static_cast<int64_t>(i)), Text(ids(c.referral_id)), Text(ids(c.dwelling_id)),
         Name(c.decision), Day(c.decided_on), OptDay(c.condition_deadline), Bool(c.resolved),
         Bool(c.met), Bool(c.answered), c.answered ? Name(c.answer) : std::nullopt, Bool(c.used)});
  }
  for (size_t i = 0; i < s.occupancies.size(); ++i) {
    const OccupancyState& o = s.occupancies[i];
    const auto seq = static_cast<int64_t>(i);
    (*out)[SinkTableId::kOccupancies].push_back(
        {Text(h), Int(seq), Text(ids(o.dwelling_id)), Day(o.since), OptDay(o.end),
         o.end_reason ? Name(*o.end_reason) : std::nullopt,
         o.destination ? Name(*o.destination) : std::nullopt, Name(o.contract()),
         o.association.empty() ? std::nullopt : Text(o.association),
         o.referral_id.empty() ? std::nullopt : Text(ids(o.referral_id)), Bool(o.preexisting)});
    for (size_t j = 0; j < o.contracts.size(); ++j)
      (*out)[SinkTableId::kContractPeriods].push_back(
          {Text(h), Int(seq), Int(static_cast<int64_t>(j)), Name(o.contracts[j].contract),
           Day(o.contracts[j].from)});
  }
  for (size_t i = 0; i < s.episodes.size(); ++i) {
    const EpisodeState& e = s.episodes[i];
    const std::string eid = ids(e.id);
    (*out)[SinkTableId::kSupportEpisodes].push_back(
        {Text(h), Text(eid), Int(static_cast<int64_t>(i)), Name(e.kind), Text(e.association),
         Text(EpisodeStatusText(e.status)), Day(e.started_on), OptDay(e.closed_on),
         e.close_reason ? Name(*e.close_reason) : std::nullopt,
         e.previous_episode_id.empty() ? std::nullopt : Text(ids(e.previous_episode_id)),
         Int(e.paused_days), OptDay(e.paused_since)});
    for (size_t j = 0; j < e.objectives.size(); ++j) {
      const ObjectiveItem& o = e.objectives[j];
      (*out)[SinkTableId::kObjectives].push_back({Text(h), Text(eid), Text(ids(o.id)),
                                                  Int(static_cast<int64_t>(j)), Name(o.domain),
                                                  Name(o.status)});
    }
    int64_t seq = 0;
    for (const Pause& p : pauses)
      if (p.episode == e.id)
        (*out)[SinkTableId::kSupportPauses].push_back(
            {Text(h), Text(eid), Int(seq++), Day(p.on), OptDay(p.until)});
  }
  for (size_t i = 0; i < reviews.size(); ++i)
    (*out)[SinkTableId::kSituationReviews].push_back({Text(h), Int(static_cast<int64_t>(i)),
                                                      Text(ids(reviews[i].first)),
                                                      Day(reviews[i].second)});
  for (size_t i = 0; i < arrears.size(); ++i)
    (*out)[SinkTableId::kArrearsEpisodes].push_back(
        {Text(h), Int(static_cast<int64_t>(i)), Text(ids(arrears[i].dwelling)),
         Day(arrears[i].since), Int(arrears[i].amount), OptDay(arrears[i].cleared)});
  for (size_t i = 0; i < steps.size(); ++i)
    (*out)[SinkTableId::kProcedureSteps].push_back(
        {Text(h), Int(static_cast<int64_t>(i)), Name(steps[i].first), Day(steps[i].second)});
}

}  // namespace

const std::vector<SinkTable>& SinkTables() {
  static const std::vector<SinkTable> tables = MakeTables();
  return tables;
}

const SinkTable& SinkTableOf(SinkTableId id) { return SinkTables()[static_cast<size_t>(id)]; }

std::string SinkOwner(const Subject& subject, const IdMap& ids) {
  if (subject.kind == StreamKind::kTerritory) return std::string(subject.id());
  return ids(subject.id());
}

SinkRows StreamRows(const Subject& subject, const std::vector<EventRecord>& records,
                    Position known_at, const IdMap& ids, const std::vector<SeriesMonth>* months) {
  SinkRows out;
  std::vector<const EventRecord*> known;
  known.reserve(records.size());
  for (const EventRecord& r : records)
    if (r.position <= known_at) known.push_back(&r);
  if (known.empty()) return out;
  const std::vector<TimelineEntry> timeline = BuildTimeline(known, known_at, std::nullopt);
  const std::string id(subject.id());
  switch (subject.kind) {
    case StreamKind::kHousehold:
      HouseholdRows(id, timeline, known, ids, &out);
      if (months != nullptr)
        out[SinkTableId::kHouseholdMonths] =
            HouseholdMonthRows(subject, records, known_at, ids, *months);
      break;
    case StreamKind::kDwelling: {
      DwellingState s;
      for (const TimelineEntry& e : timeline) EvolveDwelling(s, *e.fact, e.effective);
      const EventRecord& last = *known.back();
      out[SinkTableId::kDwellings].push_back(
          {Text(ids(id)), Bool(s.registered), s.registered ? Day(s.registered_on) : std::nullopt,
           s.registered ? Name(s.territory) : std::nullopt,
           s.registered ? Name(s.typology) : std::nullopt, Bool(s.reserved), Int(last.version),
           Int(static_cast<int64_t>(last.position))});
      break;
    }
    case StreamKind::kTerritory:
      for (const TimelineEntry& e : timeline) {
        const Fact& f = *e.fact;
        SinkValue attendees, participants;
        if (f.type == EventType::kStaffTrainingHeld) {
          attendees = Int(f.count);
        } else if (f.type == EventType::kTenantConsultationHeld) {
          participants = Int(f.count);
        } else if (f.type != EventType::kPartnerMeetingHeld) {
          continue;
        }
        out[SinkTableId::kPlatformActivity].push_back(
            {Text(id), Int(static_cast<int64_t>(e.record->position)), Text(EventTypeName(f.type)),
             Day(e.effective), attendees, participants});
      }
      break;
  }
  return out;
}

std::vector<SinkRow> HouseholdMonthRows(const Subject& household,
                                        const std::vector<EventRecord>& records, Position known_at,
                                        const IdMap& ids, const std::vector<SeriesMonth>& months) {
  std::vector<SinkRow> out;
  if (months.empty()) return out;
  std::vector<const EventRecord*> known;
  for (const EventRecord& r : records)
    if (r.position <= known_at) known.push_back(&r);
  if (known.empty()) return out;
  const std::string h = ids(household.id());
  // As the series folds it: as of its last day.
  const auto timeline = BuildTimeline(known, known_at, months.back().last);
  for (const HouseholdSeriesRow& r : HouseholdSeries(timeline, months)) {
    const SeriesRow& c = r.counts;
    out.push_back({Text(h), Text(months[r.month].label), Text(r.territory), Int(c.supported_access),
                   Int(c.supported_maintien), Int(c.supported_unreferred), Int(c.arrears_open),
                   Int(c.move_ins), Int(c.lease_switches), Int(c.evictions_carried_out),
                   Int(c.evictions_avoided)});
  }
  return out;
}

std::vector<SinkRow> MonthlyIndicatorRows(const std::vector<SeriesRow>& series) {
  std::vector<SinkRow> rows;
  rows.reserve(series.size());
  for (const SeriesRow& r : series)
    rows.push_back({Text(r.month), Text(r.territory), Int(r.supported_access),
                    Int(r.supported_maintien), Int(r.supported_unreferred), Int(r.arrears_open),
                    Int(r.move_ins), Int(r.lease_switches), Int(r.evictions_carried_out),
                    Int(r.evictions_avoided)});
  return rows;
}

}  // namespace relais::projections
