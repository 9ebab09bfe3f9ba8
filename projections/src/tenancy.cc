// The tenancy record of a dwelling (tenancy.h, evidence.md §0).
#include "relais/projections/tenancy.h"

#include <simdjson.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "relais/domain.h"
#include "relais/json_writer.h"

namespace relais::projections {

namespace {

// An event's place in a stream's effective order: (effective date, position).
struct Key {
  Date effective;
  Position position = 0;
  bool operator<=(const Key& o) const {
    return effective != o.effective ? effective < o.effective : position <= o.position;
  }
};

// [from, to] in effective order, both included; `to` unset while open.
struct Window {
  Key from;
  std::optional<Key> to;
  bool Holds(const Key& k) const { return from <= k && (!to || k <= *to); }
};

bool HasDwellingId(EventType t) {
  switch (t) {
    case EventType::kCalApplicationFiled:
    case EventType::kCalDecisionRecorded:
    case EventType::kCalConditionResolved:
    case EventType::kOfferAnswered:
    case EventType::kOccupancyStarted:
    case EventType::kLeaseSwitched:
    case EventType::kOccupancyEnded:
    case EventType::kArrearsAlertRaised:
      return true;
    default:
      return false;
  }
}

bool IsArrearsFollowUp(EventType t) {
  return t == EventType::kRepaymentPlanAgreed || t == EventType::kFslAidDecided ||
         t == EventType::kCcapexReferred || t == EventType::kArrearsCleared;
}

// The steps after which the procedure's stage is `closed` (events.md §4).
bool ClosesProcedure(sc::EvictionStep s) {
  return s == sc::EvictionStep::JUDGMENT_DELAYS || s == sc::EvictionStep::JUDGMENT_REJECTED ||
         s == sc::EvictionStep::COHESION_PROTOCOL_SIGNED ||
         s == sc::EvictionStep::EVICTION_CARRIED_OUT;
}

// Which events of one household stream belong to the record of `dwelling`,
// by position, with the rule that brought each in. `records` is the stream in
// position order, cut at the known-at position.
std::unordered_map<Position, TenancyReason> HouseholdMembers(
    const std::vector<EventRecord>& records, std::string_view dwelling) {
  // Each ordinary event's form known at T: its latest correction's merged
  // fact and date (records are in position order, so the last one wins).
  std::unordered_map<Uuid, const EventRecord*, UuidHash> latest;
  for (const EventRecord& r : records)
    if (r.type == EventType::kEventCorrected) latest[r.fact.target_id] = &r;
  auto fact_of = [&](const EventRecord& r) -> const Fact& {
    auto it = latest.find(r.id);
    return it == latest.end() ? r.fact : it->second->fact;
  };
  auto key_of = [&](const EventRecord& r) {
    auto it = latest.find(r.id);
    return Key{it == latest.end() ? r.effective : it->second->corrected_effective, r.position};
  };

  // The arrears episodes opened by an alert about the dwelling, and the
  // eviction procedures whose payment_order fell inside one of them, walked
  // in the effective order the rules saw (retracted events take no part).
  std::vector<const EventRecord*> ptrs;
  ptrs.reserve(records.size());
  for (const EventRecord& r : records) ptrs.push_back(&r);
  std::vector<TimelineEntry> timeline = BuildTimeline(ptrs, UINT64_MAX, std::nullopt);
  std::vector<Window> episodes, procedures;
  bool episode_open = false, episode_here = false;
  bool procedure_open = false, procedure_here = false;
  for (const TimelineEntry& e : timeline) {
    Key k{e.effective, e.record->position};
    switch (e.fact->type) {
      case EventType::kArrearsAlertRaised:
        episode_open = true;
        episode_here = e.fact->dwelling_id == dwelling;
        if (episode_here) episodes.push_back({k, std::nullopt});
        break;
      case EventType::kArrearsCleared:
        if (episode_open && episode_here) episodes.back().to = k;
        episode_open = episode_here = false;
        break;
      case EventType::kEvictionStepRecorded:
        if (e.fact->step == sc::EvictionStep::PAYMENT_ORDER && !procedure_open) {
          procedure_open = true;
          procedure_here = episode_open && episode_here;
          if (procedure_here) procedures.push_back({k, std::nullopt});
        }
        if (procedure_open && ClosesProcedure(e.fact->step)) {
          if (procedure_here) procedures.back().to = k;
          procedure_open = procedure_here = false;
        }
        break;
      default:
        break;
    }
  }
  auto inside = [](const std::vector<Window>& ws, const Key& k) {
    for (const Window& w : ws)
      if (w.Holds(k)) return true;
    return false;
  };

  // Retracted events stay members by the same tests, on their last form:
  // the dispute file shows what was recorded and that it was withdrawn.
  std::unordered_map<Position, TenancyReason> members;
  std::unordered_set<Uuid, UuidHash> member_ids;
  for (const EventRecord& r : records) {
    if (IsCorrection(r.type)) continue;
    std::optional<TenancyReason> why;
    if (HasDwellingId(r.type) && fact_of(r).dwelling_id == dwelling) {
      why = TenancyReason::kDwellingId;
    } else if (IsArrearsFollowUp(r.type) && inside(episodes, key_of(r))) {
      why = TenancyReason::kArrears;
    } else if (r.type == EventType::kEvictionStepRecorded && inside(procedures, key_of(r))) {
      why = TenancyReason::kEviction;
    }
    if (!why) continue;
    members.emplace(r.position, *why);
    member_ids.insert(r.id);
  }
  for (const EventRecord& r : records)
    if (IsCorrection(r.type) && member_ids.count(r.fact.target_id))
      members.emplace(r.position, TenancyReason::kCorrection);
  return members;
}

// The records of `subject` known at `p`, copied (the stream is not held).
Result<std::vector<EventRecord>> RecordsAt(Engine& engine, const Subject& subject, Position p) {
  std::vector<EventRecord> out;
  RETURN_IF_ERROR(engine.ReadStream(subject, [&](const std::vector<EventRecord>& records) {
    for (const EventRecord& r : records) {
      if (r.position > p) break;
      out.push_back(r);
    }
  }));
  return out;
}

// The "occupancies" array of the dwelling's status.
Result<std::string> OccupanciesOf(Engine& engine, const Subject& dwelling, Position p, Date d) {
  ASSIGN_OR_RETURN(std::string status, StatusJsonAt(engine, dwelling, p, d, false));
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array occupancies;
  if (parser.parse(status).get(root) || root["occupancies"].get_array().get(occupancies))
    return Status::Corruption("the status of " + dwelling.text + " has no occupancies");
  return std::string(simdjson::minify(occupancies));
}

}  // namespace

Result<TenancyRecord> BuildTenancyRecord(Engine& engine, const Subject& dwelling,
                                         const ViewTime& t, Date today) {
  if (dwelling.kind != StreamKind::kDwelling)
    return Status::InvalidArgument("a tenancy record is the record of a dwelling/<id>, not " +
                                   dwelling.text);
  TenancyRecord out;
  out.subject = dwelling;
  out.known_at = t.known_at;
  ASSIGN_OR_RETURN(out.known_position, KnownAtPosition(engine, t));
  const Position p = out.known_position;

  ASSIGN_OR_RETURN(std::vector<EventRecord> own, RecordsAt(engine, dwelling, p));
  if (own.empty())
    return Status::NotFound("no event of " + dwelling.text + " is known at that time");

  // Which events of which stream, by position.
  std::vector<std::pair<Position, TenancyReason>> wanted;
  for (const EventRecord& r : own) wanted.emplace_back(r.position, TenancyReason::kDwelling);
  std::vector<Subject> streams{dwelling};
  out.records.emplace(dwelling.text, std::move(own));

  const std::string dwelling_id(dwelling.id());
  ASSIGN_OR_RETURN(std::vector<std::string> households, engine.HouseholdsReferencing(dwelling_id));
  if (households.size() > kTenancyHouseholdsMax)
    return Status::ResourceExhausted(dwelling.text + " is referenced by " +
                                     std::to_string(households.size()) +
                                     " households, over the record's limit of " +
                                     std::to_string(kTenancyHouseholdsMax));
  for (const std::string& h : households) {
    Subject hs{StreamKind::kHousehold, "household/" + h};
    ASSIGN_OR_RETURN(std::vector<EventRecord> records, RecordsAt(engine, hs, p));
    auto members = HouseholdMembers(records, dwelling_id);
    // A household whose references all moved away (or lie after T) adds nothing.
    if (members.empty()) continue;
    for (const auto& [pos, why] : members) wanted.emplace_back(pos, why);
    streams.push_back(hs);
    out.records.emplace(hs.text, std::move(records));
  }

  // The envelopes, from each stream's decoded events.
  std::unordered_map<Position, TenancyReason> reason_at(wanted.begin(), wanted.end());
  for (const Subject& s : streams) {
    ASSIGN_OR_RETURN(std::vector<StoredEventView> views, engine.ReadStreamEvents(s));
    for (StoredEventView& v : views) {
      auto it = reason_at.find(v.record.position);
      if (it == reason_at.end()) continue;
      out.events.push_back({std::move(v), it->second});
    }
  }
  std::sort(out.events.begin(), out.events.end(), [](const TenancyEvent& a, const TenancyEvent& b) {
    return a.view.record.position < b.view.record.position;
  });
  if (out.events.size() != wanted.size())
    return Status::Corruption("the tenancy record of " + dwelling.text + " names " +
                              std::to_string(wanted.size()) + " events but " +
                              std::to_string(out.events.size()) + " were read");

  ASSIGN_OR_RETURN(out.occupancies_json, OccupanciesOf(engine, dwelling, p, AsOfDate(t, today)));
  return out;
}

TenancyShown TenancyShowAll(const TenancyRecord& r) {
  TenancyShown s;
  s.shown.assign(r.events.size(), true);
  s.data.reserve(r.events.size());
  for (const TenancyEvent& e : r.events) s.data.push_back(e.view.data_json);
  return s;
}

std::string RenderTenancyJson(const TenancyRecord& r, const TenancyShown& s, bool filtered,
                              bool pretty) {
  HistoryLinks links;
  for (size_t i = 0; i < r.events.size(); ++i)
    if (s.shown[i]) links.Add(r.events[i].view);
  JsonWriter w(pretty);
  w.BeginObject();
  w.Key("subject").String(r.subject.text);
  w.Key("knownAt");
  if (r.known_at) {
    w.String(FormatTimestamp(*r.known_at));
  } else {
    w.Null();
  }
  w.Key("filtered").Bool(filtered);
  w.Key("occupancies").Raw(r.occupancies_json);
  w.Key("events").BeginArray();
  for (size_t i = 0; i < r.events.size(); ++i)
    if (s.shown[i]) links.WriteEvent(w, r.events[i].view, s.data[i]);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string TenancyCheckpointNote(Engine& engine, const TenancyRecord& r) {
  auto note = engine.Checkpoint(r.known_position);
  return note.ok() ? *note : std::string();
}

Result<std::string> TenancyJson(Engine& engine, const Subject& dwelling, const ViewTime& t,
                                Date today, bool pretty) {
  ASSIGN_OR_RETURN(TenancyRecord r, BuildTenancyRecord(engine, dwelling, t, today));
  return RenderTenancyJson(r, TenancyShowAll(r), false, pretty);
}

}  // namespace relais::projections
