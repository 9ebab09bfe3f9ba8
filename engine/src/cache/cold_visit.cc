#include "cache/cold_visit.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "cache/record_codec.h"
#include "cache/record_snapshot.h"
#include "log/log_format.h"

namespace relais::cache {
namespace {

std::string_view KindPrefix(StreamKind kind) {
  switch (kind) {
    case StreamKind::kHousehold: return "household/";
    case StreamKind::kDwelling: return "dwelling/";
    case StreamKind::kTerritory: return "territory/";
  }
  return "";
}

bool InShard(std::string_view subject, int shard, int shards) {
  const size_t n = static_cast<size_t>(std::max(shards, 1));
  return std::hash<std::string_view>{}(subject) % n == static_cast<size_t>(shard);
}

}  // namespace

Result<bool> VisitCold(const ColdSource& source, StreamKind kind, int shard, int shards,
                       const std::function<void(const Subject&, std::vector<EventRecord>&)>& fn) {
  log::Store& store = *source.store;
  auto at = store.TakeSnapshot();
  ASSIGN_OR_RETURN(std::optional<Position> point, ReadSnapshotPoint(store, at.get()));
  if (!point) return false;
  const std::string_view prefix = KindPrefix(kind);
  const size_t tail_max = std::max<size_t>(kColdTailEventsMin, *point / 2);

  // The tail: this shard's events after the point, by stream. Only their
  // subjects are read for the other kinds and shards.
  std::unordered_map<std::string, std::vector<EventRecord>> tail;
  std::unordered_set<std::string> corrected;
  size_t tail_events = 0;
  Status inner;
  std::string subject;
  RETURN_IF_ERROR(store.Scan(log::Store::kLog, {}, log::PositionKey(*point + 1),
                             [&](std::string_view, std::string_view v) {
                               if (++tail_events > tail_max) return false;
                               inner = source.subject_of(v, &subject);
                               if (!inner.ok()) return false;
                               if (subject.compare(0, prefix.size(), prefix) != 0 ||
                                   !InShard(subject, shard, shards))
                                 return true;
                               std::string why;
                               auto s = ParseSubject(subject, &why);
                               if (!s) {
                                 inner = Status::Corruption("the log names an invalid subject: " + why);
                                 return false;
                               }
                               EventRecord r;
                               inner = source.record_of(v, *s, &r);
                               if (!inner.ok()) return false;
                               if (r.type == EventType::kEventCorrected) corrected.insert(subject);
                               tail[subject].push_back(std::move(r));
                               return true;
                             }, at.get()));
  RETURN_IF_ERROR(inner);
  if (tail_events > tail_max) return false;

  std::vector<EventRecord> records;
  // `records` holds the value's records (or nothing, `from_log`); the tail
  // after what the value covers is added.
  auto visit = [&](std::string_view text, bool from_log, std::vector<EventRecord>* from_tail,
                   std::optional<Position> covered) -> Status {
    std::string why;
    auto s = ParseSubject(text, &why);
    if (!s) return Status::Corruption("the record snapshot names an invalid subject: " + why);
    if (from_log || corrected.count(s->text)) {
      RETURN_IF_ERROR(source.load(*s, at.get(), &records));
    } else if (from_tail) {
      for (EventRecord& r : *from_tail)
        if (!covered || r.position > *covered) records.push_back(std::move(r));
    }
    if (!records.empty()) fn(*s, records);
    return Status::Ok();
  };
  RETURN_IF_ERROR(ScanSnapshot(store, prefix, at.get(), [&](std::string_view text, Position covered,
                                                              std::string_view blob) {
    if (!InShard(text, shard, shards)) return true;
    std::string key(text);
    auto it = tail.find(key);
    bool from_log = corrected.count(key) > 0;
    if (!from_log && !DecodeRecords(blob, &records).ok()) {
      // A value that does not decode is a cache miss, not a failed report.
      from_log = true;
    }
    if (from_log) records.clear();
    inner = visit(text, from_log, it == tail.end() ? nullptr : &it->second, covered);
    records.clear();
    if (it != tail.end()) tail.erase(it);
    return inner.ok();
  }));
  RETURN_IF_ERROR(inner);
  // Streams born after the point.
  for (auto& [text, from_tail] : tail) {
    RETURN_IF_ERROR(visit(text, false, &from_tail, std::nullopt));
    records.clear();
  }
  return true;
}

}  // namespace relais::cache
