// The access track: referral, CAL application and decision, offer, move-in.

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "generate/simulation.h"

namespace relais::tools::gen {

void Simulation::AccessFlow(int who) {
  switch (households_[static_cast<size_t>(who)].access_step) {
    case AccessStep::kRefer:
      return Refer(who);
    case AccessStep::kDecideReferral:
      return DecideReferral(who);
    case AccessStep::kApply:
      return Apply(who);
    case AccessStep::kCalDecision:
      return RecordCalDecision(who);
    case AccessStep::kResolveCondition:
      return ResolveCondition(who);
    case AccessStep::kAnswerOffer:
      return AnswerOffer(who);
    case AccessStep::kMoveIn:
      return StartOccupancy(who);
  }
}

void Simulation::Refer(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  h.source = rng_.Weighted(kAccessSources);
  h.referral_day = today_;
  ++h.referrals;
  Data()
      .Key("referralId")
      .String("R" + std::to_string(h.referrals))
      .Key("track")
      .String("access")
      .Key("source")
      .String(h.source)
      .Key("referrer")
      .String(Referrer(h.source, h.commune));
  Emit("HouseholdReferred", h.subject, today_);
  h.access_step = AccessStep::kDecideReferral;
  Schedule(who, Process::kAccess, NextWorkday(today_ + rng_.Between(7, 30)));
}

void Simulation::DecideReferral(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  const char* outcome =
      rng_.Weighted(std::array<Choice, 3>{{{"accepted", 85}, {"refused", 10}, {"expired", 5}}});
  const std::string_view o = outcome;
  JsonWriter& j = Data()
                      .Key("referralId")
                      .String("R" + std::to_string(h.referrals))
                      .Key("outcome")
                      .String(outcome);
  if (o == "refused") j.Key("reason").String(Pick(kRefusalReasons));
  if (o == "expired") j.Key("reason").String(Pick(kExpiryReasons));
  Emit("ReferralDecided", h.subject, today_);
  if (o == "accepted") {
    h.pending_priority = rng_.Chance(0.3);
    if (h.pending_priority) Schedule(who, Process::kAdmin, today_ + rng_.Between(3, 40));
    h.access_step = AccessStep::kApply;
    Schedule(who, Process::kAccess, NextWorkday(today_ + rng_.Between(7, 45)));
  } else if (++h.refused_referrals < 3 && rng_.Chance(0.45)) {
    h.access_step = AccessStep::kRefer;  // another orientation, months later
    Schedule(who, Process::kAccess, NextWorkday(today_ + rng_.Between(30, 150)));
  } else {
    h.active = false;
  }
}

void Simulation::Apply(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (++h.applications > 5) {  // the household gives up
    h.active = false;
    return;
  }
  h.candidate = ClaimDwelling(who);
  const int session = NextWorkday(today_ + rng_.Between(7, 28));
  Data()
      .Key("referralId")
      .String("R" + std::to_string(h.referrals))
      .Key("dwellingId")
      .String(dwellings_[static_cast<size_t>(h.candidate)].id)
      .Key("sessionDate")
      .String(DayText(session));
  Emit("CalApplicationFiled", h.subject, today_);
  h.access_step = AccessStep::kCalDecision;
  Schedule(who, Process::kAccess, session);
}

// The application failed: the dwelling goes back to the vacant list and the
// household applies again, for another dwelling, a few weeks later.
void Simulation::ApplyAgain(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  AddVacant(h.candidate);
  h.candidate = -1;
  h.access_step = AccessStep::kApply;
  Schedule(who, Process::kAccess, NextWorkday(today_ + rng_.Between(20, 60)));
}

void Simulation::RecordCalDecision(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  const std::string_view decision =
      rng_.Weighted(std::array<Choice, 5>{{{"attribution", 62},
                                           {"attribution_ranked", 12},
                                           {"attribution_conditional", 10},
                                           {"non_attribution", 12},
                                           {"inadmissible", 4}}});
  JsonWriter& j = Data()
                      .Key("referralId")
                      .String("R" + std::to_string(h.referrals))
                      .Key("dwellingId")
                      .String(dwellings_[static_cast<size_t>(h.candidate)].id)
                      .Key("decision")
                      .String(decision);
  if (decision == "attribution_ranked") {
    j.Key("rank").Int(static_cast<int>(rng_.Weighted(std::array<int, 3>{70, 20, 10})) + 1);
  } else if (decision == "attribution_conditional") {
    h.condition_deadline = today_ + rng_.Between(30, 75);
    j.Key("condition")
        .String(Pick(kConditions))
        .Key("conditionDeadline")
        .String(DayText(h.condition_deadline));
  } else if (decision == "non_attribution") {
    j.Key("reason").String(Pick(kNonAttributionReasons));
  } else if (decision == "inadmissible") {
    j.Key("reason").String(Pick(kInadmissibleReasons));
  }
  Emit("CalDecisionRecorded", h.subject, today_);
  if (decision == "attribution" || decision == "attribution_ranked") {
    h.access_step = AccessStep::kAnswerOffer;
    Schedule(who, Process::kAccess, today_ + rng_.Between(3, 14));
  } else if (decision == "attribution_conditional") {
    h.access_step = AccessStep::kResolveCondition;
    // Resolved on or before the deadline (a met condition after it is refused).
    Schedule(who, Process::kAccess, today_ + rng_.Between(7, h.condition_deadline - today_));
  } else {
    ApplyAgain(who);
  }
}

void Simulation::ResolveCondition(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  const bool met = rng_.Chance(0.85);
  Data()
      .Key("dwellingId")
      .String(dwellings_[static_cast<size_t>(h.candidate)].id)
      .Key("met")
      .Bool(met);
  Emit("CalConditionResolved", h.subject, today_);
  if (met) {
    h.access_step = AccessStep::kAnswerOffer;
    Schedule(who, Process::kAccess, today_ + rng_.Between(3, 10));
  } else {
    ApplyAgain(who);
  }
}

void Simulation::AnswerOffer(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  const std::string_view answer =
      rng_.Weighted(std::array<Choice, 3>{{{"accepted", 88}, {"refused", 9}, {"no_answer", 3}}});
  JsonWriter& j = Data()
                      .Key("dwellingId")
                      .String(dwellings_[static_cast<size_t>(h.candidate)].id)
                      .Key("answer")
                      .String(answer);
  if (answer == "refused") j.Key("reason").String(Pick(kOfferRefusals));
  Emit("OfferAnswered", h.subject, today_);
  if (answer == "accepted") {
    h.access_step = AccessStep::kMoveIn;
    Schedule(who, Process::kAccess, today_ + rng_.Between(5, 30));
  } else {
    ApplyAgain(who);
  }
}

// Moves in under hosting or a sublease held by an association (to slide to a
// direct lease later), or directly under a lease in the household's name.
void Simulation::StartOccupancy(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  const int dwelling = h.candidate;
  h.candidate = -1;
  const Dwelling& d = dwellings_[static_cast<size_t>(dwelling)];
  const auto contract = static_cast<Contract>(rng_.Weighted(std::array<int, 3>{25, 45, 30}));
  const char* association = Association(d.territory);
  JsonWriter& j = Data()
                      .Key("dwellingId")
                      .String(d.id)
                      .Key("contract")
                      .String(kContractNames[static_cast<int>(contract)]);
  if (contract != Contract::kDirectLease) j.Key("association").String(association);
  j.Key("rentCents").Int(d.rent_cents);
  const int64_t ordinal = Emit("OccupancyStarted", h.subject, today_);
  if (rng_.Chance(0.05)) {
    PlanFix(ordinal, who, FixKind::kRent, d.rent_cents + 50 * rng_.Between(-40, 40), today_,
            today_);
  }
  MoveIn(who, dwelling, contract);

  h.support_step = SupportStep::kStart;
  h.episode_association = contract != Contract::kDirectLease && rng_.Chance(0.7)
                              ? association
                              : Association(d.territory);
  Schedule(who, Process::kSupport, today_ + (rng_.Chance(0.6) ? 0 : rng_.Between(1, 30)));
  // A sublease slides after a favourable review; hosting often switches directly.
  if (contract == Contract::kSublease || (contract == Contract::kHosting && rng_.Chance(0.6))) {
    Schedule(who, Process::kSlide, today_ + rng_.Between(180, 540));
  }
  if (rng_.Chance(0.45)) Schedule(who, Process::kDeparture, today_ + rng_.Between(365, 1460));
  if (rng_.Chance(0.3)) Schedule(who, Process::kArrears, today_ + rng_.Between(120, 720));
  Schedule(who, Process::kDifficulty, today_ + rng_.Between(30, 200));
}

}  // namespace relais::tools::gen
