// The stream cache: each stream's committed records, loaded on first use or
// all at once (WarmAll), kept in step with the writer (Publish).
//
// Entries are shared with their readers (shared_ptr): an entry dropped from
// the map (Forget, DropIfOver) is marked dead, so that whoever still holds it
// looks the stream up again before adding to it. Thread-safe; Publish and
// DropIfOver are the writer's, called with the writer's lock held.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/cold_visit.h"
#include "log/store.h"
#include "relais/domain.h"
#include "relais/status.h"

namespace relais::cache {

// A group's accepted records by subject, in position order within each.
// Hashed: the writer looks each request's subjects up in it several times.
using PendingRecords = std::unordered_map<std::string, std::vector<EventRecord>>;

struct StreamEntry {
  std::shared_mutex mu;
  bool loaded = false;
  // Removed from the cache (it held no event): whoever still holds it must
  // look the stream up again before adding to it.
  bool dead = false;
  Subject subject;
  std::vector<EventRecord> records;  // committed, in position order
};

// Up to this many events, a close without a snapshot point warms the cache
// (one pass over the log) to write every stream, instead of reading the
// streams one by one.
inline constexpr int64_t kSnapshotWarmEventsMax = 4'000'000;

class StreamCache {
 public:
  // `writer_mu` is held by whoever judges and writes (the group committer):
  // the warm-up's last phase takes it so that no group is published
  // meanwhile. `head` tells the position the log has reached.
  StreamCache(log::Store* store, std::mutex* writer_mu, std::function<Position()> head)
      : store_(store), writer_mu_(writer_mu), head_(std::move(head)) {}

  // The stream's entry, loaded. A subject with no event keeps no entry.
  Result<std::shared_ptr<StreamEntry>> LoadedEntry(const Subject& subject);
  // The stored values of a stream's events, in position order.
  Result<std::vector<std::string>> StreamValues(const Subject& subject);

  Result<std::vector<Subject>> ListStreams();
  // Writes the record snapshot (cache/record_snapshot.h) as of `head`: the
  // streams with events after the last point (every stream when there is
  // none), from the cache when it holds them, else from the log. Only while
  // nothing is written (a closing engine).
  Status WriteSnapshot(Position head);
  // Before the writer stops (it takes the writer's lock): when there is no
  // point yet, warms the cache so that WriteSnapshot writes from it.
  Status PrepareSnapshot();
  // Loads every stream (idempotent); the cache then holds every stream.
  Status WarmAll(const std::function<void(Position, Position)>& progress);
  // Calls `fn` for each non-empty stream of `kind` whose subject hashes to
  // `shard` of `shards` (disjoint, covering shards). A warm cache is walked;
  // a cold one is visited from the record snapshot and the log's tail, one
  // stream at a time (nothing is cached); without a snapshot, it is warmed.
  Status VisitStreams(StreamKind kind, int shard, int shards,
                      const std::function<void(const Subject&, const std::vector<EventRecord>&)>& fn);

  // Writer: a committed group's records, by subject (moved from).
  void Publish(PendingRecords& records);
  // Writer, between groups (nothing being written): drops the whole cache
  // once it holds more than `limit` events. True when it did.
  bool DropIfOver(int64_t limit);

  int64_t CachedStreams();
  int64_t CachedEvents() const { return cached_events_.load(); }
  // How many times a stream was read from the store into an entry
  // (LoadedEntry): a stream the writer created and keeps publishing to is
  // never read back.
  int64_t StreamLoads() const { return stream_loads_.load(); }

 private:
  // One warm-up scan. False when the writer dropped the cache meanwhile.
  Result<bool> WarmOnce(const std::function<void(Position, Position)>& progress,
                        uint64_t generation);
  void Forget(const std::string& text, const std::shared_ptr<StreamEntry>& e);
  ColdSource Cold();
  struct Loading {
    Subject subject;
    std::vector<EventRecord> records;
    size_t next_first = 0;   // written by the first half only
    size_t next_second = 0;  // written by the second half only
    size_t in_first = 0;
  };
  // Fills `streams` from the record snapshot and the log's tail, each
  // stream's positions checked against the stream index; false when there
  // is no usable snapshot.
  Result<bool> LoadFromSnapshot(std::unordered_map<std::string, Loading>* streams);
  // The warm-up's last phase: installs what was loaded as of `head` and
  // catches up with what the writer committed since. False when the cache
  // was dropped meanwhile.
  Result<bool> Install(std::unordered_map<std::string, Loading>& streams, Position head,
                       uint64_t generation);
  Status LoadRecords(const Subject& subject, std::vector<EventRecord>* out,
                     log::CacheUse cache = log::CacheUse::kBypass);

  log::Store* store_;
  std::mutex* writer_mu_;
  std::function<Position()> head_;

  std::mutex cache_mu_;
  std::unordered_map<std::string, std::shared_ptr<StreamEntry>> cache_;
  std::atomic<int64_t> cached_events_{0};
  std::atomic<int64_t> stream_loads_{0};
  // After WarmAll: every stream is in cache_, and subjects_ lists them.
  bool warmed_ = false;
  // Bumped whenever the writer drops the whole cache: a WarmAll whose scan
  // spans a drop starts over rather than insert what it read before it.
  uint64_t cache_generation_ = 0;
  std::set<std::string> subjects_;
};

}  // namespace relais::cache
