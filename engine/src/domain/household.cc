// Household stream rules (events.md §3, §4) and its Evolve.
//
// Each Check* tests the rules of one event type in the order its row lists
// them, so that the first failing rule is the one reported (events.md §2).
#include <algorithm>
#include <string>

#include "relais/domain.h"

namespace relais {

namespace {

using sc::CalDecision;
using sc::Contract;
using sc::EvictionStep;

RuleFailure Fail(std::string code, std::string message) {
  return RuleFailure{std::move(code), std::move(message)};
}

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

ReferralState* FindReferralMut(HouseholdState& s, std::string_view id) {
  for (auto& r : s.referrals)
    if (r.id == id) return &r;
  return nullptr;
}

EpisodeState* FindEpisodeMut(HouseholdState& s, std::string_view id) {
  for (auto& e : s.episodes)
    if (e.id == id) return &e;
  return nullptr;
}

bool EpisodeOpen(const EpisodeState& e) { return e.status != EpisodeStatus::kClosed; }

const EpisodeState* OpenEpisodeOf(const HouseholdState& s, sc::SupportKind kind,
                                  std::string_view association) {
  for (const auto& e : s.episodes)
    if (EpisodeOpen(e) && e.kind == kind && e.association == association) return &e;
  return nullptr;
}

// The latest positive, unanswered decision for a dwelling (OfferAnswered).
// Templates so that the const state of a check and the mutable state of an
// evolve share one definition.
template <typename State>
auto* LatestAnswerableDecision(State& s, std::string_view dwelling) {
  for (auto it = s.decisions.rbegin(); it != s.decisions.rend(); ++it)
    if (it->dwelling_id == dwelling && it->IsPositive() && !it->answered) return &*it;
  return static_cast<decltype(&*s.decisions.begin())>(nullptr);
}

// The earliest accepted offer for a dwelling that no occupancy has used.
template <typename State>
auto* EarliestUnusedAcceptedOffer(State& s, std::string_view dwelling) {
  for (auto& d : s.decisions)
    if (d.dwelling_id == dwelling && d.answered && d.answer == sc::OfferAnswer::ACCEPTED &&
        !d.used)
      return &d;
  return static_cast<decltype(&*s.decisions.begin())>(nullptr);
}

const DecisionState* LatestDecisionFor(const HouseholdState& s, std::string_view dwelling) {
  for (auto it = s.decisions.rbegin(); it != s.decisions.rend(); ++it)
    if (it->dwelling_id == dwelling) return &*it;
  return nullptr;
}

std::string_view StepName(EvictionStep step) {
  switch (step) {
    case EvictionStep::PAYMENT_ORDER: return "payment_order";
    case EvictionStep::SUMMONS: return "summons";
    case EvictionStep::JUDGMENT_DELAYS: return "judgment_delays";
    case EvictionStep::JUDGMENT_REJECTED: return "judgment_rejected";
    case EvictionStep::JUDGMENT_TERMINATION: return "judgment_termination";
    case EvictionStep::ORDER_TO_LEAVE: return "order_to_leave";
    case EvictionStep::POLICE_REQUESTED: return "police_requested";
    case EvictionStep::POLICE_GRANTED: return "police_granted";
    case EvictionStep::POLICE_REFUSED: return "police_refused";
    case EvictionStep::EVICTION_CARRIED_OUT: return "eviction_carried_out";
    case EvictionStep::COHESION_PROTOCOL_SIGNED: return "cohesion_protocol_signed";
  }
  return "?";
}

// The stage a step leads to from `from`, or nullopt when the step is out of
// order (events.md §4).
std::optional<ProcedureStage> NextStage(ProcedureStage from, EvictionStep step) {
  using PS = ProcedureStage;
  switch (from) {
    case PS::kNone:
    case PS::kClosed:
      if (step == EvictionStep::PAYMENT_ORDER) return PS::kPaymentOrder;
      return std::nullopt;
    case PS::kPaymentOrder:
      if (step == EvictionStep::SUMMONS) return PS::kSummons;
      return std::nullopt;
    case PS::kSummons:
      if (step == EvictionStep::JUDGMENT_DELAYS || step == EvictionStep::JUDGMENT_REJECTED)
        return PS::kClosed;
      if (step == EvictionStep::JUDGMENT_TERMINATION) return PS::kJudgmentTermination;
      return std::nullopt;
    case PS::kJudgmentTermination:
      if (step == EvictionStep::ORDER_TO_LEAVE) return PS::kOrderToLeave;
      if (step == EvictionStep::COHESION_PROTOCOL_SIGNED) return PS::kClosed;
      return std::nullopt;
    case PS::kOrderToLeave:
      if (step == EvictionStep::POLICE_REQUESTED) return PS::kPoliceRequested;
      if (step == EvictionStep::COHESION_PROTOCOL_SIGNED) return PS::kClosed;
      return std::nullopt;
    case PS::kPoliceRequested:
      if (step == EvictionStep::POLICE_GRANTED) return PS::kPoliceGranted;
      if (step == EvictionStep::POLICE_REFUSED) return PS::kPoliceRefused;
      if (step == EvictionStep::COHESION_PROTOCOL_SIGNED) return PS::kClosed;
      return std::nullopt;
    case PS::kPoliceRefused:
      if (step == EvictionStep::POLICE_REQUESTED) return PS::kPoliceRequested;
      if (step == EvictionStep::COHESION_PROTOCOL_SIGNED) return PS::kClosed;
      return std::nullopt;
    case PS::kPoliceGranted:
      if (step == EvictionStep::EVICTION_CARRIED_OUT || step == EvictionStep::COHESION_PROTOCOL_SIGNED)
        return PS::kClosed;
      return std::nullopt;
  }
  return std::nullopt;
}

void EndActiveOccupancy(HouseholdState& s, Date d, sc::EndReason reason,
                        sc::Destination destination) {
  if (OccupancyState* o = s.ActiveOccupancy()) {
    o->end = d;
    o->end_reason = reason;
    o->destination = destination;
  }
}

std::optional<RuleFailure> NeedConsent(const HouseholdState& s, Date d) {
  if (!s.consent_support)
    return Fail("consent_required",
                "support cannot start on " + FormatDate(d) +
                    ": the household's consent to support is not given at that date");
  return std::nullopt;
}

}  // namespace

bool InWinterTruce(Date d) {
  int y, m, day;
  CivilFromDate(d, &y, &m, &day);
  return m >= 11 || m <= 3;  // 1 November to 31 March inclusive
}

bool DecisionState::IsPositive() const {
  return decision == CalDecision::ATTRIBUTION || decision == CalDecision::ATTRIBUTION_RANKED ||
         (decision == CalDecision::ATTRIBUTION_CONDITIONAL && resolved && met);
}

const OccupancyState* HouseholdState::ActiveOccupancy() const {
  if (occupancies.empty() || occupancies.back().end) return nullptr;
  return &occupancies.back();
}
OccupancyState* HouseholdState::ActiveOccupancy() {
  if (occupancies.empty() || occupancies.back().end) return nullptr;
  return &occupancies.back();
}
const ReferralState* HouseholdState::FindReferral(std::string_view id) const {
  for (const auto& r : referrals)
    if (r.id == id) return &r;
  return nullptr;
}
const EpisodeState* HouseholdState::FindEpisode(std::string_view id) const {
  for (const auto& e : episodes)
    if (e.id == id) return &e;
  return nullptr;
}

std::string_view ProcedureStageName(ProcedureStage s) {
  switch (s) {
    case ProcedureStage::kNone: return "none";
    case ProcedureStage::kPaymentOrder: return "payment_order";
    case ProcedureStage::kSummons: return "summons";
    case ProcedureStage::kJudgmentTermination: return "judgment_termination";
    case ProcedureStage::kOrderToLeave: return "order_to_leave";
    case ProcedureStage::kPoliceRequested: return "police_requested";
    case ProcedureStage::kPoliceGranted: return "police_granted";
    case ProcedureStage::kPoliceRefused: return "police_refused";
    case ProcedureStage::kClosed: return "closed";
  }
  return "none";
}

bool OccupancyInterval::Overlaps(Date s, std::optional<Date> e) const {
  // [start, end) and [s, e) share a day iff each starts before the other ends.
  bool a_before_b_ends = !e || start < *e;
  bool b_before_a_ends = !end || s < *end;
  return a_before_b_ends && b_before_a_ends;
}

std::optional<RuleFailure> CheckHouseholdEvent(const HouseholdState& s, const Fact& f,
                                               Date d, const CrossStream& cross,
                                               const OccupancyInterval* own_interval,
                                               std::string_view self) {
  // Messages are only built on failure: checks run on every append.
  auto on = [d] { return " on " + FormatDate(d); };
  if (f.type == EventType::kHouseholdRegistered) {
    if (s.registered)
      return Fail("already_registered", "the household is already registered (since " +
                                            FormatDate(s.registered_on) + ")");
    return std::nullopt;
  }
  if (!s.registered)
    return Fail("not_registered", std::string(EventTypeName(f.type)) + on() +
                                      ": the household is not registered at that date");

  switch (f.type) {
    case EventType::kHouseholdReferred: {
      if (s.FindReferral(f.referral_id))
        return Fail("duplicate_referral",
                    "referral " + Quote(f.referral_id) + " already exists in this household");
      for (const auto& r : s.referrals)
        if (r.track == f.track && r.status == ReferralStatus::kOpen)
          return Fail("referral_already_open",
                      "referral " + Quote(r.id) + " of the same track is still open" + on());
      return std::nullopt;
    }
    case EventType::kReferralDecided: {
      const ReferralState* r = s.FindReferral(f.referral_id);
      if (!r || r->status != ReferralStatus::kOpen)
        return Fail("referral_not_open",
                    "referral " + Quote(f.referral_id) +
                        (r ? " is already decided" : " does not exist") + on());
      if (f.outcome != sc::ReferralOutcome::ACCEPTED && !f.has_reason)
        return Fail("reason_required", "a referral that is not accepted needs a reason");
      return std::nullopt;
    }
    case EventType::kCalApplicationFiled: {
      const ReferralState* r = s.FindReferral(f.referral_id);
      if (!r || r->status != ReferralStatus::kAccepted || r->track != sc::Track::ACCESS)
        return Fail("referral_not_accepted",
                    "referral " + Quote(f.referral_id) +
                        " is not an accepted referral of the access track" + on());
      auto reg = cross.DwellingRegisteredOn(f.dwelling_id);
      if (!reg || *reg > d)
        return Fail("dwelling_not_registered",
                    "dwelling " + Quote(f.dwelling_id) + " is not registered" + on());
      for (const auto& a : s.pending_applications)
        if (a.referral_id == f.referral_id)
          return Fail("application_pending", "referral " + Quote(f.referral_id) +
                                                 " already has an application pending (dwelling " +
                                                 Quote(a.dwelling_id) + ")");
      return std::nullopt;
    }
    case EventType::kCalDecisionRecorded: {
      bool pending = false;
      for (const auto& a : s.pending_applications)
        if (a.referral_id == f.referral_id && a.dwelling_id == f.dwelling_id) pending = true;
      if (!pending)
        return Fail("no_pending_application", "no application is pending for referral " +
                                                  Quote(f.referral_id) + " and dwelling " +
                                                  Quote(f.dwelling_id) + on());
      if (f.decision == CalDecision::ATTRIBUTION_RANKED && !f.has_rank)
        return Fail("rank_required", "a ranked attribution needs a rank");
      if (f.decision == CalDecision::ATTRIBUTION_CONDITIONAL &&
          (!f.has_condition || !f.condition_deadline || *f.condition_deadline < d))
        return Fail("condition_required",
                    "a conditional attribution needs a condition and a conditionDeadline on or "
                    "after the decision date");
      if ((f.decision == CalDecision::NON_ATTRIBUTION || f.decision == CalDecision::INADMISSIBLE) &&
          !f.has_reason)
        return Fail("reason_required", "a non-attribution or inadmissibility needs a reason");
      return std::nullopt;
    }
    case EventType::kCalConditionResolved: {
      const DecisionState* dec = LatestDecisionFor(s, f.dwelling_id);
      if (!dec || dec->decision != CalDecision::ATTRIBUTION_CONDITIONAL || dec->resolved)
        return Fail("no_conditional_decision",
                    "the latest CAL decision for dwelling " + Quote(f.dwelling_id) +
                        " is not an unresolved conditional attribution");
      if (f.flag && dec->condition_deadline && d > *dec->condition_deadline)
        return Fail("condition_deadline_passed",
                    "the condition for dwelling " + Quote(f.dwelling_id) + " had to be met by " +
                        FormatDate(*dec->condition_deadline));
      return std::nullopt;
    }
    case EventType::kOfferAnswered: {
      if (!LatestAnswerableDecision(s, f.dwelling_id))
        return Fail("no_positive_decision", "no positive CAL decision awaits an answer for dwelling " +
                                                Quote(f.dwelling_id) + on());
      return std::nullopt;
    }
    case EventType::kOccupancyStarted: {
      auto reg = cross.DwellingRegisteredOn(f.dwelling_id);
      if (!reg || *reg > d)
        return Fail("dwelling_not_registered",
                    "dwelling " + Quote(f.dwelling_id) + " is not registered" + on());
      if (const OccupancyState* o = s.ActiveOccupancy())
        return Fail("already_housed", "the household already occupies dwelling " +
                                          Quote(o->dwelling_id) + " since " + FormatDate(o->since));
      std::optional<Date> end = own_interval ? own_interval->end : std::nullopt;
      for (const auto& other : cross.OtherOccupancies(f.dwelling_id, self)) {
        if (other.Overlaps(d, end))
          return Fail("dwelling_occupied",
                      "dwelling " + Quote(f.dwelling_id) + " is occupied by household " +
                          Quote(other.household) + " from " + FormatDate(other.start) +
                          (other.end ? " to " + FormatDate(*other.end) : std::string(" on")));
      }
      if (!f.flag) {
        if (!EarliestUnusedAcceptedOffer(s, f.dwelling_id))
          return Fail("offer_not_accepted", "no accepted offer for dwelling " +
                                                Quote(f.dwelling_id) +
                                                " awaits a move-in (and it is not preexisting)");
      }
      if ((f.contract == Contract::HOSTING || f.contract == Contract::SUBLEASE) &&
          !f.has_association)
        return Fail("association_required", "hosting and sublease need the association");
      return std::nullopt;
    }
    case EventType::kSlideReviewHeld: {
      const OccupancyState* o = s.ActiveOccupancy();
      if (!o || o->contract() != Contract::SUBLEASE)
        return Fail("not_a_sublease", "a slide review needs an active sublease" + on());
      return std::nullopt;
    }
    case EventType::kLeaseSwitched: {
      const OccupancyState* o = s.ActiveOccupancy();
      if (!o || o->dwelling_id != f.dwelling_id)
        return Fail("no_active_occupancy", "the household does not occupy dwelling " +
                                               Quote(f.dwelling_id) + on());
      if (o->contract() != Contract::SUBLEASE && o->contract() != Contract::HOSTING)
        return Fail("not_a_sublease", "the occupancy of dwelling " + Quote(f.dwelling_id) +
                                          " is not a sublease or hosting");
      if (o->contract() == Contract::SUBLEASE && !o->favourable_review)
        return Fail("no_favourable_review",
                    "no favourable slide review during the current sublease of dwelling " +
                        Quote(f.dwelling_id));
      return std::nullopt;
    }
    case EventType::kOccupancyEnded: {
      const OccupancyState* o = s.ActiveOccupancy();
      if (!o || o->dwelling_id != f.dwelling_id)
        return Fail("no_active_occupancy", "the household does not occupy dwelling " +
                                               Quote(f.dwelling_id) + on());
      return std::nullopt;
    }
    case EventType::kSupportStarted: {
      if (auto c = NeedConsent(s, d)) return c;
      if (s.FindEpisode(f.episode_id))
        return Fail("duplicate_episode",
                    "episode " + Quote(f.episode_id) + " already exists in this household");
      if (const EpisodeState* e = OpenEpisodeOf(s, f.kind, f.association))
        return Fail("episode_already_active", "episode " + Quote(e->id) +
                                                  " of the same kind with " +
                                                  Quote(f.association) + " is still open");
      return std::nullopt;
    }
    case EventType::kObjectivesSet: {
      const EpisodeState* e = s.FindEpisode(f.episode_id);
      if (!e || e->status != EpisodeStatus::kActive)
        return Fail("episode_not_active", "episode " + Quote(f.episode_id) + " is not active" + on());
      for (size_t i = 0; i < f.objectives.size(); ++i) {
        std::string_view id = f.objectives[i].id;
        bool dup = std::any_of(e->objectives.begin(), e->objectives.end(),
                               [&](const ObjectiveItem& o) { return o.id == id; });
        for (size_t j = 0; j < i && !dup; ++j) dup = f.objectives[j].id == id;
        if (dup)
          return Fail("duplicate_objective", "objective " + Quote(id) +
                                                 " already exists in episode " +
                                                 Quote(f.episode_id));
      }
      return std::nullopt;
    }
    case EventType::kSituationReviewed: {
      const EpisodeState* e = s.FindEpisode(f.episode_id);
      if (!e || !EpisodeOpen(*e))
        return Fail("episode_not_active",
                    "episode " + Quote(f.episode_id) + " is not active or paused" + on());
      for (const auto& p : f.objectives) {
        bool known = std::any_of(e->objectives.begin(), e->objectives.end(),
                                 [&](const ObjectiveItem& o) { return o.id == p.id; });
        if (!known)
          return Fail("unknown_objective", "objective " + Quote(p.id) +
                                               " was not set in episode " + Quote(f.episode_id));
      }
      return std::nullopt;
    }
    case EventType::kSupportPaused: {
      const EpisodeState* e = s.FindEpisode(f.episode_id);
      if (!e || e->status != EpisodeStatus::kActive)
        return Fail("episode_not_active", "episode " + Quote(f.episode_id) + " is not active" + on());
      return std::nullopt;
    }
    case EventType::kSupportUnpaused: {
      const EpisodeState* e = s.FindEpisode(f.episode_id);
      if (!e || e->status != EpisodeStatus::kPaused)
        return Fail("episode_not_paused", "episode " + Quote(f.episode_id) + " is not paused" + on());
      return std::nullopt;
    }
    case EventType::kSupportClosed: {
      const EpisodeState* e = s.FindEpisode(f.episode_id);
      if (!e || !EpisodeOpen(*e))
        return Fail("episode_not_active",
                    "episode " + Quote(f.episode_id) + " is not active or paused" + on());
      return std::nullopt;
    }
    case EventType::kSupportResumed: {
      const EpisodeState* prev = s.FindEpisode(f.previous_episode_id);
      if (!prev || prev->status != EpisodeStatus::kClosed)
        return Fail("episode_not_closed",
                    "episode " + Quote(f.previous_episode_id) + " is not closed" + on());
      if (s.FindEpisode(f.episode_id))
        return Fail("duplicate_episode",
                    "episode " + Quote(f.episode_id) + " already exists in this household");
      if (auto c = NeedConsent(s, d)) return c;
      if (const EpisodeState* e = OpenEpisodeOf(s, prev->kind, prev->association))
        return Fail("episode_already_active", "episode " + Quote(e->id) +
                                                  " of the same kind with " +
                                                  Quote(prev->association) + " is still open");
      return std::nullopt;
    }
    case EventType::kArrearsAlertRaised: {
      const OccupancyState* o = s.ActiveOccupancy();
      if (!o || o->dwelling_id != f.dwelling_id)
        return Fail("no_active_occupancy", "the household does not occupy dwelling " +
                                               Quote(f.dwelling_id) + on());
      if (s.arrears && s.arrears->open)
        return Fail("arrears_already_open", "an arrears alert is already open since " +
                                                FormatDate(s.arrears->since));
      return std::nullopt;
    }
    case EventType::kRepaymentPlanAgreed:
    case EventType::kFslAidDecided:
    case EventType::kCcapexReferred:
    case EventType::kArrearsCleared:
      if (!s.arrears || !s.arrears->open)
        return Fail("no_open_arrears", std::string(EventTypeName(f.type)) + on() +
                                           ": the household has no open arrears");
      return std::nullopt;
    case EventType::kEvictionStepRecorded: {
      auto next = NextStage(s.stage, f.step);
      if (!next)
        return Fail("step_out_of_order", "step " + std::string(StepName(f.step)) +
                                             " cannot follow stage " +
                                             std::string(ProcedureStageName(s.stage)));
      if (f.step == EvictionStep::PAYMENT_ORDER && (!s.arrears || !s.arrears->open))
        return Fail("no_open_arrears", "a payment order needs open arrears" + on());
      if (f.step == EvictionStep::SUMMONS) {
        bool enough = false;
        if (s.arrears)
          for (Date c : s.arrears->ccapex)
            if (AddMonthsClamped(c, 2) <= d) enough = true;
        if (!enough)
          return Fail("ccapex_notice_too_short",
                      "a summons" + on() +
                          " needs a CCAPEX referral of the current arrears at least two calendar "
                          "months earlier");
      }
      if (f.step == EvictionStep::EVICTION_CARRIED_OUT) {
        if (!s.ActiveOccupancy())
          return Fail("no_active_occupancy", "an eviction needs an active occupancy" + on());
        if (InWinterTruce(d))
          return Fail("winter_truce", "no eviction between 1 November and 31 March (" +
                                          FormatDate(d) + ")");
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;  // ConsentRecorded, PriorityRecognised, DifficultyReported, ...
  }
}

void EvolveHousehold(HouseholdState& s, const Fact& f, Date d) {
  switch (f.type) {
    case EventType::kHouseholdRegistered:
      s.registered = true;
      s.registered_on = d;
      s.territory = f.territory;
      break;
    case EventType::kCaseTransferred:
      s.territory = f.territory;
      break;
    case EventType::kConsentRecorded:
      switch (f.purpose) {
        case sc::ConsentPurpose::SUPPORT: s.consent_support = f.flag; break;
        case sc::ConsentPurpose::DATA_SHARING: s.consent_data_sharing = f.flag; break;
        case sc::ConsentPurpose::KEEP_HISTORY: s.consent_keep_history = f.flag; break;
      }
      break;
    case EventType::kHouseholdReferred:
      s.referrals.push_back({f.referral_id, f.track, f.source, ReferralStatus::kOpen, d});
      break;
    case EventType::kReferralDecided:
      if (ReferralState* r = FindReferralMut(s, f.referral_id)) {
        r->status = f.outcome == sc::ReferralOutcome::ACCEPTED  ? ReferralStatus::kAccepted
                    : f.outcome == sc::ReferralOutcome::REFUSED ? ReferralStatus::kRefused
                                                                : ReferralStatus::kExpired;
      }
      break;
    case EventType::kCalApplicationFiled:
      s.pending_applications.push_back({f.referral_id, f.dwelling_id});
      break;
    case EventType::kCalDecisionRecorded: {
      auto& apps = s.pending_applications;
      apps.erase(std::remove_if(apps.begin(), apps.end(),
                                [&](const ApplicationState& a) {
                                  return a.referral_id == f.referral_id &&
                                         a.dwelling_id == f.dwelling_id;
                                }),
                 apps.end());
      DecisionState dec;
      dec.referral_id = f.referral_id;
      dec.dwelling_id = f.dwelling_id;
      dec.decision = f.decision;
      dec.decided_on = d;
      dec.condition_deadline = f.condition_deadline;
      s.decisions.push_back(std::move(dec));
      break;
    }
    case EventType::kCalConditionResolved:
      for (auto it = s.decisions.rbegin(); it != s.decisions.rend(); ++it)
        if (it->dwelling_id == f.dwelling_id) {
          it->resolved = true;
          it->met = f.flag;
          break;
        }
      break;
    case EventType::kOfferAnswered:
      if (DecisionState* dec = LatestAnswerableDecision(s, f.dwelling_id)) {
        dec->answered = true;
        dec->answer = f.answer;
      }
      break;
    case EventType::kOccupancyStarted: {
      OccupancyState o;
      o.dwelling_id = f.dwelling_id;
      o.since = d;
      o.contracts.push_back({f.contract, d});
      o.association = f.association;
      o.preexisting = f.flag;
      if (!f.flag)
        if (DecisionState* dec = EarliestUnusedAcceptedOffer(s, f.dwelling_id)) {
          dec->used = true;
          o.referral_id = dec->referral_id;
        }
      s.occupancies.push_back(std::move(o));
      break;
    }
    case EventType::kSlideReviewHeld:
      if (OccupancyState* o = s.ActiveOccupancy())
        if (f.slide_outcome == sc::SlideOutcome::FAVOURABLE) o->favourable_review = true;
      break;
    case EventType::kLeaseSwitched:
      if (OccupancyState* o = s.ActiveOccupancy()) o->contracts.push_back({Contract::DIRECT_LEASE, d});
      break;
    case EventType::kOccupancyEnded:
      EndActiveOccupancy(s, d, f.end_reason, f.destination);
      break;
    case EventType::kSupportStarted: {
      EpisodeState e;
      e.id = f.episode_id;
      e.kind = f.kind;
      e.association = f.association;
      e.started_on = d;
      s.episodes.push_back(std::move(e));
      break;
    }
    case EventType::kObjectivesSet:
      if (EpisodeState* e = FindEpisodeMut(s, f.episode_id))
        for (const auto& o : f.objectives)
          e->objectives.push_back({o.id, o.domain, sc::ObjectiveStatus::NOT_STARTED});
      break;
    case EventType::kSituationReviewed:
      if (EpisodeState* e = FindEpisodeMut(s, f.episode_id))
        for (const auto& p : f.objectives)
          for (auto& o : e->objectives)
            if (o.id == p.id) o.status = p.status;
      break;
    case EventType::kSupportPaused:
      if (EpisodeState* e = FindEpisodeMut(s, f.episode_id)) {
        e->status = EpisodeStatus::kPaused;
        e->paused_since = d;
      }
      break;
    case EventType::kSupportUnpaused:
      if (EpisodeState* e = FindEpisodeMut(s, f.episode_id)) {
        e->status = EpisodeStatus::kActive;
        if (e->paused_since) e->paused_days += d - *e->paused_since;
        e->paused_since.reset();
      }
      break;
    case EventType::kSupportClosed:
      if (EpisodeState* e = FindEpisodeMut(s, f.episode_id)) {
        if (e->paused_since) e->paused_days += d - *e->paused_since;
        e->paused_since.reset();
        e->status = EpisodeStatus::kClosed;
        e->closed_on = d;
        e->close_reason = f.close_reason;
      }
      break;
    case EventType::kSupportResumed: {
      const EpisodeState* prev = s.FindEpisode(f.previous_episode_id);
      EpisodeState e;
      e.id = f.episode_id;
      e.started_on = d;
      e.previous_episode_id = f.previous_episode_id;
      if (prev) {
        e.kind = prev->kind;
        e.association = prev->association;
        e.objectives = prev->objectives;  // carried with their latest status
      }
      s.episodes.push_back(std::move(e));
      break;
    }
    case EventType::kArrearsAlertRaised: {
      ArrearsState a;
      a.open = true;
      a.amount_cents = f.amount_cents;
      a.since = d;
      s.arrears = std::move(a);
      break;
    }
    case EventType::kCcapexReferred:
      if (s.arrears) s.arrears->ccapex.push_back(d);
      break;
    case EventType::kArrearsCleared:
      if (s.arrears) {
        s.arrears->open = false;
        s.arrears->cleared_on = d;
      }
      break;
    case EventType::kEvictionStepRecorded:
      if (auto next = NextStage(s.stage, f.step)) s.stage = *next;
      if (f.step == EvictionStep::EVICTION_CARRIED_OUT)
        EndActiveOccupancy(s, d, sc::EndReason::EVICTION, sc::Destination::UNKNOWN);
      break;
    default:
      break;  // no state: PriorityRecognised, RepaymentPlanAgreed, FslAidDecided, ...
  }
}

std::vector<OccupancyInterval> ExtractOccupancies(std::string_view household,
                                                  const std::vector<TimelineEntry>& timeline) {
  std::vector<OccupancyInterval> out;
  std::optional<size_t> open;  // index into out of the occupancy not yet ended
  std::string open_dwelling;
  for (const auto& e : timeline) {
    const Fact& f = *e.fact;
    if (f.type == EventType::kOccupancyStarted && !open) {
      out.push_back({Intern(household), f.dwelling_id, e.effective, std::nullopt});
      open = out.size() - 1;
      open_dwelling = f.dwelling_id;
    } else if (open && ((f.type == EventType::kOccupancyEnded && f.dwelling_id == open_dwelling) ||
                        (f.type == EventType::kEvictionStepRecorded &&
                         f.step == EvictionStep::EVICTION_CARRIED_OUT))) {
      out[*open].end = e.effective;
      open.reset();
    }
  }
  return out;
}

StreamVerdict CheckHouseholdTimeline(std::string_view subject_id,
                                     const std::vector<TimelineEntry>& timeline,
                                     const CrossStream& cross) {
  // The occupancy intervals are found first, so that an OccupancyStarted is
  // checked against the days it really covers, its end included.
  std::vector<OccupancyInterval> own = ExtractOccupancies(subject_id, timeline);
  size_t next_own = 0;
  HouseholdState s;
  StreamVerdict v;
  for (size_t i = 0; i < timeline.size(); ++i) {
    const TimelineEntry& e = timeline[i];
    const OccupancyInterval* interval = nullptr;
    if (e.fact->type == EventType::kOccupancyStarted && !s.ActiveOccupancy() &&
        next_own < own.size()) {
      interval = &own[next_own++];
    }
    if (auto failure = CheckHouseholdEvent(s, *e.fact, e.effective, cross, interval, subject_id)) {
      v.ok = false;
      v.failing_index = i;
      v.failure = std::move(*failure);
      return v;
    }
    EvolveHousehold(s, *e.fact, e.effective);
  }
  return v;
}

}  // namespace relais
