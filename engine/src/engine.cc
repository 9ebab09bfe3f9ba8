// The Engine facade: opens the parts and wires them, parses appends on the
// caller's thread, and answers reads from the parts. Who calls whom is in
// docs/architecture.md ("Parts"):
//   write/group_committer  the queue, the writer and its failure latch
//   admit/admission        the checks of events.md §2 (the committer's judge)
//   cache/*                streams, references, the writer's folds
//   read/record_decoder    stored values -> records and views
//   write/stored_template, write/sealer   the stored bytes and their sealing
//   verify/verifier        `verify` on one snapshot
#include <cstdio>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "admit/admission.h"
#include "admit/store_state.h"
#include "cache/erased_set.h"
#include "cache/fold_cache.h"
#include "cache/record_snapshot.h"
#include "cache/reference_index.h"
#include "cache/stream_cache.h"
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "crypto/keystore.h"
#include "log/log_format.h"
#include "log/store.h"
#include "read/record_decoder.h"
#include "relais/engine.h"
#include "relais/files.h"
#include "relais/json_writer.h"
#include "relais/role.h"
#include "tree/checkpoints.h"
#include "tree/merkle.h"
#include "tree/tile_store.h"
#include "verify/verifier.h"
#include "write/group_committer.h"
#include "write/sealer.h"
#include "write/stored_template.h"

namespace relais {

namespace {

class SystemClockImpl : public Clock {
 public:
  Timestamp Now() override {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return Timestamp{std::chrono::duration_cast<std::chrono::microseconds>(now).count()};
  }
};

// The stream cache is dropped between groups past this many events.
constexpr int64_t kCachedEventsMax = 8'000'000;

// The log store and key store as the group committer writes them.
class StoreSink : public write::LogSink {
 public:
  StoreSink(log::Store* store, crypto::KeyStore* keys) : store_(store), keys_(keys) {}
  Status Write(rocksdb::WriteBatch* batch, bool sync) override {
    // The keys first, synced, whatever the group's own durability: RocksDB
    // may persist the log's memtable at any moment after its write.
    RETURN_IF_ERROR(keys_->WritePending());
    return store_->Write(batch, sync);
  }
  // Keys need no sync here: each group's are written synced before its
  // events (KeyStore::WritePending).
  Status SyncWal() override { return store_->SyncWal(); }
  Status Resume() override {
    RETURN_IF_ERROR(keys_->Resume());
    return store_->Resume();
  }
  Result<std::optional<write::ChainTip>> StoredTip() override {
    std::string key, value;
    bool found = false;
    RETURN_IF_ERROR(store_->Last(log::Store::kLog, &key, &value, &found));
    if (!found) return std::optional<write::ChainTip>();
    ASSIGN_OR_RETURN(write::StoredMessage m, write::StoredMessage::Decode(value));
    write::ChainTip tip;
    tip.next_position = m.Root().getPosition() + 1;
    tip.last_hash = m.hash();
    tip.last_recorded = Timestamp{m.Root().getRecordedAt()};
    return std::optional<write::ChainTip>(tip);
  }
  Status Flush() override { return store_->FlushMemtables(); }

 private:
  log::Store* store_;
  crypto::KeyStore* keys_;
};

// Admission as the committer's judge, and the publication of what it accepted.
class WriterJudge : public write::GroupJudge {
 public:
  WriterJudge(admit::Admission* admission, cache::StreamCache* streams,
              cache::ReferenceIndex* refs, cache::FoldCache* folds, cache::ErasedSet* erased,
              log::Store* store)
      : admission_(admission), streams_(streams), refs_(refs), folds_(folds), erased_(erased),
        store_(store) {}
  AppendOutcome Judge(write::CommitRequest& req, write::Group& g) override {
    return admission_->Judge(static_cast<admit::AppendRequest&>(req), g);
  }
  // The tree's tiles go into the group's own batch: the tree and the events
  // it covers land together or not at all.
  Status Complete(write::Group& g) override {
    if (g.leaves.empty() || !enabled_) {
      g.leaves.clear();
      return Status::Ok();
    }
    const uint64_t first = g.tip.next_position - g.leaves.size();  // the tree's size before
    if (tree_stale_ || tree_.size() + 1 != first) {
      // After a failed write (Forget) the edge may hold leaves that never
      // landed: take it from the store again.
      ASSIGN_OR_RETURN(uint64_t stored, tree::StoredSize(store_));
      if (stored + 1 != first)
        return Status::Internal("the Merkle tree holds " + std::to_string(stored) +
                                " leaves where the log holds " + std::to_string(first - 1));
      RETURN_IF_ERROR(tree_.Load(store_, stored));
      tree_stale_ = false;
    }
    rocksdb::ColumnFamilyHandle* cf = store_->handle(log::Store::kTree);
    for (const crypto::Hash& h : g.leaves) tree_.Append(h, &g.batch, cf);
    tree_.PutSize(&g.batch, cf);
    g.leaves.clear();
    return Status::Ok();
  }
  void Disable() { enabled_ = false; }
  Status LoadTree(uint64_t size) {
    tree_stale_ = false;
    return tree_.Load(store_, size);
  }
  void Publish(write::Group& g) override {
    admit::GroupEvents& accepted = admit::EventsOf(g);
    streams_->Publish(accepted.pending);
    refs_->Publish(accepted.new_refs);
    for (const std::string& subject : accepted.erased) erased_->Add(subject);
  }
  void Forget() override {
    folds_->Clear();
    tree_stale_ = true;
  }
  void Idle() override {
    if (streams_->DropIfOver(kCachedEventsMax)) folds_->Clear();
  }

 private:
  admit::Admission* admission_;
  cache::StreamCache* streams_;
  cache::ReferenceIndex* refs_;
  cache::FoldCache* folds_;
  cache::ErasedSet* erased_;
  log::Store* store_;
  tree::TreeWriter tree_;  // the writer's edge; under the writer's lock
  bool tree_stale_ = true;
  bool enabled_ = true;
};

}  // namespace

std::shared_ptr<Clock> SystemClock() { return std::make_shared<SystemClockImpl>(); }

namespace {
constexpr std::string_view kErasureReasonNames[] = {"subject_request", "retention_expired",
                                                    "legal_obligation", "other"};
}  // namespace

std::string_view ErasureReasonName(ErasureReason r) {
  return kErasureReasonNames[static_cast<size_t>(r)];
}

std::optional<ErasureReason> ErasureReasonFromName(std::string_view name) {
  for (size_t i = 0; i < std::size(kErasureReasonNames); ++i)
    if (kErasureReasonNames[i] == name) return static_cast<ErasureReason>(i);
  return std::nullopt;
}

class EngineImpl : public Engine {
 public:
  EngineImpl(Options options, std::unique_ptr<log::Store> store,
             std::unique_ptr<crypto::KeyStore> keys)
      : options_(std::move(options)),
        store_(std::move(store)),
        keys_(std::move(keys)),
        key_source_(keys_.get()),
        sealer_(&key_source_),
        streams_(store_.get(), &writer_mu_, [this] { return committer_->GetHead().position; }),
        refs_(store_.get()),
        state_(store_.get(), &streams_, &refs_, &sealer_),
        admission_(&state_, &key_source_, &folds_, options_.clock),
        judge_(&admission_, &streams_, &refs_, &folds_, &erased_, store_.get()),
        sink_(store_.get(), keys_.get()) {}

  ~EngineImpl() override { Close(); }

  Status Init() {
    std::string key, value;
    bool found = false;
    RETURN_IF_ERROR(store_->Last(log::Store::kLog, &key, &value, &found));
    write::ChainTip tip;
    if (found) {
      ASSIGN_OR_RETURN(write::StoredMessage m, write::StoredMessage::Decode(value));
      auto se = m.Root();
      if (se.getPosition() != log::GetBE64(key))
        return Status::Corruption("the last log entry's position does not match its key");
      tip.next_position = se.getPosition() + 1;
      tip.last_hash = m.hash();
      tip.last_recorded = Timestamp{se.getRecordedAt()};
    }
    const Position size = tip.next_position - 1;
    RETURN_IF_ERROR(InitTree(size));
    ASSIGN_OR_RETURN(checkpointer_, tree::Checkpointer::Open(options_.data_dir, !options_.read_only,
                                                             options_.origin));
    committer_ = std::make_unique<write::GroupCommitter>(&sink_, &judge_, &writer_mu_, tip);
    RETURN_IF_ERROR(LoadErasures());
    if (!options_.read_only) committer_->Start();
    return Status::Ok();
  }

  // Fills the erased set from the erasure index and, on a writable open,
  // destroys the keys of erased households that still have one: a crash
  // between an erasure's event and its key's destruction is completed here
  // (lifecycle.md §1), before any reader or writer is served.
  Status LoadErasures() {
    std::vector<std::string> subjects;
    RETURN_IF_ERROR(store_->Scan(log::Store::kMeta, log::kErasurePrefix, {},
                                 [&](std::string_view key, std::string_view) {
                                   subjects.emplace_back(key.substr(sizeof(log::kErasurePrefix) - 1));
                                   return true;
                                 }));
    std::vector<std::string> keyed;
    for (const std::string& subject : subjects) {
      erased_.Add(subject);
      if (options_.read_only) continue;
      ASSIGN_OR_RETURN(std::optional<crypto::Key> key, keys_->Find(subject));
      if (key) keyed.push_back(subject);
    }
    if (keyed.empty()) return Status::Ok();
    std::fprintf(stderr, "relais: completing the erasure of %zu household(s) an interrupted run left\n",
                 keyed.size());
    return keys_->Destroy(keyed);
  }

  // ------------------------------------------------------------------ appends

  AppendOutcome Append(std::string_view request, const AppendOptions& options) override {
    return AppendAsync(std::string(request), options).get();
  }

  std::future<AppendOutcome> AppendAsync(std::string text, const AppendOptions& options) override {
    std::vector<std::string> one;
    one.push_back(std::move(text));
    return std::move(AppendManyAsync(std::move(one), options)[0]);
  }

  std::vector<std::future<AppendOutcome>> AppendManyAsync(std::vector<std::string> texts,
                                                          const AppendOptions& options) override {
    std::vector<std::future<AppendOutcome>> futures;
    std::vector<std::unique_ptr<write::CommitRequest>> ready;
    futures.reserve(texts.size());
    for (auto& text : texts) {
      auto req = std::make_unique<admit::AppendRequest>();
      req->options = options;
      req->sync = options.sync;
      futures.push_back(req->promise.get_future());
      if (auto answer = Prepare(std::move(text), *req)) {
        req->promise.set_value(std::move(*answer));
      } else {
        ready.push_back(std::move(req));
      }
    }
    committer_->Submit(std::move(ready));
    return futures;
  }

  AppendOutcome Erase(const Subject& household, ErasureReason reason, const ActorInfo& actor,
                      std::optional<Date> effective_date,
                      std::optional<StreamVersion> expected_version) override {
    AppendOutcome o;
    if (household.kind != StreamKind::kHousehold) {
      o.error = Status::InvalidArgument("only a household is erased, not " + household.text);
      return o;
    }
    // The event as a request of the contract's form, parsed and judged like
    // any other (household_erased, not_registered), with a fresh id.
    JsonWriter w;
    w.BeginObject();
    w.Key("id").String(FormatUuid(crypto::RandomUuid()));
    w.Key("type").String(EventTypeName(EventType::kPersonalDataErased));
    w.Key("subject").String(household.text);
    // A placeholder when not given: the writer dates the event from the
    // recordedAt it stamps (ParsedEvent::effective_from_recorded).
    w.Key("effectiveDate").String(FormatDate(effective_date ? *effective_date : Date{0}));
    w.Key("data").BeginObject().Key("reason").String(ErasureReasonName(reason)).EndObject();
    if (expected_version) w.Key("expectedVersion").Int(*expected_version);
    w.EndObject();
    // A backup copies the log, then the key store: an erasure between the two
    // would leave a copy with sealed events, no erasure and no key.
    std::lock_guard<std::mutex> no_backup(erase_backup_mu_);
    auto req = std::make_unique<admit::AppendRequest>();
    req->options.actor = actor;
    req->options.sync = true;
    req->sync = true;
    std::future<AppendOutcome> future = req->promise.get_future();
    if (auto answer = Prepare(w.Take(), *req, /*erasure=*/true, !effective_date)) return *answer;
    std::vector<std::unique_ptr<write::CommitRequest>> one;
    one.push_back(std::move(req));
    committer_->Submit(std::move(one));
    o = future.get();
    if (o.kind != AppendOutcome::Kind::kAccepted) return o;
    // The event is synced: from here a crash is completed by the next open.
    if (options_.after_erasure_event) options_.after_erasure_event();
    if (Status st = keys_->Destroy({household.text}); !st.ok()) {
      AppendOutcome failed;
      failed.error = Status(st.code(), "the erasure of " + household.text +
                                           " is recorded, but its key's destruction failed (the "
                                           "next open completes it): " + st.message());
      return failed;
    }
    return o;
  }

  Result<std::vector<ErasureEntry>> Erasures() override {
    std::vector<std::string> positions;
    RETURN_IF_ERROR(store_->Scan(log::Store::kMeta, log::kErasurePrefix, {},
                                 [&](std::string_view, std::string_view v) {
                                   positions.emplace_back(v);
                                   return true;
                                 }));
    std::sort(positions.begin(), positions.end());  // BE64: byte order is position order
    std::vector<std::string> values;
    std::vector<bool> found;
    RETURN_IF_ERROR(store_->MultiGet(log::Store::kLog, positions, &values, &found));
    std::vector<ErasureEntry> out;
    out.reserve(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      if (!found[i] || positions[i].size() != 8)
        return Status::Corruption("the erasure index names a missing position");
      ASSIGN_OR_RETURN(write::StoredMessage m, write::StoredMessage::Decode(values[i]));
      auto se = m.Root();
      auto data = se.getData();
      if (data.which() != schema::EventData::PERSONAL_DATA_ERASED)
        return Status::Corruption("the erasure index names position " +
                                  std::to_string(se.getPosition()) +
                                  ", which is not a PersonalDataErased");
      ErasureEntry e;
      std::string why;
      auto subject = ParseSubject(se.getSubject().cStr(), &why);
      if (!subject) return Status::Corruption("stored subject is invalid: " + why);
      e.subject = std::move(*subject);
      e.id = FormatUuid(write::IdOf(se.getId()));
      e.position = se.getPosition();
      e.recorded_at = Timestamp{se.getRecordedAt()};
      e.reason = static_cast<ErasureReason>(data.getPersonalDataErased().getReason());
      out.push_back(std::move(e));
    }
    return out;
  }

  Result<bool> IsErased(const Subject& household) override {
    if (erased_.Contains(household.text)) return true;
    // Another process may have erased it since this (read-only) open.
    std::string v;
    bool found = false;
    RETURN_IF_ERROR(store_->Get(log::Store::kMeta, log::ErasureKey(household.text), &v, &found));
    return found;
  }

  Status Sync() override {
    if (options_.read_only) return Status::Ok();
    return committer_->Sync();
  }

  void Close() override {
    if (!committer_) return;
    const bool snapshot = !options_.read_only && options_.write_record_snapshot;
    Status prepared = snapshot ? streams_.PrepareSnapshot() : Status::Ok();
    if (!prepared.ok())
      std::fprintf(stderr, "relais: the record snapshot will be written stream by stream: %s\n",
                   prepared.message().c_str());
    committer_->Close([&](Position head) {
      if (!snapshot) return;
      // A failure costs the next cold open its speed, never an event: the
      // point is written last, and the log is the source.
      Status st = streams_.WriteSnapshot(head);
      if (st.ok()) st = store_->FlushMemtables();
      if (!st.ok())
        std::fprintf(stderr, "relais: the record snapshot was not written: %s\n", st.message().c_str());
    });
  }

  // ------------------------------------------------------------------- reads

  Head GetHead() override { return committer_->GetHead(); }

  Position WaitForHead(Position after, int64_t timeout_ms) override {
    return committer_->WaitForHead(after, timeout_ms);
  }

  Result<Position> PositionAt(Timestamp t) override {
    Head h = GetHead();
    Position lo = 0, hi = h.position;  // answer in [lo, hi]
    if (h.position > 0 && h.recorded_at <= t) return h.position;
    while (lo < hi) {
      Position mid = lo + (hi - lo + 1) / 2;
      ASSIGN_OR_RETURN(Timestamp at, RecordedAtOf(mid));
      if (at <= t) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return lo;
  }

  Result<std::string> HashAt(Position p) override {
    if (p == 0) return std::string(64, '0');
    std::string value;
    bool found = false;
    RETURN_IF_ERROR(store_->Get(log::Store::kLog, log::PositionKey(p), &value, &found));
    if (!found || value.size() < log::kHashBytes)
      return Status::NotFound("no event at position " + std::to_string(p));
    return crypto::ToHex(reinterpret_cast<const uint8_t*>(value.data()), log::kHashBytes);
  }

  Status ReadStream(const Subject& subject,
                    const std::function<void(const std::vector<EventRecord>&)>& fn) override {
    ASSIGN_OR_RETURN(std::shared_ptr<cache::StreamEntry> e, streams_.LoadedEntry(subject));
    std::shared_lock<std::shared_mutex> lock(e->mu);
    fn(e->records);
    return Status::Ok();
  }

  Result<std::vector<std::string>> HouseholdsReferencing(std::string_view dwelling_id) override {
    ASSIGN_OR_RETURN(std::set<std::string> set, refs_.Households(std::string(dwelling_id)));
    return std::vector<std::string>(set.begin(), set.end());
  }

  Result<std::vector<StoredEventView>> ReadStreamEvents(const Subject& subject) override {
    ASSIGN_OR_RETURN(std::vector<std::string> values, streams_.StreamValues(subject));
    std::vector<StoredEventView> out;
    out.reserve(values.size());
    for (const std::string& value : values) {
      ASSIGN_OR_RETURN(StoredEventView v, read::View(value, sealer_, &erased_));
      out.push_back(std::move(v));
    }
    return out;
  }

  Result<std::vector<Subject>> ListStreams() override { return streams_.ListStreams(); }

  Status WarmAll(const std::function<void(Position, Position)>& progress) override {
    return streams_.WarmAll(progress);
  }

  Status VisitStreams(StreamKind kind, int shard, int shards,
                      const std::function<void(const Subject&, const std::vector<EventRecord>&)>& fn) override {
    return streams_.VisitStreams(kind, shard, shards, fn);
  }

  Status Scan(Position from, const std::function<bool(const StoredEventView&)>& fn) override {
    Status inner;
    RETURN_IF_ERROR(store_->Scan(log::Store::kLog, {}, log::PositionKey(std::max<Position>(from, 1)),
                                 [&](std::string_view, std::string_view v) {
                                   auto view = read::View(v, sealer_, &erased_);
                                   if (!view.ok()) {
                                     inner = view.status();
                                     return false;
                                   }
                                   return fn(*view);
                                 }));
    return inner;
  }

  Status DropRecordSnapshot() override {
    if (options_.read_only) return Status::FailedPrecondition("the engine is open read-only");
    if (!store_->Has(log::Store::kRecords)) return Status::Ok();
    return cache::DropSnapshotPoint(*store_);
  }

  VerifyReport Verify(const std::function<void(Position, Position)>& progress) override {
    // The kept checkpoint of the largest size first (not the last issued: any
    // reader may ask for an older size): its size is where the scan notes the root.
    std::optional<tree::CheckpointBody> latest;
    std::string latest_problem;
    if (auto note = checkpointer_->Largest(); !note.ok()) {
      latest_problem = note.status().message();
    } else if (*note) {
      auto signer = checkpointer_->Signer();
      auto verifier = signer.ok() ? tree::ParseVerifierKey(tree::FormatVerifierKey(**signer))
                                  : Result<tree::NoteVerifier>(signer.status());
      auto text = verifier.ok() ? tree::OpenNote(**note, *verifier) : Result<std::string>(verifier.status());
      auto body = text.ok() ? tree::ParseCheckpointBody(*text) : Result<tree::CheckpointBody>(text.status());
      if (!body.ok()) {
        latest_problem = "the latest checkpoint issued does not verify: " + body.status().message();
      } else {
        latest = *body;
      }
    }
    tree::CompactRange range;
    std::optional<crypto::Hash> root_at_latest;
    if (latest && latest->size == 0) root_at_latest = tree::EmptyRoot();
    // The tree's size is read at the log's snapshot: the tree and the events
    // it covers land in one write, so there the two sizes are equal, and a
    // tree larger than the log (its tail lost) shows. Read live, a tree
    // larger than the snapshot's log is only the appends since.
    std::unique_ptr<log::Store::Snapshot> snap = store_->TakeSnapshot();
    auto stored_size = tree::StoredSize(store_.get(), snap.get());
    VerifyReport r = verify::Verify(store_.get(), keys_.get(), progress,
                                    [&](Position, const crypto::Hash& h) {
                                      range.Push(tree::LeafHash(h));
                                      if (latest && range.size() == latest->size)
                                        root_at_latest = range.Root();
                                    },
                                    snap.get());
    if (!r.ok) return r;
    auto bad = [&](std::string problem) {
      r.ok = false;
      r.first_bad_position = static_cast<Position>(r.events);
      r.problem = std::move(problem);
      return r;
    };
    if (!latest_problem.empty()) return bad(latest_problem);
    // The stored tree (when there is one: an old directory opened read-only
    // has none yet) against the root recomputed from the log.
    if (tree_ready_ || store_->Has(log::Store::kTree)) {
      if (!stored_size.ok()) return bad(stored_size.status().message());
      // Larger: what a writable open refuses. Smaller: a tree still to be
      // built (an old directory opened read-only) unless this engine keeps it.
      if (*stored_size > range.size() || (*stored_size < range.size() && tree_ready_))
        return bad("the Merkle tree holds " + std::to_string(*stored_size) + " leaves, the log " +
                   std::to_string(range.size()));
      if (*stored_size == range.size()) {
        auto root = RootAt(range.size());
        if (!root.ok()) return bad("the Merkle tree cannot be read: " + root.status().message());
        if (*root != range.Root())
          return bad("the Merkle tree's root differs from the root recomputed from the log");
      }
    }
    if (latest) {
      if (latest->size > range.size())
        return bad("the latest checkpoint issued covers " + std::to_string(latest->size) +
                   " events, the log holds " + std::to_string(range.size()));
      if (!root_at_latest || *root_at_latest != latest->root)
        return bad("the log's tree of size " + std::to_string(latest->size) +
                   " differs from the latest checkpoint issued (the log was rewritten)");
    }
    return r;
  }

  EngineStats Stats() override {
    EngineStats st;
    st.cached_streams = streams_.CachedStreams();
    st.cached_events = streams_.CachedEvents();
    st.stream_loads = streams_.StreamLoads();
    st.cached_keys = static_cast<int64_t>(keys_->CachedKeys());
    st.interned_bytes = static_cast<int64_t>(InternedBytes());
    if (store_) store_->Stats(&st.storage);
    return st;
  }

  // ---------------------------------------------------------------- evidence

  Result<std::string> TreeRoot(Position size) override {
    RETURN_IF_ERROR(CheckTreeSize(size, "size"));
    ASSIGN_OR_RETURN(crypto::Hash root, RootAt(size));
    return std::string(reinterpret_cast<const char*>(root.data()), root.size());
  }

  Result<std::string> Checkpoint(Position size) override {
    RETURN_IF_ERROR(CheckTreeSize(size, "size"));
    RETURN_IF_ERROR(checkpointer_->Signer().status());
    ASSIGN_OR_RETURN(crypto::Hash root, RootAt(size));
    return checkpointer_->Issue(size, root);
  }

  Result<std::optional<std::string>> LatestCheckpoint() override { return checkpointer_->Latest(); }

  Result<std::string> VerifierKey() override {
    ASSIGN_OR_RETURN(const tree::NoteSigner* s, checkpointer_->Signer());
    return tree::FormatVerifierKey(*s);
  }

  Result<InclusionProof> ProveInclusion(Position position, Position size) override {
    RETURN_IF_ERROR(CheckTreeSize(size, "size"));
    if (size == 0) return Status::InvalidArgument("size: the log is empty");
    if (position == 0 || position > size)
      return Status::InvalidArgument("position " + std::to_string(position) +
                                     " is not in the tree of size " + std::to_string(size));
    tree::TileReader reader(store_.get(), size);
    InclusionProof p;
    p.position = position;
    p.size = size;
    ASSIGN_OR_RETURN(crypto::Hash leaf, reader.Node(0, position - 1));
    p.leaf_hash = crypto::ToHex(leaf);
    ASSIGN_OR_RETURN(std::vector<crypto::Hash> path,
                     tree::InclusionPath(position - 1, size, reader.Source()));
    for (const auto& h : path) p.hashes.push_back(crypto::ToHex(h));
    return p;
  }

  Result<ConsistencyProof> ProveConsistency(Position from, Position size) override {
    RETURN_IF_ERROR(CheckTreeSize(size, "size"));
    if (from == 0 || from > size)
      return Status::InvalidArgument("from " + std::to_string(from) + " is not in 1.." +
                                     std::to_string(size));
    tree::TileReader reader(store_.get(), size);
    ConsistencyProof p;
    p.from = from;
    p.size = size;
    ASSIGN_OR_RETURN(std::vector<crypto::Hash> path,
                     tree::ConsistencyPath(from, size, reader.Source()));
    for (const auto& h : path) p.hashes.push_back(crypto::ToHex(h));
    return p;
  }

  Result<std::string> StoredValue(Position position) override {
    std::string value;
    bool found = false;
    if (position == 0 || position > GetHead().position)
      return Status::InvalidArgument("position " + std::to_string(position) + " is not in the log");
    RETURN_IF_ERROR(store_->Get(log::Store::kLog, log::PositionKey(position), &value, &found));
    if (!found) return Status::Corruption("position " + std::to_string(position) + " is missing");
    return value;
  }

  Result<BackupPoint> Backup(const std::string& dest) override {
    if (options_.read_only) return Status::FailedPrecondition("the engine is open read-only");
    // One mkdir, not a check then a create: whoever creates `dest` owns it,
    // and a destination that appeared meanwhile is refused, never reused.
    std::string parent = std::filesystem::path(dest).parent_path().string();
    if (!parent.empty()) RETURN_IF_ERROR(files::MakePrivateDirectory(parent));
    if (::mkdir(dest.c_str(), files::kPrivateDirMode) != 0)
      return Status::InvalidArgument("the backup destination " + dest + " cannot be created: " +
                                     std::strerror(errno));
    // The log first: every event it holds had its key written before it, so
    // the key store copied next holds them all (no erasure meanwhile).
    std::lock_guard<std::mutex> no_erasure(erase_backup_mu_);
    RETURN_IF_ERROR(store_->CreateCheckpoint(dest + "/log"));
    RETURN_IF_ERROR(keys_->CreateCheckpoint(dest + "/keys"));
    RETURN_IF_ERROR(files::RestrictTree(dest));
    RETURN_IF_ERROR(files::FsyncDirectory(dest));
    ASSIGN_OR_RETURN(std::unique_ptr<log::Store> copy,
                     log::Store::Open(dest + "/log", /*read_only=*/true, false,
                                      options_.storage.get()));
    std::string key, value;
    bool found = false;
    RETURN_IF_ERROR(copy->Last(log::Store::kLog, &key, &value, &found));
    BackupPoint point;
    point.head = std::string(64, '0');
    if (found) {
      ASSIGN_OR_RETURN(write::StoredMessage m, write::StoredMessage::Decode(value));
      point.position = m.Root().getPosition();
      point.head = crypto::ToHex(m.hash());
    }
    return point;
  }

 private:
  // Parses a request on the caller's thread. Returns the answer when it is
  // known without the writer (malformed, too large, engine read-only).
  // `erasure`: Engine::Erase's own request (PersonalDataErased allowed), and
  // `effective_from_recorded` its date taken from the recordedAt stamped.
  std::optional<AppendOutcome> Prepare(std::string text, admit::AppendRequest& req,
                                       bool erasure = false, bool effective_from_recorded = false) {
    if (options_.read_only) {
      AppendOutcome o;
      o.error = Status::FailedPrecondition("the engine is open read-only");
      return o;
    }
    if (!relais::RoleFromName(req.options.actor.role)) {
      // A caller's bug (the server passes its tokens' roles): never record
      // an event under a role that silently became another.
      AppendOutcome o;
      o.error = Status::InvalidArgument("unknown actor role '" + req.options.actor.role + "'");
      return o;
    }
    if (text.size() > kRequestBytesMax)
      return admit::Refused(admit::MakeRefusal(
          "malformed",
          "the request is " + std::to_string(text.size()) + " bytes, over the limit of " +
              std::to_string(kRequestBytesMax),
          std::nullopt));
    // An editor's byte order mark is named, not left to the JSON parser's
    // "unexpected character" (docs/decisions.md: refused, never stripped).
    if (text.compare(0, 3, "\xEF\xBB\xBF") == 0)
      return admit::Refused(admit::MakeRefusal(
          "malformed",
          "the text starts with a UTF-8 byte order mark (bytes EF BB BF): save the file as "
          "UTF-8 without BOM",
          std::nullopt));
    // Parsing is pure and the costliest step of a small append: do it here, on
    // the caller's thread, so the writer only judges and writes. Its text is
    // interned in the request's own table until the request is accepted.
    InternScope intern;
    req.intern_table = intern.table();
    if (auto err = codec::ParseRequest(text, &req.events, &req.is_batch, erasure))
      return admit::Refused(admit::MakeRefusal("malformed", err->message, err->id));
    if (req.events.size() > kBatchEventsMax)
      return admit::Refused(admit::MakeRefusal(
          "malformed", "a batch holds at most " + std::to_string(kBatchEventsMax) + " events",
          req.events[0].id_text));
    req.seal_keys.resize(req.events.size());
    for (size_t i = 0; i < req.events.size(); ++i) {
      auto& e = req.events[i];
      if (e.type == EventType::kEventCorrected) continue;  // data known only in the writer
      e.full_data = write::DataBytesOf(e.data->getRoot<schema::EventData>().asReader());
      if (effective_from_recorded) {
        e.effective_from_recorded = true;
        continue;  // its date is the writer's to set: encoded there
      }
      auto st = write::PreEncode(e, req.options, [&](schema::StoredEvent::Builder se) {
        return sealer_.SealWithCandidate(e, se, &req.seal_keys[i]);
      });
      if (!st.ok()) {
        AppendOutcome o;
        o.error = st;
        return o;
      }
    }
    return std::nullopt;
  }

  // A writable open brings the tree level with the log (a directory written
  // before the tree existed gets it built here, once); a read-only one only
  // notes whether the stored tree covers the log.
  Status InitTree(Position size) {
    if (options_.read_only) {
      if (!store_->Has(log::Store::kTree)) return Status::Ok();
      ASSIGN_OR_RETURN(uint64_t stored, tree::StoredSize(store_.get()));
      tree_ready_ = stored == size;
      return Status::Ok();
    }
    if (!options_.merkle_tree) {
      judge_.Disable();
      return Status::Ok();
    }
    ASSIGN_OR_RETURN(uint64_t stored, tree::StoredSize(store_.get()));
    if (stored > size)
      return Status::Corruption("the Merkle tree holds " + std::to_string(stored) +
                                " leaves, the log only " + std::to_string(size));
    if (stored < size) {
      RETURN_IF_ERROR(tree::BuildTree(store_.get(), stored, size, options_.tree_progress));
      if (options_.tree_progress) options_.tree_progress(size, size);
    }
    RETURN_IF_ERROR(judge_.LoadTree(size));
    tree_ready_ = true;
    return Status::Ok();
  }

  Status CheckTreeSize(Position size, const char* what) {
    if (!tree_ready_)
      return Status::FailedPrecondition(
          "this data directory has no Merkle tree yet: it is built at its next writable open "
          "(relais import or relais serve)");
    Position head = GetHead().position;
    if (size > head)
      return Status::InvalidArgument(std::string(what) + " " + std::to_string(size) +
                                     " is past the head of the log (" + std::to_string(head) + ")");
    return Status::Ok();
  }

  Result<crypto::Hash> RootAt(Position size) {
    tree::TileReader reader(store_.get(), size);
    return tree::Root(size, reader.Source());
  }

  Result<Timestamp> RecordedAtOf(Position p) {
    std::string value;
    bool found = false;
    RETURN_IF_ERROR(store_->Get(log::Store::kLog, log::PositionKey(p), &value, &found));
    if (!found) return Status::Corruption("position " + std::to_string(p) + " is missing");
    ASSIGN_OR_RETURN(write::StoredMessage m, write::StoredMessage::Decode(value));
    return Timestamp{m.Root().getRecordedAt()};
  }

  Options options_;
  std::unique_ptr<log::Store> store_;
  std::unique_ptr<crypto::KeyStore> keys_;
  write::KeyStoreSource key_source_;
  write::Sealer sealer_;
  // Held by whoever judges and writes (GroupCommitter), and by the stream
  // cache's warm-up while it installs what it read.
  std::mutex writer_mu_;
  cache::StreamCache streams_;
  cache::ReferenceIndex refs_;
  cache::FoldCache folds_;  // the writer's
  cache::ErasedSet erased_;
  // Held by Erase (event and key) and by Backup (log and key store copies).
  std::mutex erase_backup_mu_;
  admit::StoreState state_;
  admit::Admission admission_;
  WriterJudge judge_;
  StoreSink sink_;
  bool tree_ready_ = false;  // the stored tree covers the log (InitTree)
  std::unique_ptr<tree::Checkpointer> checkpointer_;
  // Last: stopped (its threads joined) before the parts it uses go.
  std::unique_ptr<write::GroupCommitter> committer_;
};

Result<std::unique_ptr<Engine>> Engine::Open(const Options& options) {
  crypto::InitOnce();
  if (!options.read_only && options.create_if_missing) {
    // Owner-only from the start: the log and the key store together open
    // every household's personal data.
    RETURN_IF_ERROR(files::MakePrivateDirectory(options.data_dir));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<log::Store> store,
                   log::Store::Open(options.data_dir + "/log", options.read_only,
                                    options.create_if_missing, options.storage.get(),
                                    options.block_cache_bytes));
  ASSIGN_OR_RETURN(std::unique_ptr<crypto::KeyStore> keys,
                   crypto::KeyStore::Open(options.data_dir + "/keys", options.read_only,
                                          options.key_generator, options.storage.get()));
  if (!options.read_only) {
    // Files an older relais (or another tool) left with the umask's modes;
    // files created from now on are owner-only (log::PrivateFileSystem).
    RETURN_IF_ERROR(files::RestrictTree(options.data_dir));
  }
  auto engine = std::make_unique<EngineImpl>(options, std::move(store), std::move(keys));
  RETURN_IF_ERROR(engine->Init());
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace relais
