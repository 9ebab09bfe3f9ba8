// The maintien track: existing tenants, their arrears and the eviction
// procedure of events.md §4.

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "generate/simulation.h"

namespace relais::tools::gen {

// An existing tenant enters the programme: the tenancy predates it, so the
// occupancy is "preexisting" and starts on the registration day (it cannot
// start earlier: HouseholdRegistered must come first in effective order).
void Simulation::StartMaintien(int who, int home) {
  Household& h = households_[static_cast<size_t>(who)];
  h.source = rng_.Weighted(kMaintienSources);
  h.referrals = 1;
  h.referral_day = today_;
  h.maintien_referral = true;
  Data()
      .Key("referralId")
      .String("R1")
      .Key("track")
      .String("maintien")
      .Key("source")
      .String(h.source)
      .Key("referrer")
      .String(Referrer(h.source, h.commune));
  Emit("HouseholdReferred", h.subject, today_);
  const Dwelling& d = dwellings_[static_cast<size_t>(home)];
  Data()
      .Key("dwellingId")
      .String(d.id)
      .Key("contract")
      .String("direct_lease")
      .Key("rentCents")
      .Int(d.rent_cents)
      .Key("preexisting")
      .Bool(true);
  Emit("OccupancyStarted", h.subject, today_);
  MoveIn(who, home, Contract::kDirectLease);

  Schedule(who, Process::kMaintien, NextWorkday(today_ + rng_.Between(3, 20)));
  if (rng_.Chance(0.8)) Schedule(who, Process::kArrears, today_ + rng_.Between(0, 45));
  Schedule(who, Process::kDifficulty, today_ + rng_.Between(20, 200));
  if (rng_.Chance(0.3)) Schedule(who, Process::kDeparture, today_ + rng_.Between(180, 1500));
}

void Simulation::DecideMaintienReferral(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  const char* outcome =
      rng_.Weighted(std::array<Choice, 3>{{{"accepted", 93}, {"refused", 4}, {"expired", 3}}});
  JsonWriter& j = Data().Key("referralId").String("R1").Key("outcome").String(outcome);
  if (std::string_view(outcome) == "refused") j.Key("reason").String(Pick(kRefusalReasons));
  if (std::string_view(outcome) == "expired") j.Key("reason").String(Pick(kExpiryReasons));
  Emit("ReferralDecided", h.subject, today_);
  if (std::string_view(outcome) == "accepted" && h.support_consent) {
    h.support_step = SupportStep::kStart;
    Schedule(who, Process::kSupport, today_ + rng_.Between(0, 30));
  }
}

void Simulation::Arrears(int who) {
  switch (households_[static_cast<size_t>(who)].arrears_step) {
    case ArrearsStep::kRaise:
      return RaiseArrears(who);
    case ArrearsStep::kManage:
      return ManageArrears(who);
    case ArrearsStep::kClear:
      return ClearArrears(who);
    case ArrearsStep::kProcedure:
      return ProcedureStep(who);
  }
}

void Simulation::RaiseArrears(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (h.home < 0 || h.arrears_open || (h.stage != Stage::kNone && h.stage != Stage::kClosed)) {
    return;
  }
  const Dwelling& d = dwellings_[static_cast<size_t>(h.home)];
  const int months = 1 + static_cast<int>(rng_.Weighted(std::array<int, 6>{15, 30, 25, 15, 8, 7}));
  h.arrears_cents = d.rent_cents * months - 50 * rng_.Between(0, d.rent_cents / 100);
  Data()
      .Key("dwellingId")
      .String(d.id)
      .Key("amountCents")
      .Int(h.arrears_cents)
      .Key("monthsUnpaid")
      .Int(months);
  const int64_t ordinal = Emit("ArrearsAlertRaised", h.subject, today_);
  if (rng_.Chance(0.04)) {
    PlanFix(ordinal, who, FixKind::kAmount, h.arrears_cents + 100 * rng_.Between(1, 300), today_,
            today_);
  }
  h.arrears_open = true;
  h.ccapex_day = -1;
  h.procedure = rng_.Chance((h.track == Track::kMaintien ? 0.06 : 0.03) + 0.05 * months);
  h.need_ccapex = h.procedure || rng_.Chance(0.3);
  h.need_plan = rng_.Chance(0.6);
  h.need_fsl = rng_.Chance(0.4);
  // A household housed through the access track comes under maintien once in arrears.
  if (h.track == Track::kAccess && !h.maintien_referral && rng_.Chance(0.4)) {
    h.maintien_referral = true;
    const std::string referral = "R" + std::to_string(++h.referrals);
    Data()
        .Key("referralId")
        .String(referral)
        .Key("track")
        .String("maintien")
        .Key("source")
        .String("agency")
        .Key("referrer")
        .String(Referrer("agency", d.commune));
    Emit("HouseholdReferred", h.subject, today_);
    Data().Key("referralId").String(referral).Key("outcome").String("accepted");
    Emit("ReferralDecided", h.subject, today_);
  }
  h.arrears_step = ArrearsStep::kManage;
  Schedule(who, Process::kArrears, NextWorkday(today_ + rng_.Between(10, 40)));
}

// One management step per wake-up: CCAPEX referral, repayment plan, FSL aid;
// then either the arrears get cleared or the landlord goes to court.
void Simulation::ManageArrears(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (!h.arrears_open) return;
  if (h.need_ccapex) {
    Data();
    Emit("CcapexReferred", h.subject, today_);
    h.ccapex_day = today_;
    h.need_ccapex = false;
  } else if (h.need_plan) {
    const int months = rng_.Between(6, 36);
    Data()
        .Key("monthlyCents")
        .Int((h.arrears_cents + months - 1) / months)
        .Key("months")
        .Int(months);
    Emit("RepaymentPlanAgreed", h.subject, today_);
    h.need_plan = false;
  } else if (h.need_fsl) {
    const bool granted = rng_.Chance(0.75);
    JsonWriter& j = Data().Key("granted").Bool(granted);
    if (granted) j.Key("amountCents").Int(std::min(h.arrears_cents, 100 * rng_.Between(200, 1500)));
    Emit("FslAidDecided", h.subject, today_);
    h.need_fsl = false;
  } else if (h.procedure) {
    h.arrears_step = ArrearsStep::kProcedure;
    return Schedule(who, Process::kArrears, NextWorkday(today_ + rng_.Between(15, 60)));
  } else {
    h.arrears_step = ArrearsStep::kClear;
    return Schedule(who, Process::kArrears, today_ + rng_.Between(60, 540));
  }
  Schedule(who, Process::kArrears, NextWorkday(today_ + rng_.Between(10, 50)));
}

void Simulation::ClearArrears(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (!h.arrears_open) return;
  Data();
  Emit("ArrearsCleared", h.subject, today_);
  h.arrears_open = false;
  if (h.home >= 0 && rng_.Chance(h.track == Track::kMaintien ? 0.45 : 0.3)) {
    h.arrears_step = ArrearsStep::kRaise;
    Schedule(who, Process::kArrears, today_ + rng_.Between(90, 720));
  }
}

void Simulation::RecordStep(int who, const char* step, Stage next, int hearing_day) {
  Household& h = households_[static_cast<size_t>(who)];
  JsonWriter& j = Data().Key("step").String(step);
  if (hearing_day >= 0) j.Key("hearingDate").String(DayText(hearing_day));
  Emit("EvictionStepRecorded", h.subject, today_);
  h.stage = next;
}

// A step that closes the procedure without eviction: the arrears are then
// managed again (plan, sometimes FSL) until cleared.
void Simulation::EndProcedure(int who, const char* step) {
  Household& h = households_[static_cast<size_t>(who)];
  RecordStep(who, step, Stage::kClosed);
  h.procedure = false;
  h.need_plan = true;
  h.need_fsl = rng_.Chance(0.4);
  h.arrears_step = ArrearsStep::kManage;
  Schedule(who, Process::kArrears, NextWorkday(today_ + rng_.Between(7, 30)));
}

// Follows events.md §4 one step per wake-up.
void Simulation::ProcedureStep(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  auto next_in = [&](int lo, int hi) {
    Schedule(who, Process::kArrears, NextWorkday(today_ + rng_.Between(lo, hi)));
  };
  switch (h.stage) {
    case Stage::kNone:
    case Stage::kClosed: {
      if (!h.arrears_open || h.home < 0) {
        h.procedure = false;
        return;
      }
      if (h.ccapex_day < 0) {  // the summons will need a CCAPEX referral first
        Data();
        Emit("CcapexReferred", h.subject, today_);
        h.ccapex_day = today_;
      }
      RecordStep(who, "payment_order", Stage::kPaymentOrder);
      // The summons needs the CCAPEX referral at least two calendar months
      // earlier; a few days' margin keeps clear of any month-end reading.
      // One draw per statement: the order of a call's arguments is
      // unspecified, and the data set must not depend on the compiler.
      const int after_ccapex = AddMonthsClamped(Date{h.ccapex_day}, 2).days + rng_.Between(3, 20);
      const int summons = std::max(today_ + rng_.Between(30, 75), after_ccapex);
      return Schedule(who, Process::kArrears, NextWorkday(summons));
    }
    case Stage::kPaymentOrder: {
      const int hearing = NextWorkday(today_ + rng_.Between(42, 84));
      RecordStep(who, "summons", Stage::kSummons, hearing);
      return Schedule(who, Process::kArrears, hearing);
    }
    case Stage::kSummons: {
      const std::string_view judgment = rng_.Weighted(std::array<Choice, 3>{
          {{"judgment_delays", 40}, {"judgment_rejected", 10}, {"judgment_termination", 50}}});
      if (judgment != "judgment_termination") return EndProcedure(who, judgment.data());
      RecordStep(who, "judgment_termination", Stage::kJudgmentTermination);
      return next_in(30, 90);
    }
    case Stage::kJudgmentTermination:
      if (rng_.Chance(0.2)) return EndProcedure(who, "cohesion_protocol_signed");
      RecordStep(who, "order_to_leave", Stage::kOrderToLeave);
      return next_in(60, 120);
    case Stage::kOrderToLeave:
      if (rng_.Chance(0.15)) return EndProcedure(who, "cohesion_protocol_signed");
      RecordStep(who, "police_requested", Stage::kPoliceRequested);
      return next_in(30, 120);
    case Stage::kPoliceRequested:
      if (rng_.Chance(0.65)) {
        RecordStep(who, "police_granted", Stage::kPoliceGranted);
        return next_in(20, 90);
      }
      RecordStep(who, "police_refused", Stage::kPoliceRefused);
      return next_in(60, 120);
    case Stage::kPoliceRefused:
      if (rng_.Chance(0.4)) return EndProcedure(who, "cohesion_protocol_signed");
      RecordStep(who, "police_requested", Stage::kPoliceRequested);
      return next_in(30, 90);
    case Stage::kPoliceGranted:
      if (InWinterTruce(Date{today_})) {  // no eviction from 1 November to 31 March
        return Schedule(who, Process::kArrears,
                        NextWorkday(NextSpring(today_) + rng_.Between(0, 40)));
      }
      if (rng_.Chance(0.35)) return EndProcedure(who, "cohesion_protocol_signed");
      return Evict(who);
  }
}

// eviction_carried_out ends the occupancy itself (reason eviction, destination
// unknown): no OccupancyEnded is recorded.
void Simulation::Evict(int who) {
  Household& h = households_[static_cast<size_t>(who)];
  if (h.home < 0) return;
  RecordStep(who, "eviction_carried_out", Stage::kClosed);
  h.procedure = false;
  Vacate(who);
  if (h.episode_status == EpisodeStatus::kActive || h.episode_status == EpisodeStatus::kPaused) {
    CloseEpisode(who, "moved_out");
  }
  h.active = false;
  Cancel(who, Process::kSlide);
  Cancel(who, Process::kDeparture);
  if (rng_.Chance(0.3)) {
    h.arrears_step = ArrearsStep::kClear;
    Schedule(who, Process::kArrears, today_ + rng_.Between(90, 540));
  }
}

}  // namespace relais::tools::gen
