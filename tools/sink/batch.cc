#include "sink/batch.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "relais/projections/cloudevents.h"
#include "relais/projections/visibility.h"

namespace relais::sink {

namespace {

using projections::SinkRow;
using projections::SinkTableId;

// Replaces the first occurrence of `from` in `text`.
void Substitute(std::string& text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
}

// How the events table names an event and renders its body in each scope.
class EventRenderer {
 public:
  EventRenderer(Engine& engine, const BatchContext& ctx) : engine_(engine), ctx_(ctx) {
    admin_.name = "sink";
    admin_.role = Role::kAdmin;
  }

  std::string Subject(const relais::Subject& s) const {
    if (ctx_.scope == Scope::kAdmin) return s.text;
    return s.text.substr(0, s.text.find('/') + 1) +
           projections::Pseudonym(ctx_.pseudonym_key, s.id());
  }

  Result<SinkRow> Row(const StoredEventView& v) {
    std::string id = FormatUuid(v.record.id);
    std::string envelope;
    if (ctx_.scope == Scope::kAdmin) {
      // What the admin reads on the feed, byte for byte.
      bool filtered = false;
      auto e = projections::FeedEventFor(engine_, admin_, v, &filtered);
      if (!e)
        return Status::Internal("the admin's feed hides event " +
                                std::to_string(v.record.position));
      envelope = std::move(*e);
    } else {
      id = projections::Pseudonym(ctx_.pseudonym_key, id);
      std::optional<EventType> target;
      if (v.record.type == EventType::kEventCorrected) {
        ASSIGN_OR_RETURN(target, TargetType(v.subject, v.record.fact.target_id));
      }
      ASSIGN_OR_RETURN(envelope, projections::PseudonymisedEvent(ctx_.pseudonym_key, v, target));
    }
    // A replica's events keep the origin's chain hash and ids: its own
    // differ (the sealed personal fields are under its own keys).
    std::string hash = v.hash;
    if (ctx_.source) {
      ASSIGN_OR_RETURN(hash, ctx_.source->HashAt(v.record.position));
      if (hash != v.hash)
        Substitute(envelope, "\"hash\":\"" + v.hash + "\"", "\"hash\":\"" + hash + "\"");
      if (auto origin_id = ctx_.source->OriginIdAt(v.record.position);
          origin_id && *origin_id != FormatUuid(v.record.id)) {
        if (ctx_.scope == Scope::kAdmin) {
          Substitute(envelope, "\"id\":\"" + id + "\"", "\"id\":\"" + *origin_id + "\"");
          id = *origin_id;
        } else {
          std::string pseudo = projections::Pseudonym(ctx_.pseudonym_key, *origin_id);
          Substitute(envelope, "\"id\":\"" + id + "\"", "\"id\":\"" + pseudo + "\"");
          id = pseudo;
        }
      }
    }
    std::string body = std::move(envelope);
    if (ctx_.events_format == EventsFormat::kCloudEvents) {
      ASSIGN_OR_RETURN(body, projections::ToCloudEvent(body, ctx_.source_name));
    }
    return SinkRow{std::to_string(v.record.position),
                   id,
                   std::string(EventTypeName(v.record.type)),
                   Subject(v.subject),
                   FormatDate(v.record.effective),
                   FormatTimestamp(v.record.recorded),
                   std::move(hash),
                   std::move(body)};
  }

 private:
  // The type of a correction's target, from its stream's records (cached per
  // stream for the batch).
  Result<std::optional<EventType>> TargetType(const relais::Subject& s, const Uuid& target) {
    auto it = types_.find(s.text);
    if (it == types_.end()) {
      std::unordered_map<Uuid, EventType, UuidHash> m;
      RETURN_IF_ERROR(engine_.ReadStream(s, [&](const std::vector<EventRecord>& records) {
        for (const auto& r : records) m.emplace(r.id, r.type);
      }));
      it = types_.emplace(s.text, std::move(m)).first;
    }
    auto t = it->second.find(target);
    if (t == it->second.end()) return std::optional<EventType>();
    return std::optional<EventType>(t->second);
  }

  Engine& engine_;
  const BatchContext& ctx_;
  projections::Caller admin_;
  std::unordered_map<std::string, std::unordered_map<Uuid, EventType, UuidHash>> types_;
};

}  // namespace

Result<Batch> BuildBatch(Engine& engine, const BatchContext& ctx, Position from, Position to,
                         const SinkPoint& before, size_t bytes_max, const std::atomic<bool>& stop) {
  const Status cancelled = Status::Internal("the sink is stopping");
  Batch b;
  b.from = from;
  b.to = to;
  b.first_effective = before.first_effective;
  projections::IdMap ids;
  if (ctx.scope == Scope::kAdmin) {
    ids = [](std::string_view id) { return std::string(id); };
  } else {
    std::string key = ctx.pseudonym_key;
    ids = [key](std::string_view id) { return projections::Pseudonym(key, id); };
  }
  EventRenderer render(engine, ctx);
  std::map<std::string, Subject> touched;
  std::vector<Subject> erased;
  auto& events = b.rows[SinkTableId::kEvents];
  Status inner;
  size_t bytes = 0;
  Status scanned = engine.Scan(from, [&](const StoredEventView& v) {
    if (v.record.position > to) return false;
    b.to = v.record.position;
    touched.emplace(v.subject.text, v.subject);
    if (v.record.type == EventType::kPersonalDataErased) erased.push_back(v.subject);
    Date eff = v.record.type == EventType::kEventCorrected ? v.record.corrected_effective
                                                           : v.record.effective;
    if (!b.first_effective || eff < *b.first_effective) b.first_effective = eff;
    if (v.record.type == EventType::kEventCorrected && v.record.effective < *b.first_effective)
      b.first_effective = v.record.effective;
    b.recorded_at.push_back(v.record.recorded);
    auto row = render.Row(v);
    if (!row.ok()) {
      inner = row.status();
      return false;
    }
    bytes += row->back()->size();
    events.push_back(std::move(*row));
    if (stop.load()) {
      inner = cancelled;
      return false;
    }
    return bytes < bytes_max;
  });
  RETURN_IF_ERROR(scanned);
  RETURN_IF_ERROR(inner);
  to = b.to;
  if (events.empty() || events.size() != to - from + 1)
    return Status::Corruption("the log holds " + std::to_string(events.size()) + " events in [" +
                              std::to_string(from) + ", " + std::to_string(to) + "]");
  if (ctx.source) {
    ASSIGN_OR_RETURN(b.hash, ctx.source->HashAt(to));
  } else {
    ASSIGN_OR_RETURN(b.hash, engine.HashAt(to));
  }

  // monthly_indicators covers the months from the first effective date's
  // to the UTC date of the recordedAt at `to` (no event is effective later).
  int y, m, d;
  CivilFromDate(*b.first_effective, &y, &m, &d);
  b.series_from = DateFromCivil(y, m, 1);
  b.series_to = std::max(UtcDate(b.recorded_at.back()), b.series_from);
  const std::vector<projections::SeriesMonth> months =
      projections::SeriesMonths(b.series_from, b.series_to);
  // A household's share of a month does not depend on where the last month
  // is clipped (no event is effective after series_to): only a change of
  // the months themselves needs every household again.
  auto label = [](Date x) { return FormatDate(x).substr(0, 7); };
  b.full_series = !before.series_from || !before.series_to ||
                  *before.series_from != b.series_from ||
                  label(*before.series_to) > label(b.series_to);
  std::vector<projections::SeriesMonth> added;  // months the other households need rows for
  if (b.full_series) {
    added = months;
  } else {
    for (const auto& mo : months)
      if (mo.label > label(*before.series_to)) added.push_back(mo);
  }
  for (const auto& mo : added) b.new_months.push_back(mo.label);
  std::vector<projections::SeriesRow> zeros;
  for (const auto& mo : added)
    for (const char* t : projections::kTerritoryKeys) {
      projections::SeriesRow z;
      z.month = mo.label;
      z.territory = t;
      zeros.push_back(std::move(z));
    }
  b.monthly = projections::MonthlyIndicatorRows(zeros);
  if (!added.empty()) {
    // The households this batch does not re-fold: their share of the added
    // months only.
    ASSIGN_OR_RETURN(std::vector<Subject> all, engine.ListStreams());
    auto& months_rows = b.rows[SinkTableId::kHouseholdMonths];
    for (const Subject& s : all) {
      if (stop.load()) return cancelled;
      if (s.kind != StreamKind::kHousehold || touched.count(s.text)) continue;
      RETURN_IF_ERROR(engine.ReadStream(s, [&](const std::vector<EventRecord>& records) {
        for (auto& r : projections::HouseholdMonthRows(s, records, to, ids, added))
          months_rows.push_back(std::move(r));
      }));
    }
  }

  // Every touched stream is folded again, whole, as known at `to`.
  for (const auto& entry : touched) {
    // A plain reference: clang 14 does not let a lambda capture a structured
    // binding (the sanitized build is clang's).
    const Subject& subject = entry.second;
    if (stop.load()) return cancelled;
    b.owners[subject.kind].push_back(projections::SinkOwner(subject, ids));
    projections::SinkRows rows;
    RETURN_IF_ERROR(engine.ReadStream(subject, [&](const std::vector<EventRecord>& records) {
      rows = projections::StreamRows(subject, records, to, ids, &months);
    }));
    for (int t = 0; t < projections::kSinkTableCount; ++t) {
      auto& dst = b.rows.tables[t];
      for (auto& r : rows.tables[t]) dst.push_back(std::move(r));
    }
  }
  // An erasure removed personal data from the household's earlier events:
  // their rows are rendered again, as the export and the feed now show them.
  for (const Subject& s : erased) {
    b.rerendered_subjects.push_back(render.Subject(s));
    ASSIGN_OR_RETURN(std::vector<StoredEventView> views, engine.ReadStreamEvents(s));
    for (const auto& v : views) {
      if (v.record.position >= from) continue;
      ASSIGN_OR_RETURN(SinkRow row, render.Row(v));
      b.rerendered_events.push_back(std::move(row));
    }
  }

  return b;
}

}  // namespace relais::sink
