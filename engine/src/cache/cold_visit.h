// Visiting every stream of a kind without the log in memory: each stream's
// records come from the record snapshot (record_snapshot.h) and the log's
// events after its point, one stream at a time. What a cold `relais report`
// folds: its memory is one stream's records and the log's tail, not the log.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "log/store.h"
#include "relais/event.h"
#include "relais/status.h"
#include "relais/types.h"

namespace relais::cache {

struct ColdSource {
  log::Store* store = nullptr;
  // Decodes a stored log value: its subject's text and its record (as the
  // engine's warm cache would hold it, corrections excepted: their merged
  // data needs the stream, see `load`).
  std::function<Status(std::string_view value, std::string* subject, EventRecord* record)> decode;
  // Loads a whole stream from the log at `at` (a stream with a correction
  // after the point: its merged data is the stream's to fold).
  std::function<Status(const Subject& subject, const log::Store::Snapshot* at,
                       std::vector<EventRecord>* records)> load;
};

// Bounds of the log's tail after the point that a cold visit holds in memory:
// past it the caller should warm the cache (or write a newer point) instead.
inline constexpr size_t kColdTailEventsMax = 2'000'000;

// Visits shard `shard` of `shards` (by std::hash of the subject's text, as
// the warm cache's walk) of the streams of `kind`; `fn` may move the records
// out. Returns false, having visited nothing, when the directory has no
// usable snapshot point or its tail is over kColdTailEventsMax.
Result<bool> VisitCold(const ColdSource& source, StreamKind kind, int shard, int shards,
                       const std::function<void(const Subject&, std::vector<EventRecord>&)>& fn);

}  // namespace relais::cache
