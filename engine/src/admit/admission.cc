#include "admit/admission.h"

#include <cstring>

#include <map>
#include <set>
#include <unordered_set>

#include "log/log_format.h"
#include "read/record_decoder.h"
#include "write/stored_template.h"

namespace relais::admit {

using cache::StreamEntry;

Refusal MakeRefusal(std::string code, std::string message, std::optional<std::string> id) {
  Refusal r;
  r.code = std::move(code);
  if (r.code == "malformed") {
    r.kind = "malformed";
  } else if (r.code == "id_conflict" || r.code == "version_conflict" ||
             r.code == "recorded_at_regression" || r.code == "recorded_at_in_future") {
    r.kind = "conflict";
  } else {
    r.kind = "rule";
  }
  r.message = std::move(message);
  r.id = std::move(id);
  return r;
}

AppendOutcome Refused(Refusal r) {
  AppendOutcome o;
  o.kind = AppendOutcome::Kind::kRefused;
  o.refusal = std::move(r);
  return o;
}

namespace {

// Whether a stream (its records in position order) holds a PersonalDataErased.
bool Erased(const std::vector<const EventRecord*>& records) {
  // The erasure is the stream's last event (nothing is accepted after it):
  // looking from the end finds it at once.
  for (auto it = records.rbegin(); it != records.rend(); ++it)
    if ((*it)->type == EventType::kPersonalDataErased) return true;
  return false;
}

// Whether framed canonical EventData bytes hold a personal field.
bool CarriesPersonal(const std::string& framed) {
  if (framed.size() % 8 != 0 || framed.empty()) return false;
  capnp::FlatArrayMessageReader r(
      kj::arrayPtr(reinterpret_cast<const capnp::word*>(framed.data()), framed.size() / 8));
  capnp::MallocMessageBuilder data(256), personal(256);
  data.setRoot(r.getRoot<schema::EventData>());
  return codec::SplitPersonal(data.getRoot<schema::EventData>(),
                              personal.initRoot<schema::EventData>());
}

}  // namespace

AppendOutcome Admission::Judge(AppendRequest& req, write::Group& g) {
  GroupEvents& accepted = EventsOf(g);
  WorkingView w(state_, g);
  auto& events = req.events;
  const AppendOptions& opt = req.options;
  auto engine_error = [](Status st) {
    AppendOutcome o;
    o.error = std::move(st);
    return o;
  };

  // --- malformed: fields a caller may not set.
  for (const auto& e : events) {
    if (e.recorded_at && !opt.allow_recorded_at)
      return Refused(MakeRefusal("malformed",
                                 "field 'recordedAt' is set by the engine (only an admin import "
                                 "of historical records may supply it)",
                                 e.id_text));
    if (e.actor && !opt.allow_actor_in_body)
      return Refused(MakeRefusal("malformed", "field 'actor' is set from the caller's identity",
                                 e.id_text));
  }

  // --- corrections: decode their partial data against the target's type.
  for (size_t i = 0; i < events.size(); ++i) {
    auto& e = events[i];
    if (e.type != EventType::kEventCorrected) continue;
    std::optional<EventType> target_type;
    for (size_t j = 0; j < i; ++j)
      if (events[j].id == e.fact.target_id && events[j].subject == e.subject)
        target_type = events[j].type;
    if (!target_type) {
      const GroupEvent* ge = w.FindId(e.fact.target_id);
      if (ge && ge->subject == e.subject.text) target_type = ge->type;
    }
    if (!target_type) {
      auto entry = state_->Stream(e.subject);
      if (!entry.ok()) return engine_error(entry.status());
      std::shared_lock<std::shared_mutex> lock((*entry)->mu);
      for (const auto& r : (*entry)->records)
        if (r.id == e.fact.target_id) target_type = r.type;
    }
    if (target_type) {
      if (auto err = codec::DecodeCorrectionData(e, *target_type))
        return Refused(MakeRefusal("malformed", *err, e.id_text));
    }
  }

  // --- idempotency: duplicate or id_conflict.
  std::vector<std::string> full(events.size());
  for (size_t i = 0; i < events.size(); ++i)
    full[i] = events[i].full_data.empty()
                  ? write::DataBytesOf(events[i].data->getRoot<schema::EventData>().asReader())
                  : std::move(events[i].full_data);
  size_t duplicates = 0;
  std::vector<AppendedEvent> dup_results;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    for (size_t j = 0; j < i; ++j)
      if (events[j].id == e.id)
        return Refused(MakeRefusal("id_conflict", "event id " + e.id_text + " appears twice in the batch",
                                   e.id_text));
    GroupEvent existing;
    bool found = false;
    if (const GroupEvent* ge = w.FindId(e.id)) {
      existing = *ge;
      found = true;
    } else {
      auto committed = state_->FindId(e.id);
      if (!committed.ok()) return engine_error(committed.status());
      if (*committed) {
        existing = std::move(**committed);
        found = true;
      }
    }
    if (!found) continue;
    bool same = existing.type == e.type && existing.subject == e.subject.text &&
                existing.effective == e.effective && existing.full_data == full[i];
    if (same && existing.subject.rfind("household/", 0) == 0) {
      // After an erasure a retry is a duplicate only when neither it nor the
      // original carries a personal field (lifecycle.md §1): personal content
      // can no longer be compared, even while the key is still being destroyed.
      std::shared_ptr<StreamEntry> keep;
      auto records = w.Records(existing.subject, &keep, /*with_request=*/false);
      if (!records.ok()) return engine_error(records.status());
      if (Erased(*records) && (CarriesPersonal(existing.full_data) || CarriesPersonal(full[i])))
        return Refused(MakeRefusal("id_conflict",
                                   "event id " + e.id_text + " is already recorded (position " +
                                       std::to_string(existing.position) +
                                       ") in an erased household; its personal data can no longer "
                                       "be compared with a re-sent one",
                                   e.id_text));
    }
    if (!same && found && existing.full_data.empty())
      return Refused(MakeRefusal("id_conflict",
                                 "event id " + e.id_text + " is already recorded (position " +
                                     std::to_string(existing.position) +
                                     "); its personal data can no longer be opened, so a re-send "
                                     "cannot be compared with it",
                                 e.id_text));
    if (!same)
      return Refused(MakeRefusal("id_conflict",
                                 "event id " + e.id_text + " is already recorded (position " +
                                     std::to_string(existing.position) + ") with different content",
                                 e.id_text));
    ++duplicates;
    dup_results.push_back({e.id_text, existing.position, existing.version, true});
  }
  if (duplicates == events.size()) {
    AppendOutcome o;
    o.kind = AppendOutcome::Kind::kDuplicate;
    o.results = std::move(dup_results);
    return o;
  }
  if (duplicates > 0)
    return Refused(MakeRefusal("id_conflict",
                               "the batch mixes events already recorded with new ones",
                               events[0].id_text));

  // --- expectedVersion, per stream, in array order.
  std::map<std::string, StreamVersion> version, first_version;
  for (const auto& e : events) {
    if (!version.count(e.subject.text)) {
      std::shared_ptr<StreamEntry> keep;
      auto working = w.Records(e.subject.text, &keep);
      if (!working.ok()) return engine_error(working.status());
      StreamVersion v = static_cast<StreamVersion>(working->size()) - 1;
      version[e.subject.text] = v;
      first_version[e.subject.text] = v + 1;  // the version of its first new event
      w.order.push_back(e.subject.text);
    }
    StreamVersion& cur = version[e.subject.text];
    if (e.expected_version && *e.expected_version != cur) {
      Refusal r = MakeRefusal("version_conflict",
                              "stream " + e.subject.text + " is at version " + std::to_string(cur) +
                                  ", not " + std::to_string(*e.expected_version),
                              e.id_text);
      r.current_version = cur;
      return Refused(std::move(r));
    }
    ++cur;
    if (cur + 1 > kStreamEventsMax)
      return Refused(MakeRefusal("stream_too_long",
                                 "stream " + e.subject.text + " would exceed " +
                                     std::to_string(kStreamEventsMax) + " events",
                                 e.id_text));
  }

  // The first new version of each stream must not be in the stream index:
  // a version taken from a stale view would overwrite another event's entry.
  for (const auto& [subject, v] : first_version) {
    auto exists = state_->HasVersion(subject, v);
    if (!exists.ok()) return engine_error(exists.status());
    if (*exists)
      return engine_error(Status::Internal("stream " + subject + " already has a version " +
                                           std::to_string(v) + ": the writer's view is stale"));
  }

  // --- transaction time.
  Timestamp last = g.tip.last_recorded;
  std::vector<Timestamp> stamps(events.size());
  Timestamp now = (clock_ ? clock_ : SystemClock())->Now();
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    if (e.recorded_at) {
      if (*e.recorded_at < last)
        return Refused(MakeRefusal("recorded_at_regression",
                                   "recordedAt " + FormatTimestamp(*e.recorded_at) +
                                       " is earlier than the last recorded event (" +
                                       FormatTimestamp(last) + ")",
                                   e.id_text));
      // An instant later than the clock would stamp every later append with
      // it (recordedAt never goes back) and break known-at views for good.
      constexpr int64_t kFutureSlackMicros = int64_t{5} * 60 * 1000000;
      if (e.recorded_at->micros > now.micros + kFutureSlackMicros)
        return Refused(MakeRefusal("recorded_at_in_future",
                                   "recordedAt " + FormatTimestamp(*e.recorded_at) +
                                       " is later than the engine's clock (" + FormatTimestamp(now) +
                                       ") plus 5 minutes",
                                   e.id_text));
      stamps[i] = *e.recorded_at;
    } else {
      stamps[i] = std::max(now, last);
    }
    last = stamps[i];
  }
  for (size_t i = 0; i < events.size(); ++i) {
    auto& e = events[i];
    Date today = UtcDate(stamps[i]);
    if (e.effective_from_recorded) e.effective = today;
    bool future = e.effective > today;
    if (e.type == EventType::kEventCorrected) {
      int32_t d = e.data->getRoot<schema::EventData>().getEventCorrected().getEffectiveDate();
      if (d != schema::K_NO_DATE && Date{d} > today) future = true;
    }
    if (future)
      return Refused(MakeRefusal("effective_date_in_future",
                                 "effectiveDate " + FormatDate(e.effective) +
                                     " is later than the day it is recorded (" + FormatDate(today) + ")",
                                 e.id_text));
  }

  // --- household_erased (lifecycle.md §1): after the checks above, before
  // every rule. Nothing more is recorded in an erased household: its
  // personal data is gone, and an event could bring some back.
  std::set<std::string_view> checked;  // a batch's streams, once each
  for (const auto& e : events) {
    if (e.subject.kind != StreamKind::kHousehold || !checked.insert(e.subject.text).second) continue;
    std::shared_ptr<StreamEntry> keep;
    auto records = w.Records(e.subject.text, &keep, /*with_request=*/false);
    if (!records.ok()) return engine_error(records.status());
    if (Erased(*records))
      return Refused(MakeRefusal("household_erased",
                                 "the personal data of " + e.subject.text +
                                     " was erased: nothing more is recorded in its stream",
                                 e.id_text));
  }

  // --- the rules: build the request's records at their tentative positions.
  const Position next = g.tip.next_position;
  std::vector<EventRecord*> fresh_ptrs(events.size());
  {
    std::map<std::string, StreamVersion> v = first_version;
    for (size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      EventRecord r;
      r.position = next + i;
      r.version = v[e.subject.text]++;
      r.id = e.id;
      r.type = e.type;
      r.effective = e.effective;
      r.recorded = stamps[i];
      r.fact = e.fact;
      r.corrected_effective = e.effective;
      w.fresh[e.subject.text].push_back(std::move(r));
      w.fresh_data[next + i] = full[i];
    }
    // Pointers only once every vector is complete.
    std::map<std::string, size_t> k;
    for (size_t i = 0; i < events.size(); ++i)
      fresh_ptrs[i] = &w.fresh[events[i].subject.text][k[events[i].subject.text]++];
  }
  // Corrections: fold the target's data through every correction up to this one.
  for (size_t i = 0; i < events.size(); ++i) {
    EventRecord& r = *fresh_ptrs[i];
    if (r.type != EventType::kEventCorrected) continue;
    std::shared_ptr<StreamEntry> keep;
    auto records = w.Records(events[i].subject.text, &keep);
    if (!records.ok()) return engine_error(records.status());
    const EventRecord* target = nullptr;
    for (const EventRecord* x : *records)
      if (x->id == r.fact.target_id && x->position < r.position) target = x;
    if (!target || IsCorrection(target->type)) continue;  // target_not_found, below
    auto data = w.DataAt(target->position);
    if (!data.ok()) return engine_error(data.status());
    std::string current = *data;
    Date eff = target->effective;
    for (const EventRecord* x : *records) {
      if (x->position >= r.position) break;
      if (x->type == EventType::kEventCorrected && x->fact.target_id == r.fact.target_id) {
        auto cd = w.DataAt(x->position);
        if (!cd.ok()) return engine_error(cd.status());
        capnp::FlatArrayMessageReader cr(kj::arrayPtr(
            reinterpret_cast<const capnp::word*>(cd->data()), cd->size() / 8));
        read::ApplyCorrection(cr.getRoot<schema::EventData>(), &current, &eff);
      }
    }
    read::ApplyCorrection(events[i].data->getRoot<schema::EventData>().asReader(), &current, &eff);
    capnp::FlatArrayMessageReader mr(
        kj::arrayPtr(reinterpret_cast<const capnp::word*>(current.data()), current.size() / 8));
    Uuid target_id = r.fact.target_id;
    r.fact = codec::ToFact(mr.getRoot<schema::EventData>(), events[i].subject);
    r.fact.target_id = target_id;
    r.corrected_effective = eff;
  }

  WriterCross cross(&w);

  // Fast path: no correction, and every event lands at the end of its stream's
  // effective order. Earlier events then cannot change verdict (a new last
  // event only shortens an open occupancy), so checking the new events against
  // the folded state is the whole rule check.
  bool fast = true;
  std::map<std::string, Date> last_date;
  std::map<std::string, int> per_stream;
  for (size_t i = 0; i < events.size() && fast; ++i) {
    const auto& e = events[i];
    if (IsCorrection(e.type)) fast = false;
    if (e.subject.kind == StreamKind::kTerritory) continue;
    if (!fast) break;
    std::shared_ptr<cache::StreamEntry> keep;  // holds the records folded
    auto fc = folds_->For(e.subject.text, [&] {
      return w.Records(e.subject.text, &keep, /*with_request=*/false);
    });
    if (!fc.ok()) return engine_error(fc.status());
    auto [it, first] = last_date.try_emplace(e.subject.text, (*fc)->last_effective);
    if (e.effective < it->second) fast = false;
    it->second = e.effective;
    // An occupancy started and ended in one batch needs its full interval.
    if (++per_stream[e.subject.text] > 1 &&
        (e.type == EventType::kOccupancyEnded || e.type == EventType::kEvictionStepRecorded))
      fast = false;
  }
  std::map<std::string, cache::FoldState> scratch;  // copies, for streams with several new events
  if (fast) {
    for (size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      if (e.subject.kind == StreamKind::kTerritory) continue;
      cache::FoldState* fc = &(*folds_)[e.subject.text];
      if (per_stream[e.subject.text] > 1) {
        auto [it, first] = scratch.try_emplace(e.subject.text, *fc);
        fc = &it->second;
      }
      std::optional<RuleFailure> f;
      if (e.subject.kind == StreamKind::kHousehold) {
        f = CheckHouseholdEvent(fc->household, e.fact, e.effective, cross, nullptr, e.subject.id());
      } else {
        f = CheckDwellingEvent(fc->dwelling, e.fact);
      }
      if (!cross.error().ok()) return engine_error(cross.error());
      if (f) return Refused(MakeRefusal(f->code, f->message, e.id_text));
      if (per_stream[e.subject.text] > 1) {
        cache::FoldCache::Evolve(*fc, e.subject.kind, e.fact, e.effective);
      }
    }
  }

  std::unordered_set<const EventRecord*> fresh_set(fresh_ptrs.begin(), fresh_ptrs.end());
  for (const std::string& subject : (fast ? std::vector<std::string>{} : w.order)) {
    std::shared_ptr<StreamEntry> keep;
    auto records = w.Records(subject, &keep);
    if (!records.ok()) return engine_error(records.status());
    bool has_correction = false;
    for (const EventRecord* r : *records) {
      if (!fresh_set.count(r) || !IsCorrection(r->type)) continue;
      has_correction = true;
      if (auto f = CheckCorrectionTarget(*records, *r, cross))
        return Refused(MakeRefusal(f->code, f->message, FormatUuid(r->id)));
    }
    auto timeline = BuildTimeline(*records, UINT64_MAX, std::nullopt);
    StreamVerdict v;
    std::string why;
    auto subj = ParseSubject(subject, &why);
    if (subj->kind == StreamKind::kHousehold) {
      v = CheckHouseholdTimeline(subj->id(), timeline, cross);
    } else if (subj->kind == StreamKind::kDwelling) {
      v = CheckDwellingTimeline(timeline);
    }
    if (!cross.error().ok()) return engine_error(cross.error());
    if (v.ok) continue;
    const EventRecord* failing = timeline[v.failing_index].record;
    if (fresh_set.count(failing))
      return Refused(MakeRefusal(v.failure.code, v.failure.message, FormatUuid(failing->id)));
    if (has_correction) {
      std::optional<std::string> id;
      for (const EventRecord* r : *records)
        if (fresh_set.count(r) && IsCorrection(r->type)) id = FormatUuid(r->id);
      return Refused(MakeRefusal("correction_breaks_rules",
                                 "the correction would break the stream: " + v.failure.message +
                                     " (inner rule: " + v.failure.code + ", event " +
                                     FormatUuid(failing->id) + ")",
                                 id));
    }
    return Refused(MakeRefusal(v.failure.code,
                               "a later recorded fact would no longer hold: " + v.failure.message +
                                   " (event " + FormatUuid(failing->id) + ")",
                               events[0].id_text));
  }

  // --- accepted: encode, seal, chain.
  // The key of each household this request seals for: its stored key, else
  // (a new household) the candidate its first event was sealed with, adopted
  // below once nothing can refuse the request any more.
  write::RequestKeys keys(keys_);
  crypto::Hash prev = g.tip.last_hash;
  std::vector<std::string> values(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    const EventRecord& r = *fresh_ptrs[i];
    std::string bytes;
    bool pre_encoded = !e.pre_stored.empty() && r.recorded.micros != 0;
    if (pre_encoded && i < req.seal_keys.size() && req.seal_keys[i]) {
      // Sealed off the writer: re-seal if another request's key for this
      // household was adopted since (two first events racing).
      auto reseal = keys.NeedsReseal(e.subject.text, *req.seal_keys[i]);
      if (!reseal.ok()) return engine_error(reseal.status());
      if (*reseal) pre_encoded = false;
    }
    if (pre_encoded) {
      bytes = e.pre_stored;
      write::Patch(&bytes, e.prev_hash_offset, r.position, static_cast<uint32_t>(r.version),
                   r.recorded, prev);
    } else {
      capnp::MallocMessageBuilder msg(1024);
      auto se = msg.initRoot<schema::StoredEvent>();
      write::EncodeEnvelope(e, opt, r.position, static_cast<uint32_t>(r.version), r.recorded, se);
      std::optional<crypto::Key> sealed_with;
      if (Status st = write::Sealer::SealInto(
              e, se, [&] { return keys.KeyOf(e.subject.text, std::nullopt); }, &sealed_with);
          !st.ok())
        return engine_error(st);
      se.setPrevHash(capnp::Data::Reader(prev.data(), prev.size()));
      bytes = codec::Canonical(se.asReader());
    }
    if (bytes.size() > kEventBytesMax)
      return Refused(MakeRefusal("malformed",
                                 "the event is " + std::to_string(bytes.size()) +
                                     " bytes once encoded, over the limit of " +
                                     std::to_string(kEventBytesMax),
                                 e.id_text));
    prev = crypto::Sha256(bytes);
    values[i].assign(reinterpret_cast<const char*>(prev.data()), prev.size());
    values[i] += bytes;
  }

  // Which dwelling references are new to the index: read before anything
  // changes the group, since a read can fail.
  std::vector<bool> ref_known(events.size(), true);
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    const EventRecord& r = *fresh_ptrs[i];
    if (e.subject.kind != StreamKind::kHousehold || r.fact.dwelling_id.empty()) continue;
    auto known = state_->HasReference(std::string(r.fact.dwelling_id), std::string(e.subject.id()));
    if (!known.ok()) return engine_error(known.status());
    ref_known[i] = *known;
  }

  // --- into the group.
  if (Status st = keys.Adopt(); !st.ok()) return engine_error(st);
  // From here on nothing fails or refuses the request.
  // The records outlive the request: their text moves to the process table.
  for (size_t i = 0; i < events.size(); ++i) {
    InternFact(&events[i].fact);
    InternFact(&fresh_ptrs[i]->fact);
  }
  if (fast) {
    // Evolved again from the interned facts (the scratch copies hold views
    // of the request's own table, gone with it).
    for (size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      if (e.subject.kind == StreamKind::kTerritory) continue;
      cache::FoldCache::Evolve((*folds_)[e.subject.text], e.subject.kind, e.fact, e.effective);
    }
  } else {
    for (const auto& subject : w.order) folds_->Erase(subject);
  }
  AppendOutcome out;
  out.kind = AppendOutcome::Kind::kAccepted;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    EventRecord& r = *fresh_ptrs[i];
    std::string pos_value;
    log::PutBE64(&pos_value, r.position);
    g.batch.Put(state_->Family(log::Store::kLog), log::PositionKey(r.position), values[i]);
    crypto::Hash& leaf = g.leaves.emplace_back();
    std::memcpy(leaf.data(), values[i].data(), leaf.size());
    g.batch.Put(state_->Family(log::Store::kStream), log::StreamKey(e.subject.text, r.version),
                pos_value);
    g.batch.Put(state_->Family(log::Store::kId), e.id.AsBytes(), pos_value);
    if (e.type == EventType::kPersonalDataErased) {
      // Atomic with the event: an open that finds the index entry finds the
      // event, and completes the key's destruction a crash interrupted.
      g.batch.Put(state_->Family(log::Store::kMeta), log::ErasureKey(e.subject.text), pos_value);
      accepted.erased.push_back(e.subject.text);
    }
    if (e.subject.kind == StreamKind::kHousehold && !r.fact.dwelling_id.empty()) {
      std::pair<std::string, std::string> ref(r.fact.dwelling_id, std::string(e.subject.id()));
      if (!ref_known[i] && !w.HasNewRef(ref) && accepted.new_refs.insert(ref).second)
        g.batch.Put(state_->Family(log::Store::kRef), log::RefKey(ref.first, ref.second), "");
    }
    GroupEvent ge{r.position, r.version, e.subject.text, e.type, e.effective, full[i]};
    auto [it, inserted] = accepted.ids.emplace(e.id, std::move(ge));
    accepted.by_position[r.position] = &it->second;
    out.results.push_back({e.id_text, r.position, r.version, false});
  }
  g.tip.next_position = next + events.size();
  g.tip.last_hash = prev;
  g.tip.last_recorded = last;
  for (size_t i = 0; i < events.size(); ++i)
    accepted.pending[events[i].subject.text].push_back(std::move(*fresh_ptrs[i]));
  return out;
}

}  // namespace relais::admit
