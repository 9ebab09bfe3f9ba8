#include "relais/projections/views.h"

#include <algorithm>
#include <unordered_map>

#include "relais/json_writer.h"
#include "relais/projections/digest.h"

namespace relais::projections {

namespace {

std::string_view ReferralStatusName(ReferralStatus s) {
  switch (s) {
    case ReferralStatus::kOpen: return "open";
    case ReferralStatus::kAccepted: return "accepted";
    case ReferralStatus::kRefused: return "refused";
    case ReferralStatus::kExpired: return "expired";
  }
  return "?";
}

std::string_view EpisodeStatusName(EpisodeStatus s) {
  switch (s) {
    case EpisodeStatus::kActive: return "active";
    case EpisodeStatus::kPaused: return "paused";
    case EpisodeStatus::kClosed: return "closed";
  }
  return "?";
}

// An enum's JSON name, or null when the stream is not registered as of D.
template <typename E>
void NameIf(JsonWriter& w, bool present, E value) {
  if (present) {
    w.String(JsonName(value));
  } else {
    w.Null();
  }
}

void OptDate(JsonWriter& w, const std::optional<Date>& d) {
  if (d) {
    w.String(FormatDate(*d));
  } else {
    w.Null();
  }
}

Result<std::vector<TimelineEntry>> Timeline(Engine& engine, const Subject& subject, Position p,
                                            Date as_of, std::vector<EventRecord>* storage,
                                            bool* found) {
  Status st = engine.ReadStream(subject, [&](const std::vector<EventRecord>& records) {
    *storage = records;  // copied: the fold runs without holding the stream
  });
  RETURN_IF_ERROR(st);
  *found = !storage->empty() && storage->front().position <= p;
  std::vector<const EventRecord*> ptrs;
  ptrs.reserve(storage->size());
  for (const auto& r : *storage) ptrs.push_back(&r);
  return BuildTimeline(ptrs, p, as_of);
}

// `erased`: a PersonalDataErased is known at T, whatever D (lifecycle.md §1:
// the data no longer exists, so no view date brings it back).
void HouseholdJson(JsonWriter& w, const Subject& subject, const HouseholdState& s, bool erased) {
  w.BeginObject();
  w.Key("subject").String(subject.text);
  w.Key("registered").Bool(s.registered);
  w.Key("territory");
  NameIf(w, s.registered, s.territory);
  w.Key("referrals").BeginArray();
  for (const auto& r : s.referrals) {
    w.BeginObject();
    w.Key("referralId").String(r.id);
    w.Key("track").String(JsonName(r.track));
    w.Key("source").String(JsonName(r.source));
    w.Key("status").String(ReferralStatusName(r.status));
    w.EndObject();
  }
  w.EndArray();
  w.Key("occupancy");
  if (const OccupancyState* o = s.ActiveOccupancy()) {
    w.BeginObject();
    w.Key("dwellingId").String(o->dwelling_id);
    w.Key("contract").String(JsonName(o->contract()));
    w.Key("since").String(FormatDate(o->since));
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("episodes").BeginArray();
  for (const auto& e : s.episodes) {
    w.BeginObject();
    w.Key("episodeId").String(e.id);
    w.Key("kind").String(JsonName(e.kind));
    w.Key("association").String(e.association);
    w.Key("status").String(EpisodeStatusName(e.status));
    w.Key("startedOn").String(FormatDate(e.started_on));
    w.Key("closedOn");
    OptDate(w, e.closed_on);
    w.Key("objectives").BeginArray();
    for (const auto& o : e.objectives) {
      w.BeginObject();
      w.Key("objectiveId").String(o.id);
      w.Key("status").String(JsonName(o.status));
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.Key("arrears");
  if (s.arrears) {
    w.BeginObject();
    w.Key("open").Bool(s.arrears->open);
    w.Key("amountCents").Int(s.arrears->amount_cents);
    w.Key("since").String(FormatDate(s.arrears->since));
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("procedureStage").String(ProcedureStageName(s.stage));
  w.Key("consents").BeginObject();
  w.Key("support").Bool(s.consent_support);
  w.Key("dataSharing").Bool(s.consent_data_sharing);
  w.Key("keepHistory").Bool(s.consent_keep_history);
  w.EndObject();
  w.Key("erased").Bool(erased);
  w.EndObject();
}

}  // namespace

Result<Position> KnownAtPosition(Engine& engine, const ViewTime& t) {
  if (!t.known_at) return engine.GetHead().position;
  return engine.PositionAt(*t.known_at);
}

Date AsOfDate(const ViewTime& t, Date today) {
  if (t.as_of) return *t.as_of;
  if (t.known_at) return UtcDate(*t.known_at);
  return today;
}

Result<HouseholdState> FoldHousehold(Engine& engine, const Subject& subject, Position p,
                                     Date as_of, bool* found) {
  std::vector<EventRecord> storage;
  ASSIGN_OR_RETURN(auto timeline, Timeline(engine, subject, p, as_of, &storage, found));
  HouseholdState s;
  for (const auto& e : timeline) EvolveHousehold(s, *e.fact, e.effective);
  return s;
}

Result<std::string> StatusJson(Engine& engine, const Subject& subject, const ViewTime& t,
                               Date today, bool pretty) {
  ASSIGN_OR_RETURN(Position p, KnownAtPosition(engine, t));
  return StatusJsonAt(engine, subject, p, AsOfDate(t, today), pretty);
}

Result<std::string> StatusJsonAt(Engine& engine, const Subject& subject, Position p, Date d,
                                 bool pretty) {
  std::vector<EventRecord> storage;
  bool found = false;
  ASSIGN_OR_RETURN(auto timeline, Timeline(engine, subject, p, d, &storage, &found));
  if (!found) return Status::NotFound("no event of " + subject.text + " is known at that time");
  JsonWriter w(pretty);
  switch (subject.kind) {
    case StreamKind::kHousehold: {
      HouseholdState s;
      for (const auto& e : timeline) EvolveHousehold(s, *e.fact, e.effective);
      // From the records known at T, not the timeline as of D: an erasure
      // effective after D still erased the data.
      bool erased = false;
      for (const EventRecord& r : storage)
        if (r.position <= p && r.type == EventType::kPersonalDataErased) erased = true;
      HouseholdJson(w, subject, s, erased);
      break;
    }
    case StreamKind::kDwelling: {
      DwellingState s;
      for (const auto& e : timeline) EvolveDwelling(s, *e.fact, e.effective);
      // Occupancies live in the household streams that reference the dwelling.
      std::string dwelling_id(subject.id());
      struct Row {
        std::string household;
        const OccupancyState* o;
      };
      std::vector<std::pair<std::string, HouseholdState>> states;
      ASSIGN_OR_RETURN(std::vector<std::string> households, engine.HouseholdsReferencing(dwelling_id));
      for (const auto& h : households) {
        bool hfound = false;
        Subject hs{StreamKind::kHousehold, "household/" + h};
        ASSIGN_OR_RETURN(HouseholdState st, FoldHousehold(engine, hs, p, d, &hfound));
        if (hfound) states.emplace_back(h, std::move(st));
      }
      std::vector<Row> rows;
      for (const auto& [h, st] : states)
        for (const auto& o : st.occupancies)
          if (o.dwelling_id == dwelling_id) rows.push_back({h, &o});
      std::stable_sort(rows.begin(), rows.end(),
                       [](const Row& a, const Row& b) { return a.o->since < b.o->since; });
      w.BeginObject();
      w.Key("subject").String(subject.text);
      w.Key("registered").Bool(s.registered);
      w.Key("territory");
      NameIf(w, s.registered, s.territory);
      w.Key("typology");
      NameIf(w, s.registered, s.typology);
      w.Key("reserved").Bool(s.reserved);
      w.Key("occupancies").BeginArray();
      for (const Row& r : rows) {
        w.BeginObject();
        w.Key("household").String(r.household);
        w.Key("start").String(FormatDate(r.o->since));
        w.Key("end");
        OptDate(w, r.o->end);
        w.Key("contracts").BeginArray();
        for (const auto& c : r.o->contracts) {
          w.BeginObject();
          w.Key("contract").String(JsonName(c.contract));
          w.Key("from").String(FormatDate(c.from));
          w.EndObject();
        }
        w.EndArray();
        w.Key("endReason");
        if (r.o->end_reason) {
          w.String(JsonName(*r.o->end_reason));
        } else {
          w.Null();
        }
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
      break;
    }
    case StreamKind::kTerritory: {
      int64_t trainings = 0, attendees = 0, consultations = 0, meetings = 0;
      for (const auto& e : timeline) {
        if (e.fact->type == EventType::kStaffTrainingHeld) {
          ++trainings;
          attendees += e.fact->count;
        }
        if (e.fact->type == EventType::kTenantConsultationHeld) ++consultations;
        if (e.fact->type == EventType::kPartnerMeetingHeld) ++meetings;
      }
      w.BeginObject();
      w.Key("subject").String(subject.text);
      w.Key("staffTrainings").Int(trainings);
      w.Key("attendees").Int(attendees);
      w.Key("tenantConsultations").Int(consultations);
      w.Key("partnerMeetings").Int(meetings);
      w.EndObject();
      break;
    }
  }
  return w.Take();
}

Result<std::vector<StoredEventView>> EventsKnownAt(Engine& engine, const Subject& subject,
                                                   std::optional<Timestamp> known_at) {
  ViewTime t;
  t.known_at = known_at;
  ASSIGN_OR_RETURN(Position p, KnownAtPosition(engine, t));
  ASSIGN_OR_RETURN(std::vector<StoredEventView> events, engine.ReadStreamEvents(subject));
  events.erase(std::remove_if(events.begin(), events.end(),
                              [&](const StoredEventView& v) { return v.record.position > p; }),
               events.end());
  if (events.empty()) return Status::NotFound("no event of " + subject.text + " is known at that time");
  return events;
}

Result<std::string> HistoryJson(Engine& engine, const Subject& subject,
                                std::optional<Timestamp> known_at, bool pretty) {
  ASSIGN_OR_RETURN(std::vector<StoredEventView> events, EventsKnownAt(engine, subject, known_at));
  std::vector<bool> shown(events.size(), true);
  std::vector<std::string> data;
  data.reserve(events.size());
  for (auto& v : events) data.push_back(std::move(v.data_json));  // RenderHistory reads `data`
  return RenderHistory(subject, known_at, events, shown, data, false, pretty);
}

void WriteEnvelope(JsonWriter& w, const StoredEventView& v, std::string_view data_json) {
  w.Key("position").Uint(v.record.position);
  w.Key("version").Int(v.record.version);
  w.Key("id").String(FormatUuid(v.record.id));
  w.Key("type").String(EventTypeName(v.record.type));
  w.Key("subject").String(v.subject.text);
  w.Key("effectiveDate").String(FormatDate(v.record.effective));
  w.Key("recordedAt").String(FormatTimestamp(v.record.recorded));
  w.Key("actor").BeginObject();
  w.Key("id").String(v.actor.id);
  w.Key("role").String(v.actor.role);
  w.Key("org").String(v.actor.org);
  w.EndObject();
  w.Key("data").Raw(data_json);
  // Only on the events that lost personal fields (lifecycle.md §1): others
  // are unchanged by an erasure.
  if (v.personal_data_erased) w.Key("personalDataErased").Bool(true);
  w.Key("hash").String(v.hash);
}

void HistoryLinks::Add(const StoredEventView& v) {
  if (v.record.type == EventType::kEventCorrected)
    links_[v.record.fact.target_id].corrected_by.push_back(FormatUuid(v.record.id));
  if (v.record.type == EventType::kEventRetracted)
    links_[v.record.fact.target_id].retracted_by = FormatUuid(v.record.id);
}

void HistoryLinks::WriteEvent(JsonWriter& w, const StoredEventView& v,
                              std::string_view data_json) const {
  static const Links kNone;
  w.BeginObject();
  WriteEnvelope(w, v, data_json);
  // Most events are neither corrected nor retracted: no lookup.
  auto it = links_.empty() ? links_.end() : links_.find(v.record.id);
  const Links& l = it == links_.end() ? kNone : it->second;
  w.Key("correctedBy").BeginArray();
  for (const auto& c : l.corrected_by) w.String(c);
  w.EndArray();
  w.Key("retractedBy");
  if (l.retracted_by) {
    w.String(*l.retracted_by);
  } else {
    w.Null();
  }
  w.EndObject();
}

std::string RenderHistory(const Subject& subject, std::optional<Timestamp> known_at,
                          const std::vector<StoredEventView>& events,
                          const std::vector<bool>& shown, const std::vector<std::string>& data,
                          bool filtered, bool pretty) {
  HistoryLinks links;
  for (size_t i = 0; i < events.size(); ++i)
    if (shown[i]) links.Add(events[i]);
  JsonWriter w(pretty);
  w.BeginObject();
  w.Key("subject").String(subject.text);
  w.Key("knownAt");
  if (known_at) {
    w.String(FormatTimestamp(*known_at));
  } else {
    w.Null();
  }
  w.Key("filtered").Bool(filtered);
  w.Key("events").BeginArray();
  for (size_t i = 0; i < events.size(); ++i) {
    if (!shown[i]) continue;
    const auto& v = events[i];
    links.WriteEvent(w, v, data[i]);
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string VerifyJson(const VerifyReport& r, std::string_view digest) {
  JsonWriter w;
  w.BeginObject();
  if (r.ok) {
    w.Key("ok").Bool(true);
    w.Key("events").Int(r.events);
    w.Key("head").String(r.head);
    if (!digest.empty()) w.Key("digest").String(digest);
  } else {
    w.Key("ok").Bool(false);
    w.Key("firstBadPosition").Uint(r.first_bad_position);
    w.Key("problem").String(r.problem);
  }
  w.EndObject();
  return w.Take();
}

std::string VerifyJson(Engine& engine, VerifyReport* r) {
  if (!r->ok) return VerifyJson(*r);
  // The verified head, not the head now: with writers running the two differ,
  // and the digest must describe the log that was checked.
  Result<std::string> digest = ReplayDigestAt(engine, static_cast<Position>(r->events));
  if (!digest.ok()) {
    r->ok = false;
    r->first_bad_position = 0;
    r->problem =
        "the projections cannot be folded for the replay digest: " + digest.status().message();
    return VerifyJson(*r);
  }
  return VerifyJson(*r, *digest);
}

}  // namespace relais::projections
