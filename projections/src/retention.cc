#include "relais/projections/retention.h"

#include <algorithm>
#include <array>
#include <thread>

#include "relais/json_writer.h"

namespace relais::projections {

Date AddYears(Date d, int32_t years) {
  // Twelve months at a time, clamped to the month's last day: only 29
  // February moves (to 28 February of a year without one).
  return AddMonthsClamped(d, 12 * years);
}

bool IsClosed(const HouseholdState& s) {
  if (!s.registered) return false;
  for (const auto& r : s.referrals)
    if (r.status == ReferralStatus::kOpen) return false;
  for (const auto& e : s.episodes)
    if (e.status == EpisodeStatus::kActive || e.status == EpisodeStatus::kPaused) return false;
  if (s.arrears && s.arrears->open) return false;
  if (s.stage != ProcedureStage::kNone && s.stage != ProcedureStage::kClosed) return false;
  // A hosting or a sublease is held by an association that still follows the
  // household; a direct lease is the household's own and does not block.
  if (const OccupancyState* o = s.ActiveOccupancy()) {
    if (o->contract() == sc::Contract::HOSTING || o->contract() == sc::Contract::SUBLEASE)
      return false;
  }
  return true;
}

std::optional<Date> LastContact(const std::vector<TimelineEntry>& timeline) {
  std::optional<Date> last;
  for (const auto& e : timeline)
    if (!last || e.effective > *last) last = e.effective;
  return last;
}

std::optional<RetentionDue> JudgeRetention(const std::string& subject,
                                           const std::vector<TimelineEntry>& timeline, bool erased,
                                           Date as_of, const RetentionPolicy& policy) {
  if (erased) return std::nullopt;
  std::optional<Date> last = LastContact(timeline);
  if (!last) return std::nullopt;
  HouseholdState s;
  for (const auto& e : timeline) EvolveHousehold(s, *e.fact, e.effective);
  if (!IsClosed(s)) return std::nullopt;
  bool keep = s.consent_keep_history;
  Date due_on = AddYears(*last, keep ? policy.keep_history_years : policy.years);
  if (as_of < due_on) return std::nullopt;
  return RetentionDue{subject, *last, due_on, keep};
}

Result<int64_t> ApplyRetentionDue(Engine& engine, const RetentionResult& result) {
  if (result.known_at)
    return Status::InvalidArgument("retention is applied with what is known now, not at a past T");
  const ActorInfo actor{"retention", "admin", "-"};
  int64_t applied = 0;
  for (const RetentionDue& d : result.due) {
    std::string why;
    std::optional<Subject> subject = ParseSubject(d.subject, &why);
    if (!subject) return Status::Internal("retention: bad subject " + d.subject + ": " + why);
    // At the view's version: a household that got an event since it was
    // judged (a referral, an episode: its follow-up resumed) is not erased
    // on a judgement that may no longer hold; the next run judges it again.
    AppendOutcome o = engine.Erase(*subject, ErasureReason::kRetentionExpired, actor, result.as_of,
                                   d.version);
    switch (o.kind) {
      case AppendOutcome::Kind::kAccepted: ++applied; break;
      case AppendOutcome::Kind::kDuplicate: break;
      case AppendOutcome::Kind::kRefused:
        // Erased meanwhile by someone else: nothing left to do for it.
        if (o.refusal.code == "household_erased" || o.refusal.code == "version_conflict") break;
        return Status::Internal("retention: erasing " + d.subject + " was refused: " +
                                o.refusal.code + ": " + o.refusal.message);
      case AppendOutcome::Kind::kError: return o.error;
    }
  }
  return applied;
}

Result<RetentionApplied> ApplyRetention(Engine& engine, const RetentionRequest& request) {
  if (request.time.known_at)
    return Status::InvalidArgument("retention is applied with what is known now, not at a past T");
  RetentionApplied out;
  ASSIGN_OR_RETURN(out.result, ComputeRetention(engine, request));
  ASSIGN_OR_RETURN(out.applied, ApplyRetentionDue(engine, out.result));
  return out;
}

bool MayReadRetention(const Caller& caller) {
  return caller.role == Role::kAdmin || caller.role == Role::kAuditor;
}
bool MayApplyRetention(const Caller& caller) { return caller.role == Role::kAdmin; }

bool IsErasure(const EventRecord& r) { return r.type == EventType::kPersonalDataErased; }

Result<RetentionResult> ComputeRetention(Engine& engine, const RetentionRequest& request) {
  RetentionResult out;
  out.as_of = AsOfDate(request.time, request.today);
  out.known_at = request.time.known_at;
  ASSIGN_OR_RETURN(Position p, KnownAtPosition(engine, request.time));
  out.log_position = p;
  const Date D = out.as_of;
  // Households are independent: two workers fold halves of them (the same
  // split as the report), each into its own list, merged and sorted after.
  constexpr int kWorkers = 2;
  std::array<std::vector<RetentionDue>, kWorkers> due;
  std::array<Status, kWorkers> status;
  auto work = [&](int k) {
    std::vector<const EventRecord*> ptrs;
    status[k] = engine.VisitStreams(
        StreamKind::kHousehold, k, kWorkers,
        [&](const Subject& subject, const std::vector<EventRecord>& records) {
          if (records.empty() || records.front().position > p) return;  // not known at T
          ptrs.clear();
          bool erased = false;
          for (const auto& r : records) {
            ptrs.push_back(&r);
            if (r.position <= p && IsErasure(r)) erased = true;
          }
          if (erased) return;
          auto d = JudgeRetention(subject.text, BuildTimeline(ptrs, p, D), false, D,
                                  request.policy);
          if (!d) return;
          for (const auto& r : records)
            if (r.position <= p) d->version = r.version;
          due[k].push_back(std::move(*d));
        });
  };
  std::thread other(work, 1);
  work(0);
  other.join();
  for (const Status& st : status) RETURN_IF_ERROR(st);
  for (auto& part : due)
    for (auto& d : part) out.due.push_back(std::move(d));
  std::sort(out.due.begin(), out.due.end(),
            [](const RetentionDue& a, const RetentionDue& b) { return a.subject < b.subject; });
  return out;
}

std::string RenderRetention(const RetentionResult& r, std::optional<int64_t> applied) {
  JsonWriter w;
  w.BeginObject();
  w.Key("asOf").String(FormatDate(r.as_of));
  w.Key("knownAt");
  if (r.known_at) {
    w.String(FormatTimestamp(*r.known_at));
  } else {
    w.Null();
  }
  w.Key("due").BeginArray();
  for (const auto& d : r.due) {
    w.BeginObject();
    w.Key("subject").String(d.subject);
    w.Key("lastContact").String(FormatDate(d.last_contact));
    w.Key("dueOn").String(FormatDate(d.due_on));
    w.Key("keepHistory").Bool(d.keep_history);
    w.EndObject();
  }
  w.EndArray();
  if (applied) w.Key("applied").Int(*applied);
  w.EndObject();
  return w.Take();
}

}  // namespace relais::projections
