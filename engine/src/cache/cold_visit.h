// Visiting every stream of a kind without the log in memory: each stream's
// records come from the record snapshot (record_snapshot.h) and the log's
// events after its point, one stream at a time. What a cold `relais report`
// folds: its memory is one stream's records and its shard's part of the
// log's tail, not the log.
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
  // The subject's text of a stored log value (cheap: no record decoded).
  std::function<Status(std::string_view value, std::string* subject)> subject_of;
  // Decodes a stored log value into its record (as the warm cache would hold
  // it, corrections excepted: their merged data needs the stream, see `load`).
  std::function<Status(std::string_view value, const Subject& subject, EventRecord* record)> record_of;
  // Loads a whole stream from the log at `at`: a stream with a correction
  // after the point (its merged data is the stream's to fold), or whose value
  // does not decode (the snapshot is a cache: the log answers instead).
  std::function<Status(const Subject& subject, const log::Store::Snapshot* at,
                       std::vector<EventRecord>* records)> load;
};

// The log's tail after the point a cold visit takes on, at most: past it the
// snapshot is too old to help and the caller decodes the log instead (one
// pass, as without a snapshot). Half the point, and at least this many.
inline constexpr size_t kColdTailEventsMin = 100'000;

// Visits shard `shard` of `shards` (by std::hash of the subject's text, as
// the warm cache's walk) of the streams of `kind`; `fn` may move the records
// out. Returns false, having visited nothing, when the directory has no
// usable snapshot point or its tail is too long (see kColdTailEventsMin).
// A value that does not decode is read from the log instead.
Result<bool> VisitCold(const ColdSource& source, StreamKind kind, int shard, int shards,
                       const std::function<void(const Subject&, std::vector<EventRecord>&)>& fn);

}  // namespace relais::cache
