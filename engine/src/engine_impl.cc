// The engine: stream cache, the single writer with group commit, and reads.
//
// Appends are parsed on the caller's thread, then judged and committed by one
// writer thread. The writer takes every request waiting in the queue as one
// group: it judges them in order (each sees the ones accepted before it), puts
// the accepted ones in one RocksDB WriteBatch, writes it (synced if any request
// asked for durability) and only then publishes the new records to readers and
// answers the callers. A group that fails to write answers every accepted
// request with an error and leaves the engine failed (read-only): nothing that
// was not written is ever shown.
#include <capnp/message.h>
#include <pthread.h>
#include <sys/stat.h>
#include <capnp/serialize.h>

#include <algorithm>
#include <bit>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "codec/codec.h"
#include "crypto/crypto.h"
#include "crypto/keystore.h"
#include "log/log_format.h"
#include "log/store.h"
#include "relais/domain.h"
#include "relais/engine.h"
#include "relais/files.h"

namespace relais {

namespace {

class SystemClockImpl : public Clock {
 public:
  Timestamp Now() override {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return Timestamp{std::chrono::duration_cast<std::chrono::microseconds>(now).count()};
  }
};

// A decoded stored event: keeps the aligned words alive for the reader.
class StoredMessage {
 public:
  // `value` is hash(32) || canonical StoredEvent.
  static Result<StoredMessage> Decode(std::string_view value) {
    if (value.size() < log::kHashBytes + 8 || (value.size() - log::kHashBytes) % 8 != 0)
      return Status::Corruption("stored event has a bad length " + std::to_string(value.size()));
    StoredMessage m;
    std::memcpy(m.hash_.data(), value.data(), log::kHashBytes);
    size_t n = (value.size() - log::kHashBytes) / 8;
    m.words_ = kj::heapArray<capnp::word>(n);
    std::memcpy(m.words_.begin(), value.data() + log::kHashBytes, n * 8);
    // Heap-held so that the reader's view survives moving the message.
    m.segments_ = std::make_unique<kj::ArrayPtr<const capnp::word>[]>(1);
    m.segments_[0] = m.words_.asPtr();
    if (auto bad = codec::CheckStoredEvent(m.segments_[0])) return Status::Corruption(*bad);
    m.reader_ = std::make_unique<capnp::SegmentArrayMessageReader>(
        kj::arrayPtr(m.segments_.get(), 1));
    return m;
  }
  schema::StoredEvent::Reader Root() const { return reader_->getRoot<schema::StoredEvent>(); }
  const crypto::Hash& hash() const { return hash_; }
  std::string_view Bytes() const {
    return {reinterpret_cast<const char*>(words_.begin()), words_.size() * 8};
  }

 private:
  crypto::Hash hash_{};
  kj::Array<capnp::word> words_;
  std::unique_ptr<kj::ArrayPtr<const capnp::word>[]> segments_;
  std::unique_ptr<capnp::SegmentArrayMessageReader> reader_;
};

Uuid IdOf(capnp::Data::Reader d) {
  return UuidFromBytes({reinterpret_cast<const char*>(d.begin()), d.size()});
}

EventRecord RecordOf(schema::StoredEvent::Reader se, const Subject& subject) {
  EventRecord r;
  r.position = se.getPosition();
  r.version = se.getVersion();
  r.id = IdOf(se.getId());
  r.effective = Date{se.getEffectiveDate()};
  r.recorded = Timestamp{se.getRecordedAt()};
  r.fact = codec::ToFact(se.getData(), subject);
  r.type = r.fact.type;
  r.corrected_effective = r.effective;
  return r;
}

// Canonical bytes are a single segment without a segment table; FlatArray
// readers want a table, so wrap them.
std::string WithSegmentTable(std::string canonical) {
  std::string out(8, '\0');
  uint32_t words = static_cast<uint32_t>(canonical.size() / 8);
  std::memcpy(out.data() + 4, &words, 4);  // segment count - 1 = 0, then size
  return out + canonical;
}

std::string DataBytesOf(schema::EventData::Reader d) {
  return WithSegmentTable(codec::Canonical(d));
}

// Folds one correction into the target's current data.
void ApplyCorrection(schema::EventData::Reader correction, std::string* target_data,
                     Date* target_effective) {
  auto c = correction.getEventCorrected();
  if (c.getEffectiveDate() != schema::K_NO_DATE) *target_effective = Date{c.getEffectiveDate()};
  if (!c.hasData()) return;
  capnp::FlatArrayMessageReader base_reader(kj::arrayPtr(
      reinterpret_cast<const capnp::word*>(target_data->data()), target_data->size() / 8));
  auto merged = codec::MergeData(base_reader.getRoot<schema::EventData>(), c.getData(),
                                 c.getFields());
  *target_data = DataBytesOf(merged->getRoot<schema::EventData>().asReader());
}

std::optional<schema::Role> RoleFromName(std::string_view name) {
  auto es = capnp::Schema::from<schema::Role>();
  for (uint16_t i = 0; i < es.getEnumerants().size(); ++i)
    if (codec::EnumNameOf(es, i) == name) return static_cast<schema::Role>(i);
  return std::nullopt;
}

struct StreamEntry {
  std::shared_mutex mu;
  bool loaded = false;
  // Removed from the cache (it held no event): whoever still holds it must
  // look the stream up again before adding to it.
  bool dead = false;
  Subject subject;
  std::vector<EventRecord> records;  // committed, in position order
};

struct Request {
  std::vector<codec::ParsedEvent> events;
  bool is_batch = false;
  AppendOptions options;
  std::promise<AppendOutcome> promise;
  // The key each pre-encoded event's personal data was sealed with (nullopt:
  // nothing sealed). For a household with no key yet, a candidate that the
  // writer adopts at acceptance, or replaces (re-sealing) when another
  // request's candidate was adopted first.
  std::vector<std::optional<crypto::Key>> seal_keys;
  // The request's own table of interned text (InternScope): dropped with the
  // request unless it is accepted (InternFact).
  std::shared_ptr<void> intern_table;
};

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

}  // namespace

std::shared_ptr<Clock> SystemClock() { return std::make_shared<SystemClockImpl>(); }

class EngineImpl : public Engine {
 public:
  EngineImpl(Options options, std::unique_ptr<log::Store> store,
             std::unique_ptr<crypto::KeyStore> keys)
      : options_(std::move(options)), store_(std::move(store)), keys_(std::move(keys)) {}

  ~EngineImpl() override { Close(); }

  Status Init() {
    std::string key, value;
    bool found = false;
    RETURN_IF_ERROR(store_->Last(log::Store::kLog, &key, &value, &found));
    w_last_hash_.fill(0);
    if (found) {
      ASSIGN_OR_RETURN(StoredMessage m, StoredMessage::Decode(value));
      auto se = m.Root();
      if (se.getPosition() != log::GetBE64(key))
        return Status::Corruption("the last log entry's position does not match its key");
      w_next_position_ = se.getPosition() + 1;
      w_last_hash_ = m.hash();
      w_last_recorded_ = Timestamp{se.getRecordedAt()};
    }
    PublishHead();
    if (!options_.read_only) writer_ = std::thread([this] { WriterLoop(); });
    return Status::Ok();
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
    std::vector<std::unique_ptr<Request>> ready;
    futures.reserve(texts.size());
    for (auto& text : texts) {
      auto req = std::make_unique<Request>();
      req->options = options;
      futures.push_back(req->promise.get_future());
      if (auto answer = Prepare(std::move(text), *req)) {
        req->promise.set_value(std::move(*answer));
      } else {
        ready.push_back(std::move(req));
      }
    }
    if (ready.empty()) return futures;
    if (ready.size() == 1 && options.sync && LeadAppend(ready[0])) return futures;
    std::unique_lock<std::mutex> lock(queue_mu_);
    for (auto& req : ready) {
      queue_space_cv_.wait(lock, [&] { return queue_.size() < kWriterQueueMax || stopping_; });
      if (stopping_) {
        AppendOutcome o;
        o.error = Status::FailedPrecondition("the engine is closing");
        req->promise.set_value(std::move(o));
        continue;
      }
      queue_.push_back(std::move(req));
      if (queue_.size() == 1) queue_cv_.notify_one();
    }
    queue_cv_.notify_one();
    return futures;
  }

  // A durable request that finds the writer idle (nothing queued, nothing in
  // flight) is judged and written on the caller's own thread, as RocksDB's
  // write thread lets its leader write: a lone append then costs its fsync,
  // not two thread hand-offs. Returns false (and leaves `req`) otherwise.
  bool LeadAppend(std::unique_ptr<Request>& req) {
    std::unique_lock<std::mutex> writing(writer_mu_, std::try_to_lock);
    if (!writing.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (!queue_.empty() || stopping_) return false;
    }
    if (!failed_.ok()) return false;  // the writer thread answers with the error
    Flight flight;
    flight.g.next_position = w_next_position_;
    flight.g.last_hash = w_last_hash_;
    flight.g.last_recorded = w_last_recorded_;
    flight.outcomes.push_back(Judge(*req, flight.g));
    flight.g.sync = true;  // a lead request is a durable one
    flight.batch.push_back(std::move(req));
    if (flight.g.batch.Count() > 0) {
      Finish(flight, Commit(flight.g));
    } else {
      AnswerDurably(flight);
    }
    return true;
  }

  // Parses a request on the caller's thread. Returns the answer when it is
  // known without the writer (malformed, too large, engine read-only).
  std::optional<AppendOutcome> Prepare(std::string text, Request& req) {
    if (options_.read_only) {
      AppendOutcome o;
      o.error = Status::FailedPrecondition("the engine is open read-only");
      return o;
    }
    if (!RoleFromName(req.options.actor.role)) {
      // A caller's bug (the server passes its tokens' roles): never record
      // an event under a role that silently became another.
      AppendOutcome o;
      o.error = Status::InvalidArgument("unknown actor role '" + req.options.actor.role + "'");
      return o;
    }
    if (text.size() > kRequestBytesMax)
      return Refused(MakeRefusal("malformed",
                                 "the request is " + std::to_string(text.size()) +
                                     " bytes, over the limit of " + std::to_string(kRequestBytesMax),
                                 std::nullopt));
    // Parsing is pure and the costliest step of a small append: do it here, on
    // the caller's thread, so the writer only judges and writes. Its text is
    // interned in the request's own table until the request is accepted.
    InternScope intern;
    req.intern_table = intern.table();
    if (auto err = codec::ParseRequest(text, &req.events, &req.is_batch))
      return Refused(MakeRefusal("malformed", err->message, err->id));
    if (req.events.size() > kBatchEventsMax)
      return Refused(MakeRefusal("malformed",
                                 "a batch holds at most " + std::to_string(kBatchEventsMax) + " events",
                                 req.events[0].id_text));
    req.seal_keys.resize(req.events.size());
    for (size_t i = 0; i < req.events.size(); ++i) {
      auto& e = req.events[i];
      if (e.type == EventType::kEventCorrected) continue;  // data known only in the writer
      e.full_data = DataBytesOf(e.data->getRoot<schema::EventData>().asReader());
      auto st = PreEncode(e, req.options, &req.seal_keys[i]);
      if (!st.ok()) {
        AppendOutcome o;
        o.error = st;
        return o;
      }
    }
    return std::nullopt;
  }

  // Placeholders: non-zero, so that the canonical encoding keeps every word of
  // the envelope's data section and the real values fit the same bytes.
  static constexpr uint64_t kPlaceholder64 = ~uint64_t{0};
  static constexpr uint32_t kPlaceholder32 = ~uint32_t{0};
  // Offsets in the canonical StoredEvent: the root pointer is word 0 and the
  // root struct's data section follows it (checked in PreEncode).
  static constexpr size_t kPositionOffset = 8, kVersionOffset = 16, kRecordedAtOffset = 24;
  // Patched with memcpy: Cap'n Proto's wire format is little-endian.
  static_assert(std::endian::native == std::endian::little);

  // Fills the stored envelope of an event except position, version, recordedAt
  // and prevHash, which the writer patches in.
  Status PreEncode(codec::ParsedEvent& e, const AppendOptions& opt,
                   std::optional<crypto::Key>* sealed_with) {
    capnp::MallocMessageBuilder msg(1024);
    auto se = msg.initRoot<schema::StoredEvent>();
    EncodeEnvelope(e, opt, kPlaceholder64, kPlaceholder32, Timestamp{static_cast<int64_t>(kPlaceholder64)}, se);
    // Off the writer: the household's key if it has one, else a candidate.
    // Never a key created here: only the writer creates keys (Adopt).
    RETURN_IF_ERROR(SealInto(e, se, [&]() -> Result<crypto::Key> {
      ASSIGN_OR_RETURN(std::optional<crypto::Key> k, keys_->Find(e.subject.text));
      if (k) return *k;
      return keys_->NewKey();
    }, sealed_with));
    uint8_t placeholder_hash[32];
    std::memset(placeholder_hash, 0xff, sizeof placeholder_hash);
    se.setPrevHash(capnp::Data::Reader(placeholder_hash, 32));
    kj::Array<capnp::word> words = capnp::canonicalize(se.asReader());
    auto bytes = words.asBytes();
    // Locate prevHash through a reader on the canonical words themselves.
    kj::ArrayPtr<const capnp::word> segment = words.asPtr();
    capnp::SegmentArrayMessageReader reader(kj::arrayPtr(&segment, 1));
    auto root = reader.getRoot<schema::StoredEvent>();
    auto ph = root.getPrevHash();
    e.prev_hash_offset = static_cast<size_t>(ph.begin() - bytes.begin());
    e.pre_stored.assign(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
    uint64_t pos;
    std::memcpy(&pos, e.pre_stored.data() + kPositionOffset, 8);
    if (pos != kPlaceholder64 || root.getVersion() != kPlaceholder32 || ph.size() != 32)
      return Status::Internal("the stored envelope's layout is not the expected one");
    return Status::Ok();
  }

  void EncodeEnvelope(const codec::ParsedEvent& e, const AppendOptions& opt, Position position,
                      uint32_t version, Timestamp recorded, schema::StoredEvent::Builder se) {
    se.setPosition(position);
    se.setVersion(version);
    se.setId(capnp::Data::Reader(e.id.bytes.data(), 16));
    se.setSubject(e.subject.text);
    se.setEffectiveDate(e.effective.days);
    se.setRecordedAt(recorded.micros);
    auto actor = se.initActor();
    if (e.actor) {
      actor.setId(e.actor->id);
      actor.setRole(e.actor->role);
      actor.setOrg(e.actor->org);
    } else {
      actor.setId(opt.actor.id);
      actor.setRole(*RoleFromName(opt.actor.role));  // checked in Prepare
      actor.setOrg(opt.actor.org);
    }
    se.setData(e.data->getRoot<schema::EventData>().asReader());
  }

  // Moves the personal fields of a household event into `sealed`, sealed
  // with the key `key_for` gives (asked only when there is something to
  // seal); `sealed_with` tells which.
  Status SealInto(const codec::ParsedEvent& e, schema::StoredEvent::Builder se,
                  const std::function<Result<crypto::Key>()>& key_for,
                  std::optional<crypto::Key>* sealed_with) {
    *sealed_with = std::nullopt;
    if (e.subject.kind != StreamKind::kHousehold) return Status::Ok();
    capnp::MallocMessageBuilder personal(256);
    if (!codec::SplitPersonal(se.getData(), personal.initRoot<schema::EventData>()))
      return Status::Ok();
    ASSIGN_OR_RETURN(crypto::Key key, key_for());
    *sealed_with = key;
    std::string sealed =
        crypto::Seal(key, e.id, codec::Canonical(personal.getRoot<schema::EventData>().asReader()));
    se.setSealed(capnp::Data::Reader(reinterpret_cast<const uint8_t*>(sealed.data()), sealed.size()));
    return Status::Ok();
  }

  Status Sync() override {
    if (options_.read_only) return Status::Ok();
    // Keys need no sync here: each group's are written synced before its
    // events (KeyStore::WritePending). Under the writer's lock: no group is
    // in flight, and a failed sync stops the writer as a failed write does.
    std::lock_guard<std::mutex> writing(writer_mu_);
    if (!failed_.ok()) return failed_;
    Status st = store_->SyncWal();
    if (!st.ok()) {
      failed_ = Status(st.code(), "the engine stopped after a failed sync (reopen it once the disk "
                                  "is sound): " + st.message());
      return st;
    }
    w_unsynced_ = false;
    return st;
  }

  void Close() override {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (stopping_ && !writer_.joinable()) return;
      stopping_ = true;
    }
    queue_cv_.notify_all();
    queue_space_cv_.notify_all();
    {
      std::lock_guard<std::mutex> lock(head_mu_);
      closing_heads_ = true;
    }
    head_cv_.notify_all();
    if (writer_.joinable()) {
      writer_.join();
      // A caller leading its own append finishes before the store closes.
      std::lock_guard<std::mutex> writing(writer_mu_);
      // A clean close leaves no log to replay: the next open is quick.
      if (failed_.ok()) (void)store_->FlushMemtables();
    }
  }

  // ------------------------------------------------------------------- reads

  Head GetHead() override {
    std::lock_guard<std::mutex> lock(head_mu_);
    return head_;
  }

  Position WaitForHead(Position after, int64_t timeout_ms) override {
    std::unique_lock<std::mutex> lock(head_mu_);
    head_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return head_.position > after || closing_heads_; });
    return head_.position;
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
    ASSIGN_OR_RETURN(std::shared_ptr<StreamEntry> e, LoadedEntry(subject));
    std::shared_lock<std::shared_mutex> lock(e->mu);
    fn(e->records);
    return Status::Ok();
  }

  Result<std::vector<std::string>> HouseholdsReferencing(std::string_view dwelling_id) override {
    std::lock_guard<std::mutex> lock(refs_mu_);
    ASSIGN_OR_RETURN(const std::set<std::string>* set, RefsLocked(std::string(dwelling_id)));
    return std::vector<std::string>(set->begin(), set->end());
  }

  Result<std::vector<StoredEventView>> ReadStreamEvents(const Subject& subject) override {
    ASSIGN_OR_RETURN(std::vector<std::string> values, StreamValues(subject));
    std::vector<StoredEventView> out;
    out.reserve(values.size());
    for (const std::string& value : values) {
      ASSIGN_OR_RETURN(StoredEventView v, View(value));
      out.push_back(std::move(v));
    }
    return out;
  }

  Result<std::vector<Subject>> ListStreams() override {
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

  Status WarmAll(const std::function<void(Position, Position)>& progress) override {
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

  // One warm-up scan. False when the writer dropped the cache meanwhile.
  Result<bool> WarmOnce(const std::function<void(Position, Position)>& progress, uint64_t generation) {
    Position head = GetHead().position;
    // The log is scanned in two halves on two threads: decoding an event
    // into its record is the cost, not reading it. Each stream's vector gets
    // its exact final size up front, from the stream index (growing a
    // million small vectors by doubling would leave a third of the memory as
    // slack), and each half writes its own slots of it: the first half from
    // index 0, the second from the count of the stream's events in the first.
    const Position mid = head >= 20000 ? head / 2 : head;
    struct Loading {
      Subject subject;
      std::vector<EventRecord> records;
      size_t next_first = 0;   // written by the first half only
      size_t next_second = 0;  // written by the second half only
      size_t in_first = 0;
    };
    std::unordered_map<std::string, Loading> streams;
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
        r = RecordOf(se, loading.subject);
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
        RETURN_IF_ERROR(RecordsFromValues(loading->subject, vals, &loading->records));
      }
    }
    // The final phase holds the writer's lock: no group is judged, in flight
    // or being published meanwhile, so every group committed after `head` is
    // in the store and was published (or skipped, for a stream the cache did
    // not hold) before this point, and no writer holds pointers into the
    // records replaced below (WorkingRecords).
    std::lock_guard<std::mutex> writing(writer_mu_);
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
                                   auto m = StoredMessage::Decode(v);
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

  Status VisitStreams(StreamKind kind, int shard, int shards,
                      const std::function<void(const Subject&, const std::vector<EventRecord>&)>& fn) override {
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

  Status Scan(Position from, const std::function<bool(const StoredEventView&)>& fn) override {
    Status inner;
    RETURN_IF_ERROR(store_->Scan(log::Store::kLog, {}, log::PositionKey(std::max<Position>(from, 1)),
                                 [&](std::string_view, std::string_view v) {
                                   auto view = View(v);
                                   if (!view.ok()) {
                                     inner = view.status();
                                     return false;
                                   }
                                   return fn(*view);
                                 }));
    return inner;
  }

  VerifyReport Verify(const std::function<void(Position, Position)>& progress) override;

  EngineStats Stats() override {
    EngineStats st;
    {
      std::lock_guard<std::mutex> lock(cache_mu_);
      st.cached_streams = static_cast<int64_t>(cache_.size());
    }
    st.cached_events = cached_events_.load();
    st.cached_keys = static_cast<int64_t>(keys_->CachedKeys());
    st.interned_bytes = static_cast<int64_t>(InternedBytes());
    return st;
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
    // the key store copied next holds them all.
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
      ASSIGN_OR_RETURN(StoredMessage m, StoredMessage::Decode(value));
      point.position = m.Root().getPosition();
      point.head = crypto::ToHex(m.hash());
    }
    return point;
  }

 private:
  friend class WriterCross;

  // ------------------------------------------------------------ decoding

  Result<Timestamp> RecordedAtOf(Position p) {
    std::string value;
    bool found = false;
    RETURN_IF_ERROR(store_->Get(log::Store::kLog, log::PositionKey(p), &value, &found));
    if (!found) return Status::Corruption("position " + std::to_string(p) + " is missing");
    ASSIGN_OR_RETURN(StoredMessage m, StoredMessage::Decode(value));
    return Timestamp{m.Root().getRecordedAt()};
  }

  // The event's data with its personal fields put back. `*unsealed` is false
  // when the event has sealed personal data that cannot be opened (its key is
  // gone or does not open it): the data then holds only their placeholders,
  // which are not values and must not be shown as such. A key store read
  // error is an error, never "no key".
  Result<std::unique_ptr<capnp::MallocMessageBuilder>> FullData(schema::StoredEvent::Reader se,
                                                                const std::string& subject,
                                                                bool* unsealed) {
    auto msg = std::make_unique<capnp::MallocMessageBuilder>(512);
    msg->setRoot(se.getData());
    *unsealed = true;
    if (!se.hasSealed()) return msg;
    ASSIGN_OR_RETURN(std::optional<crypto::Key> key, keys_->Find(subject));
    *unsealed = false;
    if (!key) return msg;
    auto sealed = se.getSealed();
    auto plain = crypto::Open(*key, IdOf(se.getId()),
                              {reinterpret_cast<const char*>(sealed.begin()), sealed.size()});
    if (!plain || plain->size() % 8 != 0) return msg;
    std::string framed = WithSegmentTable(*plain);
    capnp::FlatArrayMessageReader pr(kj::arrayPtr(
        reinterpret_cast<const capnp::word*>(framed.data()), framed.size() / 8));
    codec::MergePersonal(msg->getRoot<schema::EventData>(), pr.getRoot<schema::EventData>());
    *unsealed = true;
    return msg;
  }

  Result<StoredEventView> View(std::string_view value) {
    ASSIGN_OR_RETURN(StoredMessage m, StoredMessage::Decode(value));
    auto se = m.Root();
    StoredEventView v;
    std::string why;
    auto subject = ParseSubject(se.getSubject().cStr(), &why);
    if (!subject) return Status::Corruption("stored subject is invalid: " + why);
    v.subject = std::move(*subject);
    v.record = RecordOf(se, v.subject);
    v.actor.id = se.getActor().getId().cStr();
    v.actor.role = std::string(codec::RoleName(se.getActor().getRole()));
    v.actor.org = se.getActor().getOrg().cStr();
    v.hash = crypto::ToHex(m.hash());
    auto prev = se.getPrevHash();
    v.prev_hash = crypto::ToHex(prev.begin(), prev.size());
    bool unsealed = true;
    ASSIGN_OR_RETURN(auto full, FullData(se, v.subject.text, &unsealed));
    JsonWriter w;
    codec::DataToJson(full->getRoot<schema::EventData>().asReader(), w,
                      unsealed ? codec::PersonalFields::kShow : codec::PersonalFields::kOmit);
    v.data_json = w.Take();
    return v;
  }

  // --------------------------------------------------------- stream cache

  Result<std::shared_ptr<StreamEntry>> LoadedEntry(const Subject& subject) {
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
        RETURN_IF_ERROR(LoadRecords(subject, &e->records));
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

  void Forget(const std::string& text, const std::shared_ptr<StreamEntry>& e) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = cache_.find(text);
    if (it == cache_.end() || it->second != e) return;
    std::unique_lock<std::shared_mutex> entry_lock(e->mu);
    if (!e->records.empty()) return;
    e->dead = true;
    cache_.erase(it);
  }

  // The stored values of a stream's events, in position order: the stream
  // index names the positions, one multi-get reads them.
  Result<std::vector<std::string>> StreamValues(const Subject& subject) {
    // A new stream (the common case in an import) is answered by the stream
    // family's bloom filters without a seek.
    std::string first;
    bool exists = false;
    RETURN_IF_ERROR(store_->Get(log::Store::kStream, log::StreamKey(subject.text, 0), &first, &exists));
    if (!exists) return std::vector<std::string>();
    std::vector<std::string> keys;
    RETURN_IF_ERROR(store_->Scan(log::Store::kStream, log::StreamPrefix(subject.text), {},
                                 [&](std::string_view, std::string_view v) {
                                   keys.push_back(std::string(v.substr(0, 8)));
                                   return true;
                                 }));
    std::vector<std::string> values;
    std::vector<bool> found;
    RETURN_IF_ERROR(store_->MultiGet(log::Store::kLog, keys, &values, &found));
    for (size_t i = 0; i < values.size(); ++i)
      if (!found[i])
        return Status::Corruption("the stream index of " + subject.text +
                                  " names a missing position " +
                                  std::to_string(log::GetBE64(keys[i])));
    return values;
  }

  Status LoadRecords(const Subject& subject, std::vector<EventRecord>* out) {
    ASSIGN_OR_RETURN(std::vector<std::string> values, StreamValues(subject));
    return RecordsFromValues(subject, values, out);
  }

  // Decodes a stream's stored values (position order) into records, folding
  // each correction into its target's data as it comes.
  Status RecordsFromValues(const Subject& subject, const std::vector<std::string>& values,
                           std::vector<EventRecord>* out) {
    out->clear();
    out->reserve(values.size());
    // Data of corrected targets, folded as their corrections come (position order).
    std::unordered_map<Uuid, std::pair<std::string, Date>, UuidHash> current;
    for (size_t i = 0; i < values.size(); ++i) {
      ASSIGN_OR_RETURN(StoredMessage m, StoredMessage::Decode(values[i]));
      auto se = m.Root();
      EventRecord r = RecordOf(se, subject);
      if (r.type == EventType::kEventCorrected) {
        auto it = current.find(r.fact.target_id);
        if (it == current.end()) {
          // Find the target among the records read so far.
          for (size_t j = 0; j < i; ++j)
            if ((*out)[j].id == r.fact.target_id) {
              ASSIGN_OR_RETURN(StoredMessage tm, StoredMessage::Decode(values[j]));
              it = current
                       .emplace(r.fact.target_id,
                                std::make_pair(DataBytesOf(tm.Root().getData()), (*out)[j].effective))
                       .first;
              break;
            }
        }
        if (it != current.end()) {
          ApplyCorrection(se.getData(), &it->second.first, &it->second.second);
          capnp::FlatArrayMessageReader mr(kj::arrayPtr(
              reinterpret_cast<const capnp::word*>(it->second.first.data()),
              it->second.first.size() / 8));
          Fact merged = codec::ToFact(mr.getRoot<schema::EventData>(), subject);
          merged.target_id = r.fact.target_id;
          r.fact = std::move(merged);
          r.corrected_effective = it->second.second;
        }
      }
      out->push_back(std::move(r));
    }
    return Status::Ok();
  }

  // Households referencing a dwelling (refs_mu_ held).
  Result<const std::set<std::string>*> RefsLocked(const std::string& dwelling) {
    auto it = refs_.find(dwelling);
    if (it != refs_.end()) return &it->second;
    std::set<std::string> set;
    std::string prefix = dwelling;
    prefix.push_back('\0');
    RETURN_IF_ERROR(store_->Scan(log::Store::kRef, prefix, {}, [&](std::string_view k, std::string_view) {
      set.insert(std::string(k.substr(prefix.size())));
      return true;
    }));
    return &refs_.emplace(dwelling, std::move(set)).first->second;
  }

  void PublishHead() {
    {
      std::lock_guard<std::mutex> lock(head_mu_);
      head_.position = w_next_position_ - 1;
      head_.hash = crypto::ToHex(w_last_hash_);
      head_.recorded_at = w_last_recorded_;
    }
    head_cv_.notify_all();
  }

  // --------------------------------------------------------------- writer

  struct GroupEvent {
    Position position = 0;
    StreamVersion version = 0;
    std::string subject;
    EventType type = EventType::kHouseholdRegistered;
    Date effective;
    std::string full_data;  // framed canonical EventData, personal fields included
  };

  struct Group {
    rocksdb::WriteBatch batch;
    std::map<std::string, std::vector<EventRecord>> pending;  // by subject
    std::unordered_map<Uuid, GroupEvent, UuidHash> ids;
    std::unordered_map<Position, const GroupEvent*> by_position;
    std::set<std::pair<std::string, std::string>> new_refs;  // (dwelling, household)
    bool sync = false;
    // The chain's tip including the requests accepted so far in this group.
    Position next_position = 1;
    crypto::Hash last_hash{};
    Timestamp last_recorded;
    // The group being written while this one is judged (pipelining), or null.
    // Everything it accepted counts as recorded for this group's judgement.
    const Group* prev = nullptr;

    const GroupEvent* FindId(const Uuid& id) const {
      for (const Group* x = this; x; x = x->prev)
        if (auto it = x->ids.find(id); it != x->ids.end()) return &it->second;
      return nullptr;
    }
    const GroupEvent* AtPosition(Position p) const {
      for (const Group* x = this; x; x = x->prev)
        if (auto it = x->by_position.find(p); it != x->by_position.end()) return it->second;
      return nullptr;
    }
    bool HasNewRef(const std::pair<std::string, std::string>& ref) const {
      for (const Group* x = this; x; x = x->prev)
        if (x->new_refs.count(ref)) return true;
      return false;
    }
  };

  // A group whose write runs on the committer thread while the writer judges
  // the next one.
  struct Flight {
    Group g;
    std::vector<std::unique_ptr<Request>> batch;
    std::vector<AppendOutcome> outcomes;
  };

  // A request's working view: committed + pending + the request's own events.
  struct Working {
    std::map<std::string, std::vector<EventRecord>> fresh;  // by subject, request events
    std::vector<std::string> order;                          // subjects, first-seen order
    std::unordered_map<Position, std::string> fresh_data;    // framed canonical data
  };

  void WriterLoop();
  void Finish(Flight& f, const Status& written);
  void FailAll(Flight& f);
  // After a write refused for lack of space (and only then: a failed fsync
  // may have lost what the kernel held, so it is never retried in place):
  // leaves RocksDB's error state and takes the chain's tip from the store.
  void TryResume();
  void Answer(Flight& f);
  // Answer, after syncing the log when unsynced events exist (the answers
  // of a durable request with nothing to write).
  void AnswerDurably(Flight& f);
  AppendOutcome Judge(Request& req, Group& g);
  Status Commit(Group& g);
  void Publish(Group& g);

  Result<std::vector<const EventRecord*>> WorkingRecords(const std::string& subject_text,
                                                         const Group& g, const Working& w,
                                                         std::shared_ptr<StreamEntry>* keep) {
    std::string why;
    auto subject = ParseSubject(subject_text, &why);
    if (!subject) return Status::Internal(why);
    ASSIGN_OR_RETURN(*keep, LoadedEntry(*subject));
    std::vector<const EventRecord*> out;
    for (const auto& r : (*keep)->records) out.push_back(&r);
    // A stream first loaded while the previous group's write was landing may
    // already hold some of that group's events: skip what the load has.
    const Position loaded = (*keep)->records.empty() ? 0 : (*keep)->records.back().position;
    for (const Group* x : {g.prev, &g}) {
      if (!x) continue;
      if (auto it = x->pending.find(subject_text); it != x->pending.end())
        for (const auto& r : it->second)
          if (r.position > loaded) out.push_back(&r);
    }
    if (auto it = w.fresh.find(subject_text); it != w.fresh.end())
      for (const auto& r : it->second) out.push_back(&r);
    return out;
  }

  // The framed canonical data of an event of the working view, by position.
  Result<std::string> DataAt(Position p, const Group& g, const Working& w) {
    if (auto it = w.fresh_data.find(p); it != w.fresh_data.end()) return it->second;
    if (const GroupEvent* ge = g.AtPosition(p)) return ge->full_data;
    std::string value;
    bool found = false;
    RETURN_IF_ERROR(store_->Get(log::Store::kLog, log::PositionKey(p), &value, &found));
    if (!found) return Status::Corruption("position " + std::to_string(p) + " is missing");
    ASSIGN_OR_RETURN(StoredMessage m, StoredMessage::Decode(value));
    return DataBytesOf(m.Root().getData());
  }

  Options options_;
  std::unique_ptr<log::Store> store_;
  std::unique_ptr<crypto::KeyStore> keys_;

  // Runs one group's write at a time on its own thread (see WriterLoop).
  class Committer {
   public:
    Committer() : thread_([this] { Run(); }) {}
    ~Committer() {
      {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
      }
      cv_.notify_all();
      thread_.join();
    }
    void Start(std::function<Status()> job) {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = std::move(job);
      done_ = false;
      cv_.notify_all();
    }
    Status Wait() {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return done_; });
      return result_;
    }

   private:
    void Run() {
      pthread_setname_np(pthread_self(), "relais-commit");
      std::unique_lock<std::mutex> lock(mu_);
      for (;;) {
        cv_.wait(lock, [&] { return stop_ || job_; });
        if (!job_) return;
        auto job = std::move(job_);
        job_ = nullptr;
        lock.unlock();
        Status st = job();
        lock.lock();
        result_ = std::move(st);
        done_ = true;
        cv_.notify_all();
      }
    }
    std::mutex mu_;
    std::condition_variable cv_;
    std::function<Status()> job_;
    Status result_;
    bool done_ = true;
    bool stop_ = false;
    std::thread thread_;
  };

  // Whoever judges and writes holds it: the writer thread, or a caller
  // leading its own append (LeadAppend). Guards the writer state below
  // (w_*, folds_, failed_) and the publication of records.
  std::mutex writer_mu_;
  std::mutex queue_mu_;
  std::condition_variable queue_cv_, queue_space_cv_;
  std::deque<std::unique_ptr<Request>> queue_;
  bool stopping_ = false;
  std::thread writer_;
  Committer committer_;
  Status failed_;  // writer thread only

  std::mutex cache_mu_;
  std::unordered_map<std::string, std::shared_ptr<StreamEntry>> cache_;
  std::atomic<int64_t> cached_events_{0};
  // After WarmAll: every stream is in cache_, and subjects_ lists them.
  bool warmed_ = false;
  // Bumped whenever the writer drops the whole cache: a WarmAll whose scan
  // spans a drop starts over rather than insert what it read before it.
  uint64_t cache_generation_ = 0;
  std::set<std::string> subjects_;

  std::mutex refs_mu_;
  std::unordered_map<std::string, std::set<std::string>> refs_;

  std::mutex head_mu_;
  std::condition_variable head_cv_;
  bool closing_heads_ = false;  // wakes WaitForHead callers at Close
  Head head_;

  // Writer-thread state: each stream's folded state after its committed and
  // pending events, so that an append at the end of a stream's effective order
  // (the common case) is checked against it in O(1) instead of re-folding the
  // whole stream. Back-dated events and corrections take the full path.
  struct FoldCache {
    HouseholdState household;
    DwellingState dwelling;
    Date last_effective{INT32_MIN};
  };
  std::unordered_map<std::string, FoldCache> folds_;
  Result<FoldCache*> FoldFor(const std::string& subject, const Group& g);

  // Writer-thread state: the chain's tip as of the last committed group.
  Position w_next_position_ = 1;
  crypto::Hash w_last_hash_{};
  Timestamp w_last_recorded_;
  // Whether committed groups exist that were written without a sync since
  // the last synced write.
  bool w_unsynced_ = false;
};

// Cross-stream facts for the household rules, from the working view.
class WriterCross : public CrossStream {
 public:
  WriterCross(EngineImpl* e, const EngineImpl::Group* g, const EngineImpl::Working* w)
      : e_(e), g_(g), w_(w) {}

  std::optional<Date> DwellingRegisteredOn(std::string_view dwelling_id) const override {
    std::shared_ptr<StreamEntry> keep;
    auto records = e_->WorkingRecords("dwelling/" + std::string(dwelling_id), *g_, *w_, &keep);
    if (!records.ok()) {
      error_ = records.status();
      return std::nullopt;
    }
    for (const auto& t : BuildTimeline(*records, UINT64_MAX, std::nullopt))
      if (t.fact->type == EventType::kDwellingRegistered) return t.effective;
    return std::nullopt;
  }

  std::vector<OccupancyInterval> OtherOccupancies(std::string_view dwelling_id,
                                                  std::string_view self) const override {
    std::vector<OccupancyInterval> out;
    for (const std::string& h : Referencing(dwelling_id)) {
      if (h == self) continue;
      std::shared_ptr<StreamEntry> keep;
      auto records = e_->WorkingRecords("household/" + h, *g_, *w_, &keep);
      if (!records.ok()) {
        error_ = records.status();
        continue;
      }
      auto timeline = BuildTimeline(*records, UINT64_MAX, std::nullopt);
      for (auto& o : ExtractOccupancies(h, timeline))
        if (o.dwelling_id == dwelling_id) out.push_back(std::move(o));
    }
    return out;
  }

  bool DwellingReferenced(std::string_view dwelling_id) const override {
    return !Referencing(dwelling_id).empty();
  }

  const Status& error() const { return error_; }

 private:
  std::set<std::string> Referencing(std::string_view dwelling_id) const {
    std::set<std::string> out;
    {
      std::lock_guard<std::mutex> lock(e_->refs_mu_);
      auto refs = e_->RefsLocked(std::string(dwelling_id));
      if (refs.ok()) {
        out = **refs;
      } else {
        error_ = refs.status();
      }
    }
    for (const EngineImpl::Group* x = g_; x; x = x->prev)
      for (const auto& [d, h] : x->new_refs)
        if (d == dwelling_id) out.insert(h);
    for (const auto& [subject, records] : w_->fresh)
      for (const auto& r : records)
        if (r.fact.dwelling_id == dwelling_id && subject.rfind("household/", 0) == 0)
          out.insert(subject.substr(10));
    return out;
  }

  EngineImpl* e_;
  const EngineImpl::Group* g_;
  const EngineImpl::Working* w_;
  mutable Status error_;
};

void EngineImpl::FailAll(Flight& f) {
  // Every outcome was judged on top of what failed to land: an acceptance, a
  // duplicate of an event never written, a refusal because of one. None
  // stands; the caller learns that the engine failed, nothing else.
  for (auto& o : f.outcomes) {
    o = AppendOutcome();
    o.error = failed_;
  }
}

void EngineImpl::AnswerDurably(Flight& f) {
  // Nothing to write, but the verdicts rest on events that may not be synced
  // yet (an earlier bulk group): sync them before a durable answer.
  if (w_unsynced_) {
    Status st = store_->SyncWal();
    if (!st.ok()) {
      if (failed_.ok()) failed_ = Status(st.code(), "the engine stopped after a failed sync: " + st.message());
      FailAll(f);
    } else {
      w_unsynced_ = false;
    }
  }
  Answer(f);
}

void EngineImpl::Answer(Flight& f) {
  for (size_t i = 0; i < f.batch.size(); ++i) f.batch[i]->promise.set_value(std::move(f.outcomes[i]));
}

void EngineImpl::Finish(Flight& f, const Status& written) {
  if (!written.ok()) {
    if (failed_.ok()) {
      failed_ = written.code() == StatusCode::kResourceExhausted
                    ? Status(written.code(), "appends are refused until space is freed: " + written.message())
                    : Status(written.code(), "the engine stopped after a failed write (reopen it once the "
                                             "disk is sound): " + written.message());
    }
    // The judged state assumed this group landed.
    folds_.clear();
    FailAll(f);
  } else {
    w_next_position_ = f.g.next_position;
    w_last_hash_ = f.g.last_hash;
    w_last_recorded_ = f.g.last_recorded;
    // A synced write syncs the whole WAL, earlier unsynced groups included.
    w_unsynced_ = !f.g.sync;
    Publish(f.g);
  }
  Answer(f);
}

void EngineImpl::WriterLoop() {
  pthread_setname_np(pthread_self(), "relais-writer");
  std::unique_ptr<Flight> inflight;
  // Held while this thread judges, writes or has a group in flight: a caller
  // that finds the writer idle may then write its own request (LeadAppend).
  std::unique_lock<std::mutex> writing(writer_mu_, std::defer_lock);
  for (;;) {
    std::vector<std::unique_ptr<Request>> batch;
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      if (inflight && queue_.empty()) {
        // Nothing to judge meanwhile: land the group being written.
        lock.unlock();
        Finish(*inflight, committer_.Wait());
        inflight.reset();
        continue;
      }
      if (!inflight && writing.owns_lock()) writing.unlock();
      queue_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty() && stopping_) return;
      // Take everything waiting: these requests share one write and one sync.
      while (!queue_.empty()) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    queue_space_cv_.notify_all();
    if (!writing.owns_lock()) writing.lock();
    if (!inflight) TryResume();

    auto flight = std::make_unique<Flight>();
    Group& g = flight->g;
    g.prev = inflight ? &inflight->g : nullptr;
    g.next_position = g.prev ? g.prev->next_position : w_next_position_;
    g.last_hash = g.prev ? g.prev->last_hash : w_last_hash_;
    g.last_recorded = g.prev ? g.prev->last_recorded : w_last_recorded_;
    flight->batch = std::move(batch);
    auto& outcomes = flight->outcomes;
    outcomes.reserve(flight->batch.size());
    for (auto& req : flight->batch) {
      if (!failed_.ok()) {
        AppendOutcome o;
        o.error = failed_;
        outcomes.push_back(std::move(o));
        continue;
      }
      outcomes.push_back(Judge(*req, g));
      // Any durable request makes the group's write durable: a duplicate or
      // a refusal is judged on earlier (maybe unsynced) events too.
      if (req->options.sync) g.sync = true;
    }
    // The previous group's write ran meanwhile: publish it, answer it.
    if (inflight) {
      Finish(*inflight, committer_.Wait());
      inflight.reset();
      g.prev = nullptr;
      if (!failed_.ok()) FailAll(*flight);  // judged on a group that did not land
    }
    if (g.batch.Count() == 0 || !failed_.ok()) {
      if (failed_.ok() && g.sync) {
        AnswerDurably(*flight);
      } else {
        Answer(*flight);
      }
      continue;
    }
    bool more_waiting;
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      more_waiting = !queue_.empty();
    }
    // Durable groups are not pipelined: their fsync dominates, and while the
    // writer waits for it the queue fills, so the next group is larger and
    // one fsync acknowledges more requests. Bulk (non-synced) groups are
    // CPU-bound: writing one while judging the next uses both cores.
    if (more_waiting && !g.sync) {
      // Write this group on the committer thread while the next is judged.
      committer_.Start([this, f = flight.get()] { return Commit(f->g); });
      inflight = std::move(flight);
    } else {
      // Nothing else waiting: write here and answer at once (no hand-off
      // latency for a lone durable append).
      Finish(*flight, Commit(g));
    }

    // The cache only grows with what is read or written; past its limit, drop
    // it between groups (everything in it is committed and can be reloaded),
    // never while a group is being written.
    if (!inflight && cached_events_ > 8'000'000) {
      std::lock_guard<std::mutex> lock(cache_mu_);
      ++cache_generation_;
      for (auto& [text, entry] : cache_) {
        std::unique_lock<std::shared_mutex> entry_lock(entry->mu);
        entry->dead = true;
      }
      cache_.clear();
      cached_events_ = 0;
      folds_.clear();
      warmed_ = false;
      subjects_.clear();
    }
  }
}

Status EngineImpl::Commit(Group& g) {
  // The keys first, synced, whatever the group's own durability: RocksDB may
  // persist the log's memtable at any moment after its write.
  RETURN_IF_ERROR(keys_->WritePending());
  return store_->Write(&g.batch, g.sync);
}

void EngineImpl::TryResume() {
  if (failed_.ok() || failed_.code() != StatusCode::kResourceExhausted) return;
  if (!keys_->Resume().ok() || !store_->Resume().ok()) return;
  // The failed group wrote nothing (a refused write is not applied), but read
  // the tip back rather than trust that.
  std::string key, value;
  bool found = false;
  if (!store_->Last(log::Store::kLog, &key, &value, &found).ok()) return;
  Position next = 1;
  crypto::Hash hash{};
  Timestamp recorded = w_last_recorded_;
  if (found) {
    auto m = StoredMessage::Decode(value);
    if (!m.ok()) return;
    next = m->Root().getPosition() + 1;
    hash = m->hash();
    recorded = Timestamp{m->Root().getRecordedAt()};
  }
  if (next != w_next_position_ || hash != w_last_hash_) {
    failed_ = Status::Internal("after a full disk, the log's tip is not the one the writer knew");
    return;
  }
  w_last_recorded_ = recorded;
  folds_.clear();
  failed_ = Status::Ok();
}

void EngineImpl::Publish(Group& g) {
  for (auto& [subject, records] : g.pending) {
    // At most twice: an entry found empty may be forgotten (Forget) between
    // the lookup and its lock; the second lookup then creates a fresh one.
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::shared_ptr<StreamEntry> e;
      {
        std::lock_guard<std::mutex> lock(cache_mu_);
        auto it = cache_.find(subject);
        if (it == cache_.end()) {
          if (!warmed_) break;
          // Warm cache: a new stream joins it, loaded from the start.
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
  {
    std::lock_guard<std::mutex> lock(refs_mu_);
    for (const auto& [d, h] : g.new_refs)
      if (auto it = refs_.find(d); it != refs_.end()) it->second.insert(h);
  }
  PublishHead();
}

AppendOutcome EngineImpl::Judge(Request& req, Group& g) {
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
      const GroupEvent* ge = g.FindId(e.fact.target_id);
      if (ge && ge->subject == e.subject.text) target_type = ge->type;
    }
    if (!target_type) {
      auto entry = LoadedEntry(e.subject);
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
                  ? DataBytesOf(events[i].data->getRoot<schema::EventData>().asReader())
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
    if (const GroupEvent* ge = g.FindId(e.id)) {
      existing = *ge;
      found = true;
    } else {
      std::string value;
      Status st = store_->Get(log::Store::kId, e.id.AsBytes(), &value, &found);
      if (!st.ok()) return engine_error(st);
      if (found) {
        Position p = log::GetBE64(value);
        std::string ev;
        bool f2 = false;
        st = store_->Get(log::Store::kLog, log::PositionKey(p), &ev, &f2);
        if (!st.ok()) return engine_error(st);
        if (!f2) return engine_error(Status::Corruption("the id index names a missing position"));
        auto m = StoredMessage::Decode(ev);
        if (!m.ok()) return engine_error(m.status());
        auto se = m->Root();
        existing.position = p;
        existing.version = se.getVersion();
        existing.subject = se.getSubject().cStr();
        existing.type = codec::TypeOf(se.getData());
        existing.effective = Date{se.getEffectiveDate()};
        bool unsealed = true;
        auto fd = FullData(se, existing.subject, &unsealed);
        if (!fd.ok()) return engine_error(fd.status());
        // An event whose personal data cannot be opened cannot be compared
        // with a re-sent one: refuse rather than guess (id_conflict below).
        existing.full_data = unsealed ? DataBytesOf((*fd)->getRoot<schema::EventData>().asReader())
                                      : std::string();
      }
    }
    if (!found) continue;
    bool same = existing.type == e.type && existing.subject == e.subject.text &&
                existing.effective == e.effective && existing.full_data == full[i];
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
  Working w;
  std::map<std::string, StreamVersion> version, first_version;
  for (const auto& e : events) {
    if (!version.count(e.subject.text)) {
      std::shared_ptr<StreamEntry> keep;
      auto working = WorkingRecords(e.subject.text, g, Working(), &keep);
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
    std::string got;
    bool exists = false;
    Status st = store_->Get(log::Store::kStream, log::StreamKey(subject, v), &got, &exists);
    if (!st.ok()) return engine_error(st);
    if (exists)
      return engine_error(Status::Internal("stream " + subject + " already has a version " +
                                           std::to_string(v) + ": the writer's view is stale"));
  }

  // --- transaction time.
  Timestamp last = g.last_recorded;
  std::vector<Timestamp> stamps(events.size());
  Timestamp now = (options_.clock ? options_.clock : SystemClock())->Now();
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
    const auto& e = events[i];
    Date today = UtcDate(stamps[i]);
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

  // --- the rules: build the request's records at their tentative positions.
  const Position next = g.next_position;
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
    auto records = WorkingRecords(events[i].subject.text, g, w, &keep);
    if (!records.ok()) return engine_error(records.status());
    const EventRecord* target = nullptr;
    for (const EventRecord* x : *records)
      if (x->id == r.fact.target_id && x->position < r.position) target = x;
    if (!target || IsCorrection(target->type)) continue;  // target_not_found, below
    auto data = DataAt(target->position, g, w);
    if (!data.ok()) return engine_error(data.status());
    std::string current = *data;
    Date eff = target->effective;
    for (const EventRecord* x : *records) {
      if (x->position >= r.position) break;
      if (x->type == EventType::kEventCorrected && x->fact.target_id == r.fact.target_id) {
        auto cd = DataAt(x->position, g, w);
        if (!cd.ok()) return engine_error(cd.status());
        capnp::FlatArrayMessageReader cr(kj::arrayPtr(
            reinterpret_cast<const capnp::word*>(cd->data()), cd->size() / 8));
        ApplyCorrection(cr.getRoot<schema::EventData>(), &current, &eff);
      }
    }
    ApplyCorrection(events[i].data->getRoot<schema::EventData>().asReader(), &current, &eff);
    capnp::FlatArrayMessageReader mr(
        kj::arrayPtr(reinterpret_cast<const capnp::word*>(current.data()), current.size() / 8));
    Uuid target_id = r.fact.target_id;
    r.fact = codec::ToFact(mr.getRoot<schema::EventData>(), events[i].subject);
    r.fact.target_id = target_id;
    r.corrected_effective = eff;
  }

  WriterCross cross(this, &g, &w);

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
    auto fc = FoldFor(e.subject.text, g);
    if (!fc.ok()) return engine_error(fc.status());
    auto [it, first] = last_date.try_emplace(e.subject.text, (*fc)->last_effective);
    if (e.effective < it->second) fast = false;
    it->second = e.effective;
    // An occupancy started and ended in one batch needs its full interval.
    if (++per_stream[e.subject.text] > 1 &&
        (e.type == EventType::kOccupancyEnded || e.type == EventType::kEvictionStepRecorded))
      fast = false;
  }
  std::map<std::string, FoldCache> scratch;  // copies, for streams with several new events
  if (fast) {
    for (size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      if (e.subject.kind == StreamKind::kTerritory) continue;
      FoldCache* fc = &folds_[e.subject.text];
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
        if (e.subject.kind == StreamKind::kHousehold) {
          EvolveHousehold(fc->household, e.fact, e.effective);
        } else {
          EvolveDwelling(fc->dwelling, e.fact, e.effective);
        }
        fc->last_effective = e.effective;
      }
    }
  }

  std::unordered_set<const EventRecord*> fresh_set(fresh_ptrs.begin(), fresh_ptrs.end());
  for (const std::string& subject : (fast ? std::vector<std::string>{} : w.order)) {
    std::shared_ptr<StreamEntry> keep;
    auto records = WorkingRecords(subject, g, w, &keep);
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
  std::map<std::string, crypto::Key> adopt;
  auto key_of = [&](const codec::ParsedEvent& e,
                    const std::optional<crypto::Key>& candidate) -> Result<crypto::Key> {
    if (auto it = adopt.find(e.subject.text); it != adopt.end()) return it->second;
    ASSIGN_OR_RETURN(std::optional<crypto::Key> k, keys_->Find(e.subject.text));
    if (k) return *k;
    return adopt.emplace(e.subject.text, candidate ? *candidate : keys_->NewKey()).first->second;
  };
  crypto::Hash prev = g.last_hash;
  std::vector<std::string> values(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    const EventRecord& r = *fresh_ptrs[i];
    std::string bytes;
    bool pre_encoded = !e.pre_stored.empty() && r.recorded.micros != 0;
    if (pre_encoded && i < req.seal_keys.size() && req.seal_keys[i]) {
      // Sealed off the writer: re-seal if another request's key for this
      // household was adopted since (two first events racing).
      auto key = key_of(e, req.seal_keys[i]);
      if (!key.ok()) return engine_error(key.status());
      if (*key != *req.seal_keys[i]) pre_encoded = false;
    }
    if (pre_encoded) {
      bytes = e.pre_stored;
      uint64_t position = r.position;
      uint32_t version = static_cast<uint32_t>(r.version);
      int64_t recorded = r.recorded.micros;
      std::memcpy(bytes.data() + kPositionOffset, &position, 8);
      std::memcpy(bytes.data() + kVersionOffset, &version, 4);
      std::memcpy(bytes.data() + kRecordedAtOffset, &recorded, 8);
      std::memcpy(bytes.data() + e.prev_hash_offset, prev.data(), prev.size());
    } else {
      capnp::MallocMessageBuilder msg(1024);
      auto se = msg.initRoot<schema::StoredEvent>();
      EncodeEnvelope(e, opt, r.position, static_cast<uint32_t>(r.version), r.recorded, se);
      std::optional<crypto::Key> sealed_with;
      if (Status st = SealInto(e, se, [&] { return key_of(e, std::nullopt); }, &sealed_with); !st.ok())
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
    std::lock_guard<std::mutex> lock(refs_mu_);
    auto refs = RefsLocked(std::string(r.fact.dwelling_id));
    if (!refs.ok()) return engine_error(refs.status());
    ref_known[i] = (*refs)->count(std::string(e.subject.id())) > 0;
  }

  // --- into the group.
  for (const auto& [household, key] : adopt) {
    auto adopted = keys_->Adopt(household, key);
    if (!adopted.ok()) return engine_error(adopted.status());
    // The writer is the only adopter, and it found no key above.
    if (*adopted != key) return engine_error(Status::Internal("the key of " + household + " changed under the writer"));
  }
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
      FoldCache& fc = folds_[e.subject.text];
      if (e.subject.kind == StreamKind::kHousehold) {
        EvolveHousehold(fc.household, e.fact, e.effective);
      } else {
        EvolveDwelling(fc.dwelling, e.fact, e.effective);
      }
      fc.last_effective = e.effective;
    }
  } else {
    for (const auto& subject : w.order) folds_.erase(subject);
  }
  AppendOutcome out;
  out.kind = AppendOutcome::Kind::kAccepted;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    EventRecord& r = *fresh_ptrs[i];
    std::string pos_value;
    log::PutBE64(&pos_value, r.position);
    g.batch.Put(store_->handle(log::Store::kLog), log::PositionKey(r.position), values[i]);
    g.batch.Put(store_->handle(log::Store::kStream), log::StreamKey(e.subject.text, r.version),
                pos_value);
    g.batch.Put(store_->handle(log::Store::kId), e.id.AsBytes(), pos_value);
    if (e.subject.kind == StreamKind::kHousehold && !r.fact.dwelling_id.empty()) {
      std::pair<std::string, std::string> ref(r.fact.dwelling_id, std::string(e.subject.id()));
      if (!ref_known[i] && !g.HasNewRef(ref) && g.new_refs.insert(ref).second)
        g.batch.Put(store_->handle(log::Store::kRef), log::RefKey(ref.first, ref.second), "");
    }
    GroupEvent ge{r.position, r.version, e.subject.text, e.type, e.effective, full[i]};
    auto [it, inserted] = g.ids.emplace(e.id, std::move(ge));
    g.by_position[r.position] = &it->second;
    out.results.push_back({e.id_text, r.position, r.version, false});
  }
  g.next_position = next + events.size();
  g.last_hash = prev;
  g.last_recorded = last;
  for (size_t i = 0; i < events.size(); ++i)
    g.pending[events[i].subject.text].push_back(std::move(*fresh_ptrs[i]));
  return out;
}

Result<EngineImpl::FoldCache*> EngineImpl::FoldFor(const std::string& subject, const Group& g) {
  auto it = folds_.find(subject);
  if (it != folds_.end()) return &it->second;
  Working none;
  std::shared_ptr<StreamEntry> keep;
  ASSIGN_OR_RETURN(auto records, WorkingRecords(subject, g, none, &keep));
  FoldCache fc;
  bool household = subject.rfind("household/", 0) == 0;
  for (const auto& t : BuildTimeline(records, UINT64_MAX, std::nullopt)) {
    if (household) {
      EvolveHousehold(fc.household, *t.fact, t.effective);
    } else {
      EvolveDwelling(fc.dwelling, *t.fact, t.effective);
    }
    fc.last_effective = t.effective;
  }
  return &folds_.emplace(subject, std::move(fc)).first->second;
}

VerifyReport EngineImpl::Verify(const std::function<void(Position, Position)>& progress) {
  VerifyReport rep;
  auto bad = [&](Position p, std::string problem) {
    if (rep.ok) {
      rep.ok = false;
      rep.first_bad_position = p;
      rep.problem = std::move(problem);
    }
  };
  // One snapshot for the whole check: with writers running, the log and its
  // indexes read at different moments would disagree.
  std::unique_ptr<log::Store::Snapshot> snap = store_->TakeSnapshot();
  Position head_position = 0;
  {
    std::string k, v;
    bool found = false;
    if (store_->Last(log::Store::kLog, &k, &v, &found, snap.get()).ok() && found && k.size() == 8)
      head_position = log::GetBE64(k);
  }
  crypto::Hash prev{};
  Position expected = 1;
  std::unordered_map<std::string, StreamVersion> versions;
  // (dwelling, household) pairs the household events name: the ref index
  // must hold each of them.
  std::set<std::string> expected_refs;
  int64_t last_recorded = INT64_MIN;
  Status st = store_->Scan(log::Store::kLog, {}, {}, [&](std::string_view key, std::string_view value) {
    Position p = key.size() == 8 ? log::GetBE64(key) : 0;
    if (p != expected) {
      bad(expected, "the log has no event at position " + std::to_string(expected) +
                        " (next key is position " + std::to_string(p) + ")");
      return false;
    }
    auto m = StoredMessage::Decode(value);
    if (!m.ok()) {
      bad(p, m.status().message());
      return false;
    }
    auto se = m->Root();
    if (crypto::Sha256(m->Bytes()) != m->hash()) {
      bad(p, "the stored hash does not match the event's bytes (tampered or corrupt)");
      return false;
    }
    auto ph = se.getPrevHash();
    if (ph.size() != 32 || std::memcmp(ph.begin(), prev.data(), 32) != 0) {
      bad(p, "prevHash does not match the hash of the previous event (chain broken)");
      return false;
    }
    if (se.getPosition() != p) {
      bad(p, "the event's position field disagrees with its key");
      return false;
    }
    // Transaction time never goes back (events.md §1; PositionAt relies on it).
    if (se.getRecordedAt() < last_recorded) {
      bad(p, "recordedAt is earlier than the previous event's");
      return false;
    }
    last_recorded = se.getRecordedAt();
    std::string subject = se.getSubject().cStr();
    if (subject.rfind("household/", 0) == 0) {
      std::string why;
      Fact f = codec::ToFact(se.getData(), *ParseSubject(subject, &why));
      if (!f.dwelling_id.empty()) expected_refs.insert(log::RefKey(f.dwelling_id, subject.substr(10)));
      // Sealed personal data opens with the household's key: a lost or
      // replaced key is damage, not an empty field.
      if (se.hasSealed()) {
        auto key = keys_->Find(subject);
        if (!key.ok()) {
          bad(p, key.status().message());
          return false;
        }
        if (!*key) {
          bad(p, "the key of " + subject + " is missing: the event's personal data cannot be opened");
          return false;
        }
        auto sealed = se.getSealed();
        if (!crypto::Open(**key, IdOf(se.getId()),
                          {reinterpret_cast<const char*>(sealed.begin()), sealed.size()})) {
          bad(p, "the event's personal data does not open with the key of " + subject);
          return false;
        }
      }
    }
    StreamVersion& v = versions.try_emplace(subject, -1).first->second;
    if (static_cast<StreamVersion>(se.getVersion()) != v + 1) {
      bad(p, "stream " + subject + " version " + std::to_string(se.getVersion()) +
                 " is not the next one (" + std::to_string(v + 1) + ")");
      return false;
    }
    v += 1;
    // Indexes, from the log's side.
    std::string pos_value, got;
    log::PutBE64(&pos_value, p);
    bool found = false;
    Status s = store_->Get(log::Store::kStream, log::StreamKey(subject, se.getVersion()), &got, &found,
                           snap.get());
    if (!s.ok() || !found || got != pos_value) {
      bad(p, "the stream index does not point to this event");
      return false;
    }
    s = store_->Get(log::Store::kId, {reinterpret_cast<const char*>(se.getId().begin()), se.getId().size()},
                    &got, &found, snap.get());
    if (!s.ok() || !found || got != pos_value) {
      bad(p, "the id index does not point to this event");
      return false;
    }
    prev = m->hash();
    ++rep.events;
    if (progress && p % 50000 == 0) progress(p, head_position);
    ++expected;
    return true;
  }, snap.get());
  if (!st.ok()) bad(expected, st.message());
  if (!rep.ok) return rep;
  // Indexes, from their side: no entry may point elsewhere or past the end.
  int64_t stream_entries = 0, id_entries = 0;
  st = store_->Scan(log::Store::kStream, {}, {}, [&](std::string_view, std::string_view v) {
    ++stream_entries;
    if (v.size() != 8 || log::GetBE64(v) == 0 || log::GetBE64(v) > static_cast<Position>(rep.events)) {
      bad(v.size() == 8 ? log::GetBE64(v) : 0, "the stream index has an entry outside the log");
      return false;
    }
    return true;
  }, snap.get());
  if (st.ok() && rep.ok)
    st = store_->Scan(log::Store::kId, {}, {}, [&](std::string_view, std::string_view v) {
      ++id_entries;
      if (v.size() != 8 || log::GetBE64(v) == 0 || log::GetBE64(v) > static_cast<Position>(rep.events)) {
        bad(v.size() == 8 ? log::GetBE64(v) : 0, "the id index has an entry outside the log");
        return false;
      }
      return true;
    }, snap.get());
  // The ref index: every pair a household event names is there, and every
  // entry names a household stream of the log (a correction may add a pair
  // its target did not name, so extra pairs of known households are fine).
  if (st.ok() && rep.ok)
    st = store_->Scan(log::Store::kRef, {}, {}, [&](std::string_view k, std::string_view) {
      size_t zero = k.find('\0');
      std::string household = zero == std::string_view::npos ? "" : "household/" + std::string(k.substr(zero + 1));
      if (!versions.count(household)) {
        bad(rep.events, "the dwelling reference index names a household with no event: " + household);
        return false;
      }
      expected_refs.erase(std::string(k));
      return true;
    }, snap.get());
  if (st.ok() && rep.ok && !expected_refs.empty()) {
    const std::string& missing = *expected_refs.begin();
    bad(rep.events, "the dwelling reference index lacks household " + missing.substr(missing.find('\0') + 1) +
                        " for dwelling " + missing.substr(0, missing.find('\0')));
  }
  if (!st.ok()) bad(expected, st.message());
  if (rep.ok && (stream_entries != rep.events || id_entries != rep.events))
    bad(rep.events, "the indexes hold " + std::to_string(stream_entries) + " stream and " +
                        std::to_string(id_entries) + " id entries for " +
                        std::to_string(rep.events) + " events");
  // Every block of every table file, index and filter blocks included (a
  // flipped byte the scans above did not read), in the log and the key store.
  if (rep.ok) {
    Status sums = store_->VerifyChecksums();
    if (sums.ok()) sums = keys_->VerifyChecksums();
    if (!sums.ok()) bad(rep.events, sums.message());
  }
  rep.head = crypto::ToHex(prev);
  return rep;
}

Result<std::unique_ptr<Engine>> Engine::Open(const Options& options) {
  crypto::InitOnce();
  if (!options.read_only && options.create_if_missing) {
    // Owner-only from the start: the log and the key store together open
    // every household's personal data.
    RETURN_IF_ERROR(files::MakePrivateDirectory(options.data_dir));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<log::Store> store,
                   log::Store::Open(options.data_dir + "/log", options.read_only,
                                    options.create_if_missing, options.storage.get()));
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
