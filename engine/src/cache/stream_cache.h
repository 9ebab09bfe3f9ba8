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

#include "log/store.h"
#include "relais/domain.h"
#include "relais/status.h"

namespace relais::cache {

struct StreamEntry {
  std::shared_mutex mu;
  bool loaded = false;
  // Removed from the cache (it held no event): whoever still holds it must
  // look the stream up again before adding to it.
  bool dead = false;
  Subject subject;
  std::vector<EventRecord> records;  // committed, in position order
};

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
  // Loads every stream (idempotent); the cache then holds every stream.
  Status WarmAll(const std::function<void(Position, Position)>& progress);
  // Warms, then calls `fn` for each non-empty stream of `kind` whose
  // subject hashes to `shard` of `shards` (disjoint, covering shards).
  Status VisitStreams(StreamKind kind, int shard, int shards,
                      const std::function<void(const Subject&, const std::vector<EventRecord>&)>& fn);

  // Writer: a committed group's records, by subject (moved from).
  void Publish(std::map<std::string, std::vector<EventRecord>>& records);
  // Writer, between groups (nothing being written): drops the whole cache
  // once it holds more than `limit` events. True when it did.
  bool DropIfOver(int64_t limit);

  int64_t CachedStreams();
  int64_t CachedEvents() const { return cached_events_.load(); }

 private:
  // One warm-up scan. False when the writer dropped the cache meanwhile.
  Result<bool> WarmOnce(const std::function<void(Position, Position)>& progress,
                        uint64_t generation);
  void Forget(const std::string& text, const std::shared_ptr<StreamEntry>& e);
  Status LoadRecords(const Subject& subject, std::vector<EventRecord>* out);

  log::Store* store_;
  std::mutex* writer_mu_;
  std::function<Position()> head_;

  std::mutex cache_mu_;
  std::unordered_map<std::string, std::shared_ptr<StreamEntry>> cache_;
  std::atomic<int64_t> cached_events_{0};
  // After WarmAll: every stream is in cache_, and subjects_ lists them.
  bool warmed_ = false;
  // Bumped whenever the writer drops the whole cache: a WarmAll whose scan
  // spans a drop starts over rather than insert what it read before it.
  uint64_t cache_generation_ = 0;
  std::set<std::string> subjects_;
};

}  // namespace relais::cache
