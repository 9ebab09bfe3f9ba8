#include "cache/stream_cache.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <thread>
#include <unordered_set>

#include "cache/record_snapshot.h"
#include "codec/codec.h"
#include "log/log_format.h"
#include "read/record_decoder.h"
#include "write/stored_template.h"

namespace relais::cache {

Result<std::vector<Subject>> StreamCache::ListStreams() {
  std::vector<Subject> out;
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (warmed_) {
      out.reserve(subjects_.size());
      for (const auto& text : subjects_) {
        std::string why;
        if (auto s = ParseSubject(text, &why)) out.push_back(std::move(*s));
      }
      return out;
    }
  }
  std::string last;
  Status st = store_->Scan(log::Store::kStream, {}, {}, [&](std::string_view k, std::string_view) {
    std::string_view subject = k.substr(0, k.find('\0'));
    if (subject != last) {
      last = std::string(subject);
      std::string why;
      if (auto s = ParseSubject(subject, &why)) out.push_back(std::move(*s));
    }
    return true;
  });
  RETURN_IF_ERROR(st);
  return out;
}

Status StreamCache::WarmAll(const std::function<void(Position, Position)>& progress) {
  for (int attempt = 0;; ++attempt) {
    uint64_t generation;
    {
      std::lock_guard<std::mutex> lock(cache_mu_);
      if (warmed_) return Status::Ok();
      generation = cache_generation_;
    }
    ASSIGN_OR_RETURN(bool done, WarmOnce(progress, generation));
    if (done) return Status::Ok();
    if (attempt == 3) return Status::ResourceExhausted("the stream cache keeps being dropped during its warm-up");
  }
}

Result<bool> StreamCache::WarmOnce(const std::function<void(Position, Position)>& progress,
                                   uint64_t generation) {
  Position head = head_();
  // The log is scanned in two halves on two threads: decoding an event
  // into its record is the cost, not reading it. Each stream's vector gets
  // its exact final size up front, from the stream index (growing a
  // million small vectors by doubling would leave a third of the memory as
  // slack), and each half writes its own slots of it: the first half from
  // index 0, the second from the count of the stream's events in the first.
  const Position mid = head >= 20000 ? head / 2 : head;
  std::unordered_map<std::string, Loading> streams;
  ASSIGN_OR_RETURN(bool from_snapshot, LoadFromSnapshot(&streams));
  if (from_snapshot) return Install(streams, head, generation);
  {
    std::string last_subject;
    size_t count = 0, in_first = 0;
    Status bad;
    auto flush = [&] {
      if (count == 0) return;
      Loading& l = streams[last_subject];
      std::string why;
      auto subject = ParseSubject(last_subject, &why);
      if (!subject) bad = Status::Corruption("the stream index names an invalid subject: " + why);
      if (subject) l.subject = std::move(*subject);
      l.records.resize(count);
      l.next_second = l.in_first = in_first;
      count = in_first = 0;
    };
    RETURN_IF_ERROR(store_->Scan(log::Store::kStream, {}, {}, [&](std::string_view k, std::string_view v) {
      std::string_view subject = k.substr(0, k.find('\0'));
      if (subject != last_subject) {
        flush();
        last_subject.assign(subject);
      }
      Position p = v.size() == 8 ? log::GetBE64(v) : 0;
      if (p >= 1 && p <= head) {  // later appends are not part of this load
        ++count;
        in_first += p <= mid;
      }
      return true;
    }));
    flush();
    RETURN_IF_ERROR(bad);
  }
  struct Half {
    std::unordered_set<std::string> corrected;
    Status status;
  };
  auto scan = [&](Position from, Position to, bool first_half, Half& half) {
    std::vector<uint64_t> buf;  // capnp::word is not movable: plain words
    std::string subject_text;
    Status st = store_->Scan(log::Store::kLog, {}, log::PositionKey(from), [&](std::string_view, std::string_view v) {
      if (v.size() < log::kHashBytes + 8 || (v.size() - log::kHashBytes) % 8) {
        half.status = Status::Corruption("stored event has a bad length");
        return false;
      }
      buf.resize((v.size() - log::kHashBytes) / 8);
      std::memcpy(buf.data(), v.data() + log::kHashBytes, buf.size() * 8);
      kj::ArrayPtr<const capnp::word> segment(reinterpret_cast<const capnp::word*>(buf.data()), buf.size());
      if (auto bad = codec::CheckStoredEvent(segment)) {
        half.status = Status::Corruption(*bad);
        return false;
      }
      capnp::SegmentArrayMessageReader reader(kj::arrayPtr(&segment, 1));
      auto se = reader.getRoot<schema::StoredEvent>();
      const Position p = se.getPosition();
      if (p > to) return false;
      auto text = se.getSubject();
      subject_text.assign(text.cStr(), text.size());
      // Read-only lookups: both halves share the map and never modify it;
      // each writes only its own counter and its own slots.
      auto it = streams.find(subject_text);
      if (it == streams.end()) {
        half.status = Status::Corruption("the stream index lacks the event at position " + std::to_string(p));
        return false;
      }
      Loading& loading = it->second;
      size_t& next = first_half ? loading.next_first : loading.next_second;
      size_t end = first_half ? loading.in_first : loading.records.size();
      if (next >= end) {
        half.status = Status::Corruption("the stream index does not match the log at position " + std::to_string(p));
        return false;
      }
      EventRecord& r = loading.records[next++];
      r = read::RecordOf(se, loading.subject);
      if (IsCorrection(r.type)) half.corrected.insert(subject_text);
      if (progress && p % 100000 == 0) progress(p, head);
      return p < to;
    });
    if (!st.ok() && half.status.ok()) half.status = st;
  };
  Half first, second;
  if (mid < head) {
    std::thread other([&] { scan(mid + 1, head, false, second); });
    scan(1, mid, true, first);
    other.join();
  } else if (head > 0) {
    scan(1, head, true, first);
  }
  RETURN_IF_ERROR(first.status);
  RETURN_IF_ERROR(second.status);
  for (const auto& [text, l] : streams)
    if (l.next_first != l.in_first || l.next_second != l.records.size())
      return Status::Corruption("the stream index of " + text + " does not match the log");
  std::unordered_set<std::string> corrected = std::move(first.corrected);
  corrected.insert(second.corrected.begin(), second.corrected.end());
  // Streams with corrections need their stored data to fold them: read them
  // back with sorted multi-gets, a bounded batch of streams at a time.
  std::vector<std::string> corrected_list(corrected.begin(), corrected.end());
  for (size_t first = 0; first < corrected_list.size(); first += 1024) {
    std::vector<std::pair<Position, Loading*>> wanted;
    for (size_t c = first; c < std::min(corrected_list.size(), first + 1024); ++c) {
      Loading& l = streams[corrected_list[c]];
      for (const auto& r : l.records) wanted.push_back({r.position, &l});
    }
    std::sort(wanted.begin(), wanted.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> keys, values;
    std::vector<bool> found;
    for (const auto& w : wanted) keys.push_back(log::PositionKey(w.first));
    RETURN_IF_ERROR(store_->MultiGet(log::Store::kLog, keys, &values, &found));
    std::unordered_map<Loading*, std::vector<std::string>> values_of;
    for (size_t k = 0; k < wanted.size(); ++k) {
      if (!found[k]) return Status::Corruption("a stream's event is missing from the log");
      values_of[wanted[k].second].push_back(std::move(values[k]));
    }
    for (auto& [loading, vals] : values_of) {
      RETURN_IF_ERROR(read::RecordsFromValues(loading->subject, vals, &loading->records));
    }
  }
  return Install(streams, head, generation);
}

Result<bool> StreamCache::Install(std::unordered_map<std::string, Loading>& streams, Position head,
                                  uint64_t generation) {
  // The final phase holds the writer's lock: no group is judged, in flight
  // or being published meanwhile, so every group committed after `head` is
  // in the store and was published (or skipped, for a stream the cache did
  // not hold) before this point, and no writer holds pointers into the
  // records replaced below (WorkingRecords).
  std::lock_guard<std::mutex> writing(*writer_mu_);
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (cache_generation_ != generation) return false;
  for (auto& [text, loading] : streams) {
    auto& slot = cache_[text];
    if (slot) continue;  // already loaded (or being loaded): keep it
    auto entry = std::make_shared<StreamEntry>();
    entry->subject = loading.subject;
    entry->records = std::move(loading.records);
    cached_events_ += entry->records.size();
    entry->loaded = true;
    slot = std::move(entry);
  }
  // What the writer committed after `head` was not in the scan, and its
  // publication skipped every stream the cache did not hold then (new
  // households among them): each such stream is loaded again from the store.
  std::set<std::string> touched;
  Status scan_status;
  RETURN_IF_ERROR(store_->Scan(log::Store::kLog, {}, log::PositionKey(head + 1),
                               [&](std::string_view, std::string_view v) {
                                 auto m = write::StoredMessage::Decode(v);
                                 if (!m.ok()) {
                                   scan_status = m.status();
                                   return false;
                                 }
                                 touched.insert(m->Root().getSubject().cStr());
                                 return true;
                               }));
  RETURN_IF_ERROR(scan_status);
  for (const std::string& text : touched) {
    std::string why;
    auto subject = ParseSubject(text, &why);
    if (!subject) return Status::Corruption("the log names an invalid subject: " + why);
    std::vector<EventRecord> fresh;
    RETURN_IF_ERROR(LoadRecords(*subject, &fresh));
    auto& slot = cache_[text];
    if (!slot) {
      slot = std::make_shared<StreamEntry>();
      slot->subject = *subject;
      slot->loaded = true;
    }
    std::unique_lock<std::shared_mutex> entry_lock(slot->mu);
    if (fresh.size() > slot->records.size()) {
      cached_events_ += static_cast<int64_t>(fresh.size() - slot->records.size());
      slot->records = std::move(fresh);
    }
    slot->loaded = true;
  }
  subjects_.clear();
  for (const auto& [text, entry] : cache_)
    if (entry->loaded && !entry->records.empty()) subjects_.insert(text);
  // Streams the writer creates from now on are published into the cache
  // (Publish), so the cache holds every stream.
  warmed_ = true;
  return true;
}

Status StreamCache::VisitStreams(
    StreamKind kind, int shard, int shards,
    const std::function<void(const Subject&, const std::vector<EventRecord>&)>& fn) {
  bool warm;
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    warm = warmed_;
  }
  if (!warm) {
    // Cold: one stream at a time from the record snapshot, nothing kept.
    ASSIGN_OR_RETURN(bool visited, VisitCold(Cold(), kind, shard, shards,
                                             [&](const Subject& s, std::vector<EventRecord>& r) { fn(s, r); }));
    if (visited) return Status::Ok();
  }
  std::vector<std::shared_ptr<StreamEntry>> entries;
  // The writer may drop the whole cache between the warm-up and the walk:
  // walk only a warm cache.
  for (int attempt = 0;; ++attempt) {
    RETURN_IF_ERROR(WarmAll({}));
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (!warmed_) {
      if (attempt == 3) return Status::ResourceExhausted("the stream cache keeps being dropped");
      continue;
    }
    entries.reserve(cache_.size() / std::max(shards, 1) + 1);
    // By the subject's hash, not by the map's order: the shards of one
    // report, taken by several threads at different moments, must be
    // disjoint and cover every stream whatever the writer adds meanwhile.
    const size_t n = static_cast<size_t>(std::max(shards, 1));
    for (const auto& [text, entry] : cache_) {
      if (entry->subject.kind != kind) continue;
      if (std::hash<std::string>{}(text) % n == static_cast<size_t>(shard)) entries.push_back(entry);
    }
    break;
  }
  for (const auto& e : entries) {
    std::shared_lock<std::shared_mutex> lock(e->mu);
    if (e->loaded && !e->records.empty()) fn(e->subject, e->records);
  }
  return Status::Ok();
}

Result<std::shared_ptr<StreamEntry>> StreamCache::LoadedEntry(const Subject& subject) {
  std::shared_ptr<StreamEntry> e;
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto& slot = cache_[subject.text];
    if (!slot) {
      slot = std::make_shared<StreamEntry>();
      slot->subject = subject;
    }
    e = slot;
  }
  {
    std::shared_lock<std::shared_mutex> lock(e->mu);
    if (e->loaded) return e;
  }
  bool empty = false;
  {
    std::unique_lock<std::shared_mutex> lock(e->mu);
    if (!e->loaded) {
      ++stream_loads_;
      RETURN_IF_ERROR(LoadRecords(subject, &e->records, log::CacheUse::kFill));
      e->loaded = true;
      cached_events_ += e->records.size();
    }
    empty = e->records.empty();
  }
  // A subject with no event (unknown, or asked about by a refused request)
  // keeps no entry: anyone may ask about any number of them.
  if (empty) Forget(subject.text, e);
  return e;
}

void StreamCache::Forget(const std::string& text, const std::shared_ptr<StreamEntry>& e) {
  std::lock_guard<std::mutex> lock(cache_mu_);
  auto it = cache_.find(text);
  if (it == cache_.end() || it->second != e) return;
  std::unique_lock<std::shared_mutex> entry_lock(e->mu);
  if (!e->records.empty()) return;
  e->dead = true;
  cache_.erase(it);
}

Result<std::vector<std::string>> StreamCache::StreamValues(const Subject& subject) {
  return read::StreamValues(*store_, subject, nullptr, log::CacheUse::kFill);  // a view's read
}

Status StreamCache::LoadRecords(const Subject& subject, std::vector<EventRecord>* out,
                                log::CacheUse cache) {
  return read::LoadRecords(*store_, subject, out, nullptr, cache);
}

void StreamCache::Publish(PendingRecords& pending) {
  for (auto& [subject, records] : pending) {
    // At most twice: an entry found empty may be forgotten (Forget) between
    // the lookup and its lock; the second lookup then creates a fresh one.
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::shared_ptr<StreamEntry> e;
      {
        std::lock_guard<std::mutex> lock(cache_mu_);
        auto it = cache_.find(subject);
        if (it == cache_.end()) {
          // A stream this group created (its first record is version 0) is
          // whole in `records`: it joins the cache loaded, so that its next
          // events are judged from memory instead of reloading it from the
          // store (a bulk import writes ~20 events per stream, each new
          // stream's first one forgotten by LoadedEntry as empty). Warm
          // cache: every new stream joins it, loaded from the start.
          const bool created = !records.empty() && records.front().version == 0;
          if (!warmed_ && !created) break;
          auto entry = std::make_shared<StreamEntry>();
          std::string why;
          entry->subject = *ParseSubject(subject, &why);
          entry->loaded = true;
          it = cache_.emplace(subject, std::move(entry)).first;
        }
        if (warmed_) subjects_.insert(subject);
        e = it->second;
      }
      std::unique_lock<std::shared_mutex> lock(e->mu);
      if (e->dead) continue;
      if (!e->loaded) break;
      // A reader may have loaded the stream after the write: skip what it has.
      Position last = e->records.empty() ? 0 : e->records.back().position;
      for (auto& r : records)
        if (r.position > last) {
          e->records.push_back(std::move(r));
          ++cached_events_;
        }
      break;
    }
  }
}

bool StreamCache::DropIfOver(int64_t limit) {
  // The cache only grows with what is read or written; past its limit it is
  // dropped between groups (everything in it is committed and can be
  // reloaded), never while a group is being written.
  if (cached_events_ <= limit) return false;
  std::lock_guard<std::mutex> lock(cache_mu_);
  ++cache_generation_;
  for (auto& [text, entry] : cache_) {
    std::unique_lock<std::shared_mutex> entry_lock(entry->mu);
    entry->dead = true;
  }
  cache_.clear();
  cached_events_ = 0;
  warmed_ = false;
  subjects_.clear();
  return true;
}

int64_t StreamCache::CachedStreams() {
  std::lock_guard<std::mutex> lock(cache_mu_);
  return static_cast<int64_t>(cache_.size());
}

ColdSource StreamCache::Cold() {
  ColdSource source;
  source.store = store_;
  source.subject_of = [](std::string_view value, std::string* subject) -> Status {
    ASSIGN_OR_RETURN(write::StoredMessage m, write::StoredMessage::Decode(value));
    auto text = m.Root().getSubject();
    subject->assign(text.cStr(), text.size());
    return Status::Ok();
  };
  source.record_of = [](std::string_view value, const Subject& subject, EventRecord* record) -> Status {
    ASSIGN_OR_RETURN(write::StoredMessage m, write::StoredMessage::Decode(value));
    *record = read::RecordOf(m.Root(), subject);
    return Status::Ok();
  };
  source.load = [this](const Subject& subject, const log::Store::Snapshot* at,
                       std::vector<EventRecord>* records) {
    return read::LoadRecords(*store_, subject, records, at);
  };
  return source;
}

Result<bool> StreamCache::LoadFromSnapshot(std::unordered_map<std::string, Loading>* streams) {
  // Both halves of the hash space on two threads: decoding is the cost.
  constexpr int kShards = 2;
  ColdSource source = Cold();
  std::array<std::vector<Loading>, kShards> loaded;
  std::array<Result<bool>, kShards> done = {false, false};
  auto work = [&](int shard) {
    for (StreamKind kind : {StreamKind::kHousehold, StreamKind::kDwelling, StreamKind::kTerritory}) {
      done[shard] = VisitCold(source, kind, shard, kShards, [&](const Subject& s, std::vector<EventRecord>& r) {
        Loading l;
        l.subject = s;
        l.records = std::move(r);
        l.records.shrink_to_fit();
        loaded[shard].push_back(std::move(l));
      });
      if (!done[shard].ok() || !*done[shard]) return;
    }
  };
  std::thread other(work, 1);
  work(0);
  other.join();
  for (auto& d : done) {
    RETURN_IF_ERROR(d.status());
    if (!*d) return false;
  }
  for (auto& part : loaded)
    for (Loading& l : part) {
      std::string text = l.subject.text;
      streams->emplace(std::move(text), std::move(l));
    }
  // What the cache is built from must not be taken on trust: the writer
  // judges new events against it. Every stream's positions up to `head`
  // are checked against the stream index (one scan of it); a stream that
  // differs is read from the log instead (a value only verify can find
  // wrong is one with the right events and a wrong field: a codec defect).
  const Position head = head_();
  std::string current;
  std::vector<Position> indexed;
  Status bad;
  auto check = [&]() -> Status {
    if (current.empty()) return Status::Ok();
    auto it = streams->find(current);
    bool same = it != streams->end();
    if (same) {
      size_t n = 0;
      for (const EventRecord& r : it->second.records)
        if (r.position <= head) {
          if (n >= indexed.size() || indexed[n] != r.position) {
            same = false;
            break;
          }
          ++n;
        }
      same = same && n == indexed.size();
    }
    if (same) return Status::Ok();
    std::string why;
    auto subject = ParseSubject(current, &why);
    if (!subject) return Status::Corruption("the stream index names an invalid subject: " + why);
    Loading& l = (*streams)[current];
    l.subject = *subject;
    return LoadRecords(*subject, &l.records);
  };
  RETURN_IF_ERROR(store_->Scan(log::Store::kStream, {}, {}, [&](std::string_view k, std::string_view v) {
    std::string_view subject = k.substr(0, k.find('\0'));
    if (subject != current) {
      bad = check();
      if (!bad.ok()) return false;
      current.assign(subject);
      indexed.clear();
    }
    Position p = v.size() == 8 ? log::GetBE64(v) : 0;
    if (p <= head) indexed.push_back(p);
    return true;
  }));
  RETURN_IF_ERROR(bad);
  RETURN_IF_ERROR(check());
  return true;
}

Status StreamCache::PrepareSnapshot() {
  if (!store_->Has(log::Store::kRecords)) return Status::Ok();
  ASSIGN_OR_RETURN(std::optional<Position> point, ReadSnapshotPoint(*store_));
  // Without a point, every stream is written: from a warm cache (one pass
  // over the log) rather than stream by stream, when it fits the cache.
  if (!point && static_cast<int64_t>(head_()) <= kSnapshotWarmEventsMax) return WarmAll({});
  return Status::Ok();
}

Status StreamCache::WriteSnapshot(Position head) {
  if (!store_->Has(log::Store::kRecords)) return Status::Ok();
  ASSIGN_OR_RETURN(std::optional<Position> point, ReadSnapshotPoint(*store_));
  bool warm;
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    warm = warmed_;
  }
  std::set<std::string> changed;
  if (warm) {
    // A warm cache (a server's) was checked against the stream index when it
    // was built: all of it is written, which also rewrites any value a
    // reader had to skip.
    std::lock_guard<std::mutex> lock(cache_mu_);
    for (const auto& [text, entry] : cache_) changed.insert(text);
  } else if (point) {
    if (*point >= head) return Status::Ok();
    Status inner;
    RETURN_IF_ERROR(store_->Scan(log::Store::kLog, {}, log::PositionKey(*point + 1),
                                 [&](std::string_view, std::string_view v) {
                                   auto m = write::StoredMessage::Decode(v);
                                   if (!m.ok()) {
                                     inner = m.status();
                                     return false;
                                   }
                                   changed.insert(m->Root().getSubject().cStr());
                                   return true;
                                 }));
    RETURN_IF_ERROR(inner);
  } else {
    ASSIGN_OR_RETURN(std::vector<Subject> all, ListStreams());
    for (Subject& s : all) changed.insert(std::move(s.text));
  }
  SnapshotWriter w(store_, head);
  std::vector<EventRecord> records;
  for (const std::string& text : changed) {
    std::string why;
    auto subject = ParseSubject(text, &why);
    if (!subject) return Status::Corruption("the log names an invalid subject: " + why);
    std::shared_ptr<StreamEntry> e;
    {
      std::lock_guard<std::mutex> lock(cache_mu_);
      auto it = cache_.find(text);
      if (it != cache_.end()) e = it->second;
    }
    bool from_cache = false;
    if (e) {
      std::shared_lock<std::shared_mutex> lock(e->mu);
      if (e->loaded && !e->dead && !e->records.empty() && e->records.back().position <= head) {
        RETURN_IF_ERROR(w.Put(text, e->records));
        from_cache = true;
      }
    }
    if (from_cache) continue;
    RETURN_IF_ERROR(LoadRecords(*subject, &records));
    if (!records.empty()) RETURN_IF_ERROR(w.Put(text, records));
  }
  return w.Finish();
}

}  // namespace relais::cache
