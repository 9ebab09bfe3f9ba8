#include "relais/projections/caseload.h"

#include <algorithm>
#include <array>
#include <thread>
#include <unordered_map>

#include "relais/json_writer.h"

namespace relais::projections {

namespace {

std::optional<sc::Territory> TerritoryNow(const std::vector<TimelineEntry>& timeline) {
  std::optional<sc::Territory> t;
  for (const auto& e : timeline)
    if (e.fact->type == EventType::kHouseholdRegistered ||
        e.fact->type == EventType::kCaseTransferred)
      t = e.fact->territory;
  return t;
}

std::string_view EpisodeStatusName(EpisodeStatus s) {
  switch (s) {
    case EpisodeStatus::kActive: return "active";
    case EpisodeStatus::kPaused: return "paused";
    case EpisodeStatus::kClosed: return "closed";
  }
  return "closed";
}

}  // namespace

std::optional<sc::Territory> TerritoryFromName(std::string_view name) {
  for (auto t : {sc::Territory::LILLE, sc::Territory::SUD, sc::Territory::FLANDRES})
    if (JsonName(t) == name) return t;
  return std::nullopt;
}

bool MayReadCaseload(const Caller& caller, std::string_view territory) {
  if (caller.role == Role::kAdmin) return true;
  return caller.role == Role::kCoordinator && caller.territory == territory;
}

CaseloadRow JudgeCaseload(std::string subject, const std::vector<TimelineEntry>& timeline, Date D) {
  CaseloadRow row;
  row.subject = std::move(subject);
  HouseholdState s;
  std::unordered_map<std::string_view, Date> last_review;  // episode id -> latest review
  for (const auto& e : timeline) {
    EvolveHousehold(s, *e.fact, e.effective);
    if (e.fact->type == EventType::kSituationReviewed) last_review[e.fact->episode_id] = e.effective;
  }
  row.registered_on = s.registered_on;
  if (!s.referrals.empty()) row.track = s.referrals.back().track;
  row.stage = s.stage;
  if (const OccupancyState* o = s.ActiveOccupancy()) {
    row.occupancy = CaseloadRow::Occupancy{std::string(o->dwelling_id), o->since, o->contract()};
    if (o->contract() == sc::Contract::SUBLEASE && !o->favourable_review) {
      Date due = AddMonthsClamped(o->contracts.back().from, kSlideReviewMonths);
      if (due <= D) row.actions.push_back({"slide_review_missing", due, std::string(o->dwelling_id)});
    }
  }
  for (const EpisodeState& ep : s.episodes) {
    if (ep.status == EpisodeStatus::kClosed) continue;
    auto it = last_review.find(ep.id);
    std::optional<Date> reviewed;
    if (it != last_review.end()) reviewed = it->second;
    row.episode = CaseloadRow::Episode{std::string(ep.id), ep.kind, ep.status, reviewed};
    if (ep.status != EpisodeStatus::kActive) continue;
    Date base = reviewed.value_or(ep.started_on);
    if (D - base > kReviewOverdueDays)
      row.actions.push_back({"situation_review_overdue", base + (kReviewOverdueDays + 1),
                             std::string(ep.id)});
  }
  if (s.arrears && s.arrears->open) {
    bool referred = !s.arrears->ccapex.empty();
    row.arrears = CaseloadRow::Arrears{s.arrears->amount_cents, s.arrears->since, referred};
    Date due = AddMonthsClamped(s.arrears->since, kCcapexMonths);
    if (!referred && due <= D) row.actions.push_back({"ccapex_referral_missing", due, ""});
  }
  for (const DecisionState& d : s.decisions) {
    if (d.decision != sc::CalDecision::ATTRIBUTION_CONDITIONAL || d.resolved ||
        !d.condition_deadline || !(*d.condition_deadline < D))
      continue;
    row.actions.push_back(
        {"conditional_decision_overdue", *d.condition_deadline + 1, std::string(d.referral_id)});
  }
  std::sort(row.actions.begin(), row.actions.end(),
            [](const CaseloadAction& a, const CaseloadAction& b) {
              return a.due_since < b.due_since;
            });
  return row;
}

Result<CaseloadPage> ComputeCaseload(Engine& engine, const CaseloadRequest& request) {
  CaseloadPage page;
  page.as_of = AsOfDate(request.time, request.today);
  page.known_at = request.time.known_at;
  ASSIGN_OR_RETURN(Position p, KnownAtPosition(engine, request.time));
  page.log_position = p;
  const Date D = page.as_of;
  // The scope is judged now; when the view is now too, one timeline serves both.
  const bool view_is_now = !request.time.as_of && !request.time.known_at;
  constexpr int kWorkers = 2;
  struct Part {
    std::vector<CaseloadRow> rows;  // after the cursor
    size_t total = 0, needing_action = 0;
  };
  std::array<Part, kWorkers> parts;
  std::array<Status, kWorkers> status;
  const size_t keep = request.limit + 1;
  auto work = [&](int k) {
    std::vector<const EventRecord*> ptrs;
    std::unique_lock<std::mutex> lock;
    CaseloadCache::Shard* cache = nullptr;
    if (request.cache) {
      cache = &request.cache->shard(k);
      lock = std::unique_lock<std::mutex>(cache->mu);
    }
    status[k] = engine.VisitStreams(
        StreamKind::kHousehold, k, kWorkers,
        [&](const Subject& subject, const std::vector<EventRecord>& records) {
          if (records.empty() || records.front().position > p) return;  // not known at T
          Position view_last = 0;
          for (auto it = records.rbegin(); it != records.rend(); ++it)
            if (it->position <= p) {
              view_last = it->position;
              break;
            }
          const Position now_last = records.back().position;
          CaseloadCache::Entry* e = nullptr;
          if (cache) e = &cache->entries[subject.text];
          bool view_ok = e && e->view_last == view_last && e->view_date == D;
          bool now_ok = e && e->now_last == now_last && e->now_date == request.today;
          std::optional<sc::Territory> now;
          std::optional<CaseloadRow> fresh;
          if (!view_ok || !now_ok) {
            ptrs.clear();
            for (const auto& r : records) ptrs.push_back(&r);
          }
          if (now_ok) {
            now = e->territory_now;
          } else if (view_is_now) {
            std::vector<TimelineEntry> view = BuildTimeline(ptrs, p, D);
            now = TerritoryNow(view);
            if (now == request.territory) fresh = JudgeCaseload(subject.text, view, D);
          } else {
            now = TerritoryNow(BuildTimeline(ptrs, UINT64_MAX, request.today));
          }
          if (e && !now_ok) {
            e->now_last = now_last;
            e->now_date = request.today;
            e->territory_now = now;
          }
          if (now != request.territory) return;
          if (!fresh && !view_ok) fresh = JudgeCaseload(subject.text, BuildTimeline(ptrs, p, D), D);
          if (e && fresh) {
            e->view_last = view_last;
            e->view_date = D;
            e->row = *fresh;
          }
          const CaseloadRow& row = fresh ? *fresh : e->row;
          if (request.needs_action && row.actions.empty()) return;
          Part& part = parts[k];
          ++part.total;
          if (!row.actions.empty()) ++part.needing_action;
          if (!request.cursor.empty() && !(row.subject > request.cursor)) return;
          // Only the page's rows (and one more, for `next`) are kept: a heap
          // of the smallest subjects after the cursor, largest on top.
          auto larger = [](const CaseloadRow& a, const CaseloadRow& b) { return a.subject < b.subject; };
          if (part.rows.size() == keep) {
            if (!(row.subject < part.rows.front().subject)) return;
            std::pop_heap(part.rows.begin(), part.rows.end(), larger);
            part.rows.pop_back();
          }
          part.rows.push_back(row);
          std::push_heap(part.rows.begin(), part.rows.end(), larger);
        });
  };
  std::thread other(work, 1);
  work(0);
  other.join();
  for (const Status& st : status) RETURN_IF_ERROR(st);
  for (auto& part : parts) {
    page.total += part.total;
    page.needing_action += part.needing_action;
    for (auto& r : part.rows) page.rows.push_back(std::move(r));
  }
  std::sort(page.rows.begin(), page.rows.end(),
            [](const CaseloadRow& a, const CaseloadRow& b) { return a.subject < b.subject; });
  if (page.rows.size() > request.limit) {
    page.rows.resize(request.limit);
    page.next = page.rows.back().subject;
  }
  return page;
}

std::string RenderCaseload(const CaseloadPage& page, sc::Territory territory) {
  JsonWriter w;
  w.BeginObject();
  w.Key("territory").String(JsonName(territory));
  w.Key("asOf").String(FormatDate(page.as_of));
  w.Key("knownAt");
  page.known_at ? w.String(FormatTimestamp(*page.known_at)) : w.Null();
  w.Key("logPosition").Int(static_cast<int64_t>(page.log_position));
  w.Key("total").Int(static_cast<int64_t>(page.total));
  w.Key("needingAction").Int(static_cast<int64_t>(page.needing_action));
  w.Key("households").BeginArray();
  for (const CaseloadRow& r : page.rows) {
    w.BeginObject();
    w.Key("subject").String(r.subject);
    w.Key("registeredOn").String(FormatDate(r.registered_on));
    w.Key("track");
    r.track ? w.String(JsonName(*r.track)) : w.Null();
    w.Key("occupancy");
    if (r.occupancy) {
      w.BeginObject();
      w.Key("dwellingId").String(r.occupancy->dwelling_id);
      w.Key("since").String(FormatDate(r.occupancy->since));
      w.Key("contract").String(JsonName(r.occupancy->contract));
      w.EndObject();
    } else {
      w.Null();
    }
    w.Key("episode");
    if (r.episode) {
      w.BeginObject();
      w.Key("id").String(r.episode->id);
      w.Key("kind").String(JsonName(r.episode->kind));
      w.Key("status").String(EpisodeStatusName(r.episode->status));
      w.Key("lastReview");
      r.episode->last_review ? w.String(FormatDate(*r.episode->last_review)) : w.Null();
      w.EndObject();
    } else {
      w.Null();
    }
    w.Key("arrears");
    if (r.arrears) {
      w.BeginObject();
      w.Key("amountCents").Int(r.arrears->amount_cents);
      w.Key("since").String(FormatDate(r.arrears->since));
      w.Key("ccapexReferred").Bool(r.arrears->ccapex_referred);
      w.EndObject();
    } else {
      w.Null();
    }
    w.Key("procedureStage").String(ProcedureStageName(r.stage));
    w.Key("actions").BeginArray();
    for (const CaseloadAction& a : r.actions) {
      w.BeginObject();
      w.Key("code").String(a.code);
      w.Key("dueSince").String(FormatDate(a.due_since));
      w.Key("about");
      a.about.empty() ? w.Null() : w.String(a.about);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("next");
  page.next ? w.String(*page.next) : w.Null();
  w.EndObject();
  return w.Take();
}

}  // namespace relais::projections
