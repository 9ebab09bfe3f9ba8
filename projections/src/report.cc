// Indicators of time-and-indicators.md §4, computed from folded household
// timelines. Each definition below quotes the contract's wording it follows.
#include "relais/projections/report.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <thread>
#include <unordered_map>

#include "relais/domain.h"
#include "relais/json_writer.h"

namespace relais::projections {

namespace {

constexpr int kAll = 0;

int TerritoryIndex(sc::Territory t) { return 1 + static_cast<int>(t); }

bool In(Date d, Date from, Date to) { return from <= d && d <= to; }

// What one household contributes, gathered in one walk of its timeline.
struct Walk {
  std::vector<std::pair<Date, std::optional<int32_t>>> move_ins;  // date, days from referral
  std::vector<std::pair<Date, int32_t>> switches;                 // date, days from start
  std::vector<std::pair<Date, const TimelineEntry*>> referrals;
  std::vector<std::pair<Date, sc::CalDecision>> decisions;
  std::vector<std::tuple<Date, sc::EndReason, sc::Destination>> exits;
  std::vector<Date> alerts, cleared, evictions, payment_orders;
  std::vector<std::pair<Date, std::optional<Date>>> arrears_intervals;
  std::vector<std::pair<Date, bool>> procedure_closings;  // date, by eviction
  // (episode, date): small per household, so flat vectors beat maps.
  std::vector<std::pair<std::string_view, Date>> reviews;
  std::vector<std::pair<std::string_view, Date>> resumed_from;  // previous episode
  HouseholdState state;
};

void WalkTimeline(const std::vector<TimelineEntry>& timeline, Walk* w) {
  HouseholdState& s = w->state;
  for (const TimelineEntry& e : timeline) {
    const Fact& f = *e.fact;
    const Date d = e.effective;
    switch (f.type) {
      case EventType::kHouseholdReferred:
        w->referrals.push_back({d, &e});
        break;
      case EventType::kCalDecisionRecorded:
        w->decisions.push_back({d, f.decision});
        break;
      case EventType::kLeaseSwitched:
        if (const OccupancyState* o = s.ActiveOccupancy()) w->switches.push_back({d, d - o->since});
        break;
      case EventType::kOccupancyEnded:
        w->exits.emplace_back(d, f.end_reason, f.destination);
        break;
      case EventType::kArrearsAlertRaised:
        w->alerts.push_back(d);
        w->arrears_intervals.push_back({d, std::nullopt});
        break;
      case EventType::kArrearsCleared:
        w->cleared.push_back(d);
        if (!w->arrears_intervals.empty() && !w->arrears_intervals.back().second)
          w->arrears_intervals.back().second = d;
        break;
      case EventType::kEvictionStepRecorded:
        if (f.step == sc::EvictionStep::PAYMENT_ORDER) w->payment_orders.push_back(d);
        if (f.step == sc::EvictionStep::EVICTION_CARRIED_OUT) {
          w->evictions.push_back(d);
          // "an eviction_carried_out counts, reason eviction"
          if (s.ActiveOccupancy()) w->exits.emplace_back(d, sc::EndReason::EVICTION, sc::Destination::UNKNOWN);
        }
        if (f.step == sc::EvictionStep::JUDGMENT_DELAYS || f.step == sc::EvictionStep::JUDGMENT_REJECTED ||
            f.step == sc::EvictionStep::COHESION_PROTOCOL_SIGNED)
          w->procedure_closings.push_back({d, false});
        if (f.step == sc::EvictionStep::EVICTION_CARRIED_OUT) w->procedure_closings.push_back({d, true});
        break;
      case EventType::kSituationReviewed:
        w->reviews.push_back({f.episode_id, d});
        break;
      case EventType::kSupportResumed:
        w->resumed_from.push_back({f.previous_episode_id, d});
        break;
      default:
        break;
    }
    EvolveHousehold(s, f, d);
    if (f.type == EventType::kOccupancyStarted && !f.flag) {
      const OccupancyState& o = s.occupancies.back();
      std::optional<int32_t> days;
      if (const ReferralState* r = s.FindReferral(o.referral_id)) days = d - r->referred_on;
      w->move_ins.push_back({d, days});
    }
  }
}

// Track of the latest HouseholdReferred effective <= D (the timeline is as of D).
int TrackOf(const Walk& w) {
  if (w.referrals.empty()) return 2;  // unreferred
  return w.referrals.back().second->fact->track == sc::Track::ACCESS ? 0 : 1;
}

void CountHousehold(const Walk& w, Date D, TerritoryFigures& t) {
  const HouseholdState& s = w.state;
  const Date p_from = PeriodStart(D);
  const Date cohort_from = D - 729, cohort_to = D - 365;
  ++t.households_registered;
  for (const auto& [d, e] : w.referrals)
    if (In(d, p_from, D)) {
      (e->fact->track == sc::Track::ACCESS ? t.referrals_access : t.referrals_maintien)++;
      t.referrals_by_source[static_cast<size_t>(e->fact->source)]++;
    }
  // householdsSupported: an episode whose interval meets P (started on or
  // before D and not closed before D - 364).
  bool supported = false, active = false;
  for (const EpisodeState& ep : s.episodes) {
    if (ep.started_on <= D && !(ep.closed_on && *ep.closed_on < p_from)) supported = true;
    if (ep.status == EpisodeStatus::kActive) active = true;
  }
  if (supported) {
    int track = TrackOf(w);
    (track == 0 ? t.supported_access : track == 1 ? t.supported_maintien : t.supported_unreferred)++;
  }
  if (active) ++t.active_support_at_date;
  for (const auto& [d, dec] : w.decisions)
    if (In(d, p_from, D)) t.cal_decisions[static_cast<size_t>(dec)]++;
  for (const auto& [d, days] : w.move_ins)
    if (In(d, p_from, D)) {
      ++t.move_ins;
      if (days) t.days_referral_to_move_in.push_back(*days);
    }
  for (const auto& [d, days] : w.switches)
    if (In(d, p_from, D)) {
      ++t.lease_switches;
      t.days_to_switch.push_back(days);
    }
  // retention12m
  for (const OccupancyState& o : s.occupancies) {
    if (o.preexisting || !In(o.since, cohort_from, cohort_to)) continue;
    const Date horizon = o.since + 365;
    bool ended_by_then = o.end && *o.end <= horizon;
    if (ended_by_then && o.end_reason == sc::EndReason::DEATH) continue;
    ++t.retention_cohort;
    if (!ended_by_then || o.destination == sc::Destination::PERMANENT) ++t.retention_retained;
  }
  for (const auto& [d, reason, destination] : w.exits)
    if (In(d, p_from, D)) {
      ++t.exits_total;
      t.exits_by_reason[static_cast<size_t>(reason)]++;
      if (destination == sc::Destination::PERMANENT) ++t.exits_permanent;
    }
  if (s.arrears && s.arrears->open) ++t.arrears_open_at_date;
  for (Date d : w.alerts) t.arrears_alerts += In(d, p_from, D);
  for (Date d : w.cleared) t.arrears_cleared += In(d, p_from, D);
  for (Date d : w.evictions) t.evictions_carried_out += In(d, p_from, D);
  for (Date d : w.payment_orders) {
    if (!In(d, cohort_from, cohort_to)) continue;
    ++t.avoided_cohort;
    bool evicted = std::any_of(w.evictions.begin(), w.evictions.end(),
                               [&](Date x) { return In(x, d + 1, d + 365); });
    if (!evicted) ++t.avoided;
  }
  for (const EpisodeState& ep : s.episodes) {
    if (ep.closed_on && In(*ep.closed_on, p_from, D)) {
      ++t.support_closed;
      if (ep.close_reason) t.support_closed_by_reason[static_cast<size_t>(*ep.close_reason)]++;
      t.support_days.push_back(*ep.closed_on - ep.started_on - ep.paused_days);
      t.objectives_total += static_cast<int64_t>(ep.objectives.size());
      for (const auto& o : ep.objectives) t.objectives_achieved += o.status == sc::ObjectiveStatus::ACHIEVED;
    }
    if (ep.closed_on && In(*ep.closed_on, cohort_from, cohort_to)) {
      ++t.resumption_cohort;
      if (std::any_of(w.resumed_from.begin(), w.resumed_from.end(), [&](const auto& x) {
            return x.first == ep.id && In(x.second, *ep.closed_on + 1, *ep.closed_on + 365);
          }))
        ++t.resumed;
    }
    if (ep.status != EpisodeStatus::kClosed && ep.started_on <= D - 183) {
      ++t.review_cohort;
      if (std::any_of(w.reviews.begin(), w.reviews.end(), [&](const auto& x) {
            return x.first == ep.id && In(x.second, D - 182, D);
          }))
        ++t.review_compliant;
    }
  }
}

void CountTerritory(const std::vector<TimelineEntry>& timeline, Date D, TerritoryFigures& t) {
  for (const TimelineEntry& e : timeline) {
    if (!In(e.effective, PeriodStart(D), D)) continue;
    switch (e.fact->type) {
      case EventType::kStaffTrainingHeld:
        ++t.staff_trainings;
        t.attendees += e.fact->count;
        break;
      case EventType::kTenantConsultationHeld: ++t.tenant_consultations; break;
      case EventType::kPartnerMeetingHeld: ++t.partner_meetings; break;
      default: break;
    }
  }
}

// Streams are independent: the fold runs on kWorkers threads, each with its
// own accumulators (`fn` gets the worker's index), merged by the caller.
// Results do not depend on the split: counts add up and value lists are
// sorted before a median is taken.
constexpr int kWorkers = 2;

template <typename Fn>
Status ForEachTimeline(Engine& engine, Position p, Date as_of, StreamKind kind, const Fn& fn) {
  // No warm-up: a cold engine visits its streams from the record snapshot,
  // one at a time, and warms itself only when it has none.
  std::array<Status, kWorkers> status;
  auto work = [&](int worker) {
    std::vector<const EventRecord*> ptrs;
    status[worker] = engine.VisitStreams(
        kind, worker, kWorkers, [&](const Subject& subject, const std::vector<EventRecord>& records) {
          ptrs.clear();
          for (const auto& r : records) ptrs.push_back(&r);
          fn(worker, subject, BuildTimeline(ptrs, p, as_of));
        });
  };
  if (kind == StreamKind::kTerritory) {
    for (int k = 0; k < kWorkers; ++k) work(k);  // three streams: not worth a thread
  } else {
    std::thread other(work, 1);
    work(0);
    other.join();
  }
  for (const Status& st : status) RETURN_IF_ERROR(st);
  return Status::Ok();
}

void Median(JsonWriter& w, std::vector<int32_t> v) {
  if (v.empty()) {
    w.Null();
    return;
  }
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  int64_t twice = n % 2 ? 2 * int64_t{v[n / 2]} : int64_t{v[n / 2 - 1]} + v[n / 2];
  if (twice % 2 == 0) {
    w.Int(twice / 2);
  } else {
    w.Double(twice / 2.0);
  }
}

void Rate(JsonWriter& w, int64_t k, int64_t n) {
  if (n == 0) {
    w.Null();
  } else {
    w.Double(static_cast<double>(k) / static_cast<double>(n));
  }
}

template <typename E, size_t N>
void ByEnum(JsonWriter& w, const std::array<int64_t, N>& counts) {
  w.BeginObject();
  for (size_t i = 0; i < N; ++i) w.Key(JsonName(static_cast<E>(i))).Int(counts[i]);
  w.EndObject();
}

void FiguresJson(JsonWriter& w, const TerritoryFigures& t) {
  w.BeginObject();
  w.Key("householdsRegistered").Int(t.households_registered);
  w.Key("referralsReceived").BeginObject();
  w.Key("access").Int(t.referrals_access);
  w.Key("maintien").Int(t.referrals_maintien);
  w.Key("bySource");
  ByEnum<sc::ReferralSource>(w, t.referrals_by_source);
  w.EndObject();
  w.Key("householdsSupported").BeginObject();
  w.Key("access").Int(t.supported_access);
  w.Key("maintien").Int(t.supported_maintien);
  w.Key("unreferred").Int(t.supported_unreferred);
  w.EndObject();
  w.Key("activeSupportAtDate").Int(t.active_support_at_date);
  w.Key("calDecisions");
  ByEnum<sc::CalDecision>(w, t.cal_decisions);
  w.Key("moveIns").Int(t.move_ins);
  w.Key("medianDaysReferralToMoveIn");
  Median(w, t.days_referral_to_move_in);
  w.Key("leaseSwitches").Int(t.lease_switches);
  w.Key("medianDaysToSwitch");
  Median(w, t.days_to_switch);
  w.Key("retention12m").BeginObject();
  w.Key("cohort").Int(t.retention_cohort);
  w.Key("retained").Int(t.retention_retained);
  w.Key("rate");
  Rate(w, t.retention_retained, t.retention_cohort);
  w.EndObject();
  w.Key("exits").BeginObject();
  w.Key("total").Int(t.exits_total);
  w.Key("byReason");
  ByEnum<sc::EndReason>(w, t.exits_by_reason);
  w.Key("toPermanentRate");
  Rate(w, t.exits_permanent, t.exits_total - t.exits_by_reason[static_cast<size_t>(sc::EndReason::DEATH)]);
  w.EndObject();
  w.Key("arrears").BeginObject();
  w.Key("openAtDate").Int(t.arrears_open_at_date);
  w.Key("alertsRaised").Int(t.arrears_alerts);
  w.Key("cleared").Int(t.arrears_cleared);
  w.EndObject();
  w.Key("evictions").BeginObject();
  w.Key("carriedOut").Int(t.evictions_carried_out);
  w.Key("avoided").BeginObject();
  w.Key("cohort").Int(t.avoided_cohort);
  w.Key("avoided").Int(t.avoided);
  w.Key("rate");
  Rate(w, t.avoided, t.avoided_cohort);
  w.EndObject();
  w.EndObject();
  w.Key("support").BeginObject();
  w.Key("closed").Int(t.support_closed);
  w.Key("closedByReason");
  ByEnum<sc::CloseReason>(w, t.support_closed_by_reason);
  w.Key("medianDays");
  Median(w, t.support_days);
  w.Key("resumption").BeginObject();
  w.Key("cohort").Int(t.resumption_cohort);
  w.Key("resumed").Int(t.resumed);
  w.Key("rate");
  Rate(w, t.resumed, t.resumption_cohort);
  w.EndObject();
  w.Key("reviewCompliance").BeginObject();
  w.Key("cohort").Int(t.review_cohort);
  w.Key("compliant").Int(t.review_compliant);
  w.Key("rate");
  Rate(w, t.review_compliant, t.review_cohort);
  w.EndObject();
  w.Key("objectives").BeginObject();
  w.Key("total").Int(t.objectives_total);
  w.Key("achieved").Int(t.objectives_achieved);
  w.Key("rate");
  Rate(w, t.objectives_achieved, t.objectives_total);
  w.EndObject();
  w.EndObject();
  w.Key("platform").BeginObject();
  w.Key("staffTrainings").Int(t.staff_trainings);
  w.Key("attendees").Int(t.attendees);
  w.Key("tenantConsultations").Int(t.tenant_consultations);
  w.Key("partnerMeetings").Int(t.partner_meetings);
  w.EndObject();
  w.EndObject();
}

std::string ReportJson(const Report& r, bool pretty) {
  JsonWriter w(pretty);
  w.BeginObject();
  w.Key("asOf").String(FormatDate(r.as_of));
  w.Key("knownAt");
  if (r.known_at) {
    w.String(FormatTimestamp(*r.known_at));
  } else {
    w.Null();
  }
  w.Key("period").BeginObject();
  w.Key("from").String(FormatDate(PeriodStart(r.as_of)));
  w.Key("to").String(FormatDate(r.as_of));
  w.EndObject();
  w.Key("logPosition").Uint(r.log_position);
  w.Key("logHash").String(r.log_hash);
  if (r.checkpoint) w.Key("checkpoint").String(*r.checkpoint);
  w.Key("territories").BeginObject();
  for (size_t i = 0; i < 4; ++i) {
    w.Key(kTerritoryKeys[i]);
    FiguresJson(w, r.territories[i]);
  }
  w.EndObject();
  w.EndObject();
  return w.Take();
}

// Flattens a JSON object of numbers/nulls/objects into dotted names.
void Flatten(std::string_view json, std::vector<std::pair<std::string, std::string>>* out);

}  // namespace

void TerritoryFigures::Add(const TerritoryFigures& o) {
  households_registered += o.households_registered;
  referrals_access += o.referrals_access;
  referrals_maintien += o.referrals_maintien;
  for (size_t i = 0; i < referrals_by_source.size(); ++i) referrals_by_source[i] += o.referrals_by_source[i];
  supported_access += o.supported_access;
  supported_maintien += o.supported_maintien;
  supported_unreferred += o.supported_unreferred;
  active_support_at_date += o.active_support_at_date;
  for (size_t i = 0; i < cal_decisions.size(); ++i) cal_decisions[i] += o.cal_decisions[i];
  move_ins += o.move_ins;
  days_referral_to_move_in.insert(days_referral_to_move_in.end(), o.days_referral_to_move_in.begin(),
                                  o.days_referral_to_move_in.end());
  lease_switches += o.lease_switches;
  days_to_switch.insert(days_to_switch.end(), o.days_to_switch.begin(), o.days_to_switch.end());
  retention_cohort += o.retention_cohort;
  retention_retained += o.retention_retained;
  exits_total += o.exits_total;
  for (size_t i = 0; i < exits_by_reason.size(); ++i) exits_by_reason[i] += o.exits_by_reason[i];
  exits_permanent += o.exits_permanent;
  arrears_open_at_date += o.arrears_open_at_date;
  arrears_alerts += o.arrears_alerts;
  arrears_cleared += o.arrears_cleared;
  evictions_carried_out += o.evictions_carried_out;
  avoided_cohort += o.avoided_cohort;
  avoided += o.avoided;
  support_closed += o.support_closed;
  for (size_t i = 0; i < support_closed_by_reason.size(); ++i)
    support_closed_by_reason[i] += o.support_closed_by_reason[i];
  support_days.insert(support_days.end(), o.support_days.begin(), o.support_days.end());
  resumption_cohort += o.resumption_cohort;
  resumed += o.resumed;
  review_cohort += o.review_cohort;
  review_compliant += o.review_compliant;
  objectives_total += o.objectives_total;
  objectives_achieved += o.objectives_achieved;
  staff_trainings += o.staff_trainings;
  attendees += o.attendees;
  tenant_consultations += o.tenant_consultations;
  partner_meetings += o.partner_meetings;
}

Result<Report> ComputeReport(Engine& engine, const ReportRequest& request) {
  ASSIGN_OR_RETURN(Position p, KnownAtPosition(engine, request.time));
  ASSIGN_OR_RETURN(Report r, ComputeReportAt(engine, request, p));
  // The signed checkpoint of the log the figures were folded on (evidence.md
  // §2): deterministic, so the report stays byte-identical run to run. A
  // directory without a tree or key yet (an old one opened read-only) has
  // none: the key is then left out rather than the report refused.
  // The instant that pins this view for `--known-at` (the HTML footer).
  if (r.log_position > 0) {
    RETURN_IF_ERROR(engine.Scan(r.log_position, [&](const StoredEventView& v) {
      r.view_recorded_at = v.record.recorded;
      return false;
    }));
    if (r.view_recorded_at) {
      ASSIGN_OR_RETURN(Position pinned, engine.PositionAt(*r.view_recorded_at));
      r.view_pinnable = pinned == r.log_position;
    }
  }
  auto checkpoint = engine.Checkpoint(r.log_position);
  if (checkpoint.ok()) {
    r.checkpoint = std::move(*checkpoint);
  } else if (checkpoint.status().code() != StatusCode::kFailedPrecondition) {
    return checkpoint.status();
  }
  return r;
}

Result<Report> ComputeReportAt(Engine& engine, const ReportRequest& request, Position known_at) {
  Report r;
  r.as_of = AsOfDate(request.time, request.today);
  r.known_at = request.time.known_at;
  r.log_position = std::min(known_at, engine.GetHead().position);
  ASSIGN_OR_RETURN(r.log_hash, engine.HashAt(r.log_position));
  const Date D = r.as_of;
  std::array<Walk, kWorkers> walks;
  std::array<std::array<TerritoryFigures, 4>, kWorkers> partial;
  RETURN_IF_ERROR(ForEachTimeline(engine, r.log_position, D, StreamKind::kHousehold,
                                  [&](int k, const Subject&, const std::vector<TimelineEntry>& timeline) {
                                    Walk& w = walks[k];
                                    w = Walk();
                                    WalkTimeline(timeline, &w);
                                    if (!w.state.registered) return;
                                    CountHousehold(w, D, partial[k][TerritoryIndex(w.state.territory)]);
                                  }));
  RETURN_IF_ERROR(ForEachTimeline(engine, r.log_position, D, StreamKind::kTerritory,
                                  [&](int k, const Subject& s, const std::vector<TimelineEntry>& timeline) {
                                    int index = s.id() == "lille" ? 1 : s.id() == "sud" ? 2 : 3;
                                    CountTerritory(timeline, D, partial[k][index]);
                                  }));
  for (const auto& worker : partial)
    for (int i = 1; i <= 3; ++i) r.territories[i].Add(worker[i]);
  // "all is the sum of the three for counts, and is computed over the union
  // for medians and rates": summing the counts and joining the value lists.
  for (int i = 1; i <= 3; ++i) r.territories[kAll].Add(r.territories[i]);
  return r;
}

std::vector<std::pair<std::string, std::string>> FlattenFigures(const TerritoryFigures& f) {
  JsonWriter w;
  FiguresJson(w, f);
  std::vector<std::pair<std::string, std::string>> out;
  Flatten(w.str(), &out);
  return out;
}

namespace {

// A tiny flattener for the JSON FiguresJson writes (objects of numbers and
// nulls, no strings, no arrays): enough, and it keeps the key order.
void Flatten(std::string_view json, std::vector<std::pair<std::string, std::string>>* out) {
  std::vector<std::string> path;
  std::string key;
  size_t i = 0;
  auto name = [&] {
    std::string n;
    for (const auto& p : path) n += (n.empty() ? "" : ".") + p;
    return n;
  };
  while (i < json.size()) {
    char c = json[i];
    if (c == '"') {
      size_t end = json.find('"', i + 1);
      key = std::string(json.substr(i + 1, end - i - 1));
      i = end + 2;  // skip the colon
      if (json[i] == '{') {
        path.push_back(key);
        ++i;
      } else {
        size_t stop = json.find_first_of(",}", i);
        path.push_back(key);
        out->push_back({name(), std::string(json.substr(i, stop - i))});
        path.pop_back();
        i = stop;
      }
    } else if (c == '}') {
      if (!path.empty()) path.pop_back();
      ++i;
    } else {
      ++i;
    }
  }
}

}  // namespace

std::string RenderReport(const Report& r, ReportFormat format) {
  switch (format) {
    case ReportFormat::kJson: return ReportJson(r, true) + "\n";
    case ReportFormat::kCsv: {
      std::string out = "territory";
      auto header = FlattenFigures(r.territories[0]);
      for (const auto& [k, v] : header) out += "," + k;
      out += "\n";
      for (size_t t = 0; t < 4; ++t) {
        out += kTerritoryKeys[t];
        for (const auto& [k, v] : FlattenFigures(r.territories[t])) out += "," + (v == "null" ? "" : v);
        out += "\n";
      }
      return out;
    }
    case ReportFormat::kMarkdown: {
      std::string out = "# Indicators as of " + FormatDate(r.as_of) + "\n\nPeriod " +
                        FormatDate(PeriodStart(r.as_of)) + " to " + FormatDate(r.as_of) + ", known at " +
                        (r.known_at ? FormatTimestamp(*r.known_at) : std::string("the end of the log")) +
                        " (log position " + std::to_string(r.log_position) + ", hash `" + r.log_hash +
                        "`).\n\n| territory |";
      auto header = FlattenFigures(r.territories[0]);
      for (const auto& [k, v] : header) out += " " + k + " |";
      out += "\n|---|";
      for (size_t i = 0; i < header.size(); ++i) out += "---:|";
      out += "\n";
      for (size_t t = 0; t < 4; ++t) {
        out += std::string("| ") + kTerritoryKeys[t] + " |";
        for (const auto& [k, v] : FlattenFigures(r.territories[t])) out += " " + (v == "null" ? "–" : v) + " |";
        out += "\n";
      }
      return out;
    }
    case ReportFormat::kHtml:
      return RenderHtml(r, {}, {});
  }
  return {};
}

// --------------------------------------------------------------- series

Result<std::vector<SeriesRow>> ComputeSeries(Engine& engine, Date from, Date to,
                                             std::optional<Timestamp> known_at) {
  ViewTime t;
  t.known_at = known_at;
  ASSIGN_OR_RETURN(Position p, KnownAtPosition(engine, t));
  return ComputeSeriesAt(engine, from, to, p);
}

std::vector<SeriesMonth> SeriesMonths(Date from, Date to) {
  // Months [first, last] clipped to [from, to].
  std::vector<SeriesMonth> months;
  int y, m, d;
  CivilFromDate(from, &y, &m, &d);
  for (;;) {
    Date first = std::max(DateFromCivil(y, m, 1), from);
    if (first > to) break;
    Date last = std::min(AddMonthsClamped(DateFromCivil(y, m, 1), 1) - 1, to);
    char label[8];
    std::snprintf(label, sizeof label, "%04d-%02d", y, m);
    months.push_back({label, first, last});
    if (++m == 13) {
      m = 1;
      ++y;
    }
  }
  return months;
}

namespace {

void AddCounts(SeriesRow& to_row, const SeriesRow& from_row) {
  to_row.supported_access += from_row.supported_access;
  to_row.supported_maintien += from_row.supported_maintien;
  to_row.supported_unreferred += from_row.supported_unreferred;
  to_row.arrears_open += from_row.arrears_open;
  to_row.move_ins += from_row.move_ins;
  to_row.lease_switches += from_row.lease_switches;
  to_row.evictions_carried_out += from_row.evictions_carried_out;
  to_row.evictions_avoided += from_row.evictions_avoided;
}

// One household's rows of the series, from its walk (as of the series' last
// day) and its timeline: `add(month index, territory index 1..3, counts)`.
template <typename Add>
void HouseholdSeriesWalk(const Walk& w, const std::vector<TimelineEntry>& timeline,
                         const std::vector<SeriesMonth>& months, const Add& add) {
  if (!w.state.registered) return;
  for (size_t i = 0; i < months.size(); ++i) {
    const SeriesMonth& mo = months[i];
    // Territory and track as of the month's last day.
    sc::Territory territory = w.state.territory;
    bool registered = false;
    int track = 2;
    for (const TimelineEntry& e : timeline) {
      if (e.effective > mo.last) break;
      if (e.fact->type == EventType::kHouseholdRegistered) registered = true;
      if (e.fact->type == EventType::kHouseholdRegistered || e.fact->type == EventType::kCaseTransferred)
        territory = e.fact->territory;
      if (e.fact->type == EventType::kHouseholdReferred) track = e.fact->track == sc::Track::ACCESS ? 0 : 1;
    }
    if (!registered) continue;
    SeriesRow row;
    bool supported = false;
    for (const EpisodeState& ep : w.state.episodes)
      if (ep.started_on <= mo.last && !(ep.closed_on && *ep.closed_on < mo.first)) supported = true;
    if (supported) (track == 0 ? row.supported_access : track == 1 ? row.supported_maintien : row.supported_unreferred)++;
    for (const auto& [start, end] : w.arrears_intervals)
      if (start <= mo.last && !(end && *end <= mo.last)) {
        ++row.arrears_open;
        break;
      }
    for (const auto& [d, days] : w.move_ins) row.move_ins += In(d, mo.first, mo.last);
    for (const auto& [d, days] : w.switches) row.lease_switches += In(d, mo.first, mo.last);
    for (Date d : w.evictions) row.evictions_carried_out += In(d, mo.first, mo.last);
    for (const auto& [d, by_eviction] : w.procedure_closings)
      row.evictions_avoided += !by_eviction && In(d, mo.first, mo.last);
    add(i, TerritoryIndex(territory), row);
  }
}

}  // namespace

std::vector<HouseholdSeriesRow> HouseholdSeries(const std::vector<TimelineEntry>& timeline,
                                                const std::vector<SeriesMonth>& months) {
  Walk w;
  WalkTimeline(timeline, &w);
  std::vector<HouseholdSeriesRow> out;
  HouseholdSeriesWalk(w, timeline, months, [&](size_t i, int territory, const SeriesRow& c) {
    if (c.supported_access + c.supported_maintien + c.supported_unreferred + c.arrears_open + c.move_ins +
            c.lease_switches + c.evictions_carried_out + c.evictions_avoided ==
        0)
      return;  // a month this household adds nothing to (counts are never negative)
    HouseholdSeriesRow r;
    r.month = i;
    r.territory = kTerritoryKeys[static_cast<size_t>(territory)];
    r.counts = c;
    out.push_back(std::move(r));
  });
  return out;
}

Result<std::vector<SeriesRow>> ComputeSeriesAt(Engine& engine, Date from, Date to, Position p) {
  p = std::min(p, engine.GetHead().position);
  const std::vector<SeriesMonth> months = SeriesMonths(from, to);
  // rows[month][territory]
  std::vector<std::array<SeriesRow, 4>> rows(months.size());
  for (size_t i = 0; i < months.size(); ++i)
    for (size_t k = 0; k < 4; ++k) {
      rows[i][k].month = months[i].label;
      rows[i][k].territory = kTerritoryKeys[k];
    }
  std::array<Walk, kWorkers> walks;
  std::array<std::vector<std::array<SeriesRow, 4>>, kWorkers> partial;
  for (auto& p_rows : partial) p_rows = rows;
  Status st = ForEachTimeline(
      engine, p, to, StreamKind::kHousehold, [&](int k, const Subject&, const std::vector<TimelineEntry>& timeline) {
        Walk& w = walks[k];
        auto& rows = partial[k];
        w = Walk();
        WalkTimeline(timeline, &w);
        HouseholdSeriesWalk(w, timeline, months, [&](size_t i, int territory, const SeriesRow& counts) {
          AddCounts(rows[i][static_cast<size_t>(territory)], counts);
        });
      });
  RETURN_IF_ERROR(st);
  for (const auto& worker : partial)
    for (size_t i = 0; i < rows.size(); ++i)
      for (size_t k = 1; k < 4; ++k) AddCounts(rows[i][k], worker[i][k]);
  std::vector<SeriesRow> out;
  for (auto& month : rows) {
    for (size_t k = 1; k < 4; ++k) AddCounts(month[0], month[k]);
    for (auto& row : month) out.push_back(std::move(row));
  }
  return out;
}

std::string RenderSeriesCsv(const std::vector<SeriesRow>& rows) {
  std::string out =
      "month,territory,supported.access,supported.maintien,supported.unreferred,arrearsOpen,moveIns,"
      "leaseSwitches,evictions.carriedOut,evictions.avoided\n";
  for (const auto& r : rows) {
    out += r.month + "," + r.territory + "," + std::to_string(r.supported_access) + "," +
           std::to_string(r.supported_maintien) + "," + std::to_string(r.supported_unreferred) + "," +
           std::to_string(r.arrears_open) + "," + std::to_string(r.move_ins) + "," +
           std::to_string(r.lease_switches) + "," + std::to_string(r.evictions_carried_out) + "," +
           std::to_string(r.evictions_avoided) + "\n";
  }
  return out;
}

}  // namespace relais::projections
