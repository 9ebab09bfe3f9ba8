// The record snapshot: every stream's records (record_codec.h) persisted in
// the log's "records" family, so that a cold process folds a report from
// ~43 bytes per event instead of decoding every stored event.
//
// It is a cache of the log, never a source: each stream's value holds the
// records of its events up to a position ("covered through"), and the point
// P in the meta family promises that every stream's records up to P are in
// the family. A reader takes the family's records, then the log's events
// after P (skipping those a value already covers), and gets exactly what
// decoding the whole log gives. `verify` decodes every value and compares it
// with the log.
//
// Written by the engine when it closes cleanly (the streams changed since the
// last point, then the new point), in bounded batches: a crash part way
// leaves some values covering more than P, which readers skip, and P itself
// unchanged. The family and its point live in the log's own RocksDB, so they
// can never be ahead of the events they describe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "log/store.h"
#include "relais/event.h"
#include "relais/status.h"

namespace relais::cache {

inline constexpr char kSnapshotPointKey[] = "records";
inline constexpr char kSnapshotFormat[] = "relais-records-1";
// Bytes of values per write batch while writing (a memtable's worth at most).
inline constexpr size_t kSnapshotBatchBytes = 4 << 20;

// The point P, or nullopt when the directory has no usable snapshot (none
// written yet, an older format, or no records family).
Result<std::optional<Position>> ReadSnapshotPoint(log::Store& store,
                                                  const log::Store::Snapshot* at = nullptr);

// Visits the values of the streams whose subject starts with `prefix` ("" for
// all), in subject order: `fn(subject, covered_through, blob)`, false stops.
Status ScanSnapshot(log::Store& store, std::string_view prefix, const log::Store::Snapshot* at,
                    const std::function<bool(std::string_view subject, Position covered,
                                             std::string_view blob)>& fn);

// Writes streams' records as of position `through`, then the point.
class SnapshotWriter {
 public:
  SnapshotWriter(log::Store* store, Position through) : store_(store), through_(through) {}
  // One stream's records (every event of the stream up to `through`).
  Status Put(std::string_view subject, const std::vector<EventRecord>& records);
  // Writes what is left, then the point P = `through` (synced).
  Status Finish();
  size_t streams() const { return streams_; }
  size_t bytes() const { return bytes_; }

 private:
  Status FlushBatch();
  log::Store* store_;
  Position through_;
  rocksdb::WriteBatch batch_;
  size_t batch_bytes_ = 0;
  size_t streams_ = 0;
  size_t bytes_ = 0;
  std::string value_;
};

// Forgets the point (the values are then unused, and rewritten at the next
// clean close): for a snapshot that verify found wrong.
Status DropSnapshotPoint(log::Store& store);

}  // namespace relais::cache
