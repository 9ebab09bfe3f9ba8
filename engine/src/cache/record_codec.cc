#include "cache/record_codec.h"

#include <cstring>
#include <unordered_map>

namespace relais::cache {
namespace {

constexpr uint8_t kMagic = 0x52;

// A new member of Fact or EventRecord must be added to the encoding below,
// to SameRecord and to the round-trip test: these sizes fail the build until
// it is (update them with the codec, never alone). A member whose value
// stored values would not carry also needs a new kSnapshotFormat
// (record_snapshot.h): older values are then ignored and rewritten.
static_assert(sizeof(Fact) == 192, "Fact changed: update cache/record_codec.cc");
static_assert(kBlobTextBytesMax >= schema::K_TEXT_BYTES_MAX, "a stored text must fit a snapshot text");
static_assert(sizeof(EventRecord) == 248, "EventRecord changed: update cache/record_codec.cc");

// The presence mask: bit i set when field i differs from its default.
enum Bit : int {
  kReferral, kDwelling, kEpisode, kPreviousEpisode, kAssociation,
  kTerritory, kTypology, kPurpose, kFlag, kTrack, kSource, kOutcome, kDecision,
  kHasRank, kHasCondition, kConditionDeadline, kHasReason, kAnswer, kContract,
  kHasAssociation, kSlideOutcome, kEndReason, kDestination, kKind, kPauseReason,
  kCloseReason, kObjectives, kAmount, kCount, kStep, kCategory, kTarget,
  kCorrectedEffective, kFactType, kErasureReason,
  kBitCount,
};

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void Varint(uint64_t v) { PutVarint(out_, v); }
  void Signed(int64_t v) { PutVarint(out_, ZigZag(v)); }
  void Byte(uint8_t b) { out_->push_back(static_cast<char>(b)); }
  void Bytes(const void* p, size_t n) { out_->append(static_cast<const char*>(p), n); }
  // The stream's texts: each written once, then named by its index.
  void Text(std::string_view t) {
    auto [it, fresh] = texts_.emplace(t, texts_.size());
    if (!fresh) return Varint(it->second + 1);
    Varint(0);
    Varint(t.size());
    Bytes(t.data(), t.size());
  }

 private:
  std::string* out_;
  std::unordered_map<std::string_view, size_t> texts_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}
  bool ok() const { return ok_; }
  bool done() const { return p_ == end_; }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return Fail();
      uint8_t b = static_cast<uint8_t>(*p_++);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return Fail();
  }
  int64_t Signed() { return UnZigZag(Varint()); }
  uint8_t Byte() {
    if (p_ == end_) return static_cast<uint8_t>(Fail());
    return static_cast<uint8_t>(*p_++);
  }
  void Bytes(void* dst, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) {
      Fail();
      std::memset(dst, 0, n);
      return;
    }
    std::memcpy(dst, p_, n);
    p_ += n;
  }
  std::string_view Text() {
    uint64_t k = Varint();
    if (!ok_) return {};
    if (k > 0) {
      if (k > texts_.size()) return Fail(), std::string_view();
      return texts_[k - 1];
    }
    uint64_t n = Varint();
    if (!ok_ || n > kBlobTextBytesMax || static_cast<uint64_t>(end_ - p_) < n)
      return Fail(), std::string_view();
    std::string_view t = Intern(std::string_view(p_, n));
    p_ += n;
    texts_.push_back(t);
    return t;
  }
  // An enum of the schema: refused when outside its enumerants.
  template <typename E>
  E Enum() {
    static const uint64_t count = capnp::Schema::from<E>().getEnumerants().size();
    uint64_t v = Varint();
    if (v >= count) return Fail(), E{};
    return static_cast<E>(v);
  }
  uint64_t Fail() {
    ok_ = false;
    p_ = end_;
    return 0;
  }

 private:
  const char* p_;
  const char* end_;
  bool ok_ = true;
  std::vector<std::string_view> texts_;
};

const Fact kDefaultFact{};

uint64_t MaskOf(const EventRecord& r) {
  const Fact& f = r.fact;
  const Fact& d = kDefaultFact;
  uint64_t m = 0;
  auto set = [&](bool differs, int bit) { m |= static_cast<uint64_t>(differs) << bit; };
  set(!f.referral_id.empty(), kReferral);
  set(!f.dwelling_id.empty(), kDwelling);
  set(!f.episode_id.empty(), kEpisode);
  set(!f.previous_episode_id.empty(), kPreviousEpisode);
  set(!f.association.empty(), kAssociation);
  set(f.territory != d.territory, kTerritory);
  set(f.typology != d.typology, kTypology);
  set(f.purpose != d.purpose, kPurpose);
  set(f.flag != d.flag, kFlag);
  set(f.track != d.track, kTrack);
  set(f.source != d.source, kSource);
  set(f.outcome != d.outcome, kOutcome);
  set(f.decision != d.decision, kDecision);
  set(f.has_rank != d.has_rank, kHasRank);
  set(f.has_condition != d.has_condition, kHasCondition);
  set(f.condition_deadline.has_value(), kConditionDeadline);
  set(f.has_reason != d.has_reason, kHasReason);
  set(f.answer != d.answer, kAnswer);
  set(f.contract != d.contract, kContract);
  set(f.has_association != d.has_association, kHasAssociation);
  set(f.slide_outcome != d.slide_outcome, kSlideOutcome);
  set(f.end_reason != d.end_reason, kEndReason);
  set(f.destination != d.destination, kDestination);
  set(f.kind != d.kind, kKind);
  set(f.pause_reason != d.pause_reason, kPauseReason);
  set(f.close_reason != d.close_reason, kCloseReason);
  set(!f.objectives.empty(), kObjectives);
  set(f.amount_cents != d.amount_cents, kAmount);
  set(f.count != d.count, kCount);
  set(f.step != d.step, kStep);
  set(f.category != d.category, kCategory);
  set(f.target_id != d.target_id, kTarget);
  // Decoding starts from the event's own date (what an uncorrected record holds).
  set(r.corrected_effective != r.effective, kCorrectedEffective);
  // A correction's fact is its target's: of another type than the record.
  set(f.type != r.type, kFactType);
  set(f.erasure_reason != d.erasure_reason, kErasureReason);
  return m;
}

template <typename E>
uint64_t U(E e) {
  return static_cast<uint64_t>(e);
}

}  // namespace

void EncodeRecords(const std::vector<EventRecord>& records, std::string* out) {
  Writer w(out);
  w.Byte(kMagic);
  w.Varint(records.size());
  Position prev_position = 0;
  StreamVersion prev_version = -1;
  int64_t prev_recorded = 0;
  for (const EventRecord& r : records) {
    w.Varint(r.position - prev_position);
    w.Signed(r.version - prev_version - 1);
    w.Bytes(r.id.bytes.data(), r.id.bytes.size());
    w.Byte(static_cast<uint8_t>(r.type));
    w.Signed(r.effective.days);
    // Wrapping (unsigned) difference: decoding adds it back the same way, and
    // no pair of instants can overflow it.
    w.Signed(static_cast<int64_t>(static_cast<uint64_t>(r.recorded.micros) - static_cast<uint64_t>(prev_recorded)));
    prev_position = r.position;
    prev_version = r.version;
    prev_recorded = r.recorded.micros;
    const uint64_t m = MaskOf(r);
    w.Varint(m);
    const Fact& f = r.fact;
    auto has = [&](int bit) { return (m >> bit) & 1; };
    if (has(kReferral)) w.Text(f.referral_id);
    if (has(kDwelling)) w.Text(f.dwelling_id);
    if (has(kEpisode)) w.Text(f.episode_id);
    if (has(kPreviousEpisode)) w.Text(f.previous_episode_id);
    if (has(kAssociation)) w.Text(f.association);
    if (has(kTerritory)) w.Varint(U(f.territory));
    if (has(kTypology)) w.Varint(U(f.typology));
    if (has(kPurpose)) w.Varint(U(f.purpose));
    // Booleans are carried by the mask bit alone: set means true (the default is false).
    if (has(kTrack)) w.Varint(U(f.track));
    if (has(kSource)) w.Varint(U(f.source));
    if (has(kOutcome)) w.Varint(U(f.outcome));
    if (has(kDecision)) w.Varint(U(f.decision));
    if (has(kConditionDeadline)) w.Signed(f.condition_deadline->days);
    if (has(kAnswer)) w.Varint(U(f.answer));
    if (has(kContract)) w.Varint(U(f.contract));
    if (has(kSlideOutcome)) w.Varint(U(f.slide_outcome));
    if (has(kEndReason)) w.Varint(U(f.end_reason));
    if (has(kDestination)) w.Varint(U(f.destination));
    if (has(kKind)) w.Varint(U(f.kind));
    if (has(kPauseReason)) w.Varint(U(f.pause_reason));
    if (has(kCloseReason)) w.Varint(U(f.close_reason));
    if (has(kObjectives)) {
      w.Varint(f.objectives.size());
      for (const ObjectiveItem& o : f.objectives) {
        w.Text(o.id);
        w.Varint(U(o.domain));
        w.Varint(U(o.status));
      }
    }
    if (has(kAmount)) w.Signed(f.amount_cents);
    if (has(kCount)) w.Signed(f.count);
    if (has(kStep)) w.Varint(U(f.step));
    if (has(kCategory)) w.Varint(U(f.category));
    if (has(kTarget)) w.Bytes(f.target_id.bytes.data(), f.target_id.bytes.size());
    if (has(kCorrectedEffective)) w.Signed(r.corrected_effective.days);
    if (has(kFactType)) w.Byte(static_cast<uint8_t>(f.type));
    if (has(kErasureReason)) w.Varint(U(f.erasure_reason));
  }
}

Status DecodeRecords(std::string_view blob, std::vector<EventRecord>* out) {
  out->clear();
  Reader in(blob);
  if (in.Byte() != kMagic) return Status::Corruption("a record snapshot blob has a bad magic byte");
  const uint64_t count = in.Varint();
  // Each record takes at least 20 bytes: a count beyond that is damage.
  if (!in.ok() || count > kBlobRecordsMax || count > blob.size() / 20)
    return Status::Corruption("a record snapshot blob claims " + std::to_string(count) + " records");
  out->resize(count);
  // Unsigned arithmetic: a damaged delta wraps, it does not overflow (and
  // the checks below refuse what it gives).
  uint64_t position = 0;
  uint64_t version = static_cast<uint64_t>(-1);
  uint64_t recorded = 0;
  for (EventRecord& r : *out) {
    const uint64_t dp = in.Varint();
    if (dp == 0) return Status::Corruption("a record snapshot blob has a position that does not increase");
    position += dp;
    const uint64_t dv = in.Varint();
    if (dv != 0) return Status::Corruption("a record snapshot blob skips a version");
    version += 1;
    r.position = position;
    r.version = static_cast<StreamVersion>(version);
    in.Bytes(r.id.bytes.data(), r.id.bytes.size());
    const uint8_t type = in.Byte();
    if (type >= kEventTypeCount) return Status::Corruption("a record snapshot blob names an unknown event type");
    r.type = static_cast<EventType>(type);
    r.effective.days = static_cast<int32_t>(in.Signed());
    recorded += static_cast<uint64_t>(in.Signed());
    r.recorded.micros = static_cast<int64_t>(recorded);
    const uint64_t m = in.Varint();
    if (m >> kBitCount) return Status::Corruption("a record snapshot blob has an unknown field");
    auto has = [&](int bit) { return (m >> bit) & 1; };
    Fact& f = r.fact;
    f.type = r.type;
    if (has(kReferral)) f.referral_id = in.Text();
    if (has(kDwelling)) f.dwelling_id = in.Text();
    if (has(kEpisode)) f.episode_id = in.Text();
    if (has(kPreviousEpisode)) f.previous_episode_id = in.Text();
    if (has(kAssociation)) f.association = in.Text();
    if (has(kTerritory)) f.territory = in.Enum<sc::Territory>();
    if (has(kTypology)) f.typology = in.Enum<sc::Typology>();
    if (has(kPurpose)) f.purpose = in.Enum<sc::ConsentPurpose>();
    f.flag = has(kFlag);
    if (has(kTrack)) f.track = in.Enum<sc::Track>();
    if (has(kSource)) f.source = in.Enum<sc::ReferralSource>();
    if (has(kOutcome)) f.outcome = in.Enum<sc::ReferralOutcome>();
    if (has(kDecision)) f.decision = in.Enum<sc::CalDecision>();
    f.has_rank = has(kHasRank);
    f.has_condition = has(kHasCondition);
    if (has(kConditionDeadline)) f.condition_deadline = Date{static_cast<int32_t>(in.Signed())};
    f.has_reason = has(kHasReason);
    if (has(kAnswer)) f.answer = in.Enum<sc::OfferAnswer>();
    if (has(kContract)) f.contract = in.Enum<sc::Contract>();
    f.has_association = has(kHasAssociation);
    if (has(kSlideOutcome)) f.slide_outcome = in.Enum<sc::SlideOutcome>();
    if (has(kEndReason)) f.end_reason = in.Enum<sc::EndReason>();
    if (has(kDestination)) f.destination = in.Enum<sc::Destination>();
    if (has(kKind)) f.kind = in.Enum<sc::SupportKind>();
    if (has(kPauseReason)) f.pause_reason = in.Enum<sc::PauseReason>();
    if (has(kCloseReason)) f.close_reason = in.Enum<sc::CloseReason>();
    if (has(kObjectives)) {
      const uint64_t n = in.Varint();
      if (!in.ok() || n > blob.size()) return Status::Corruption("a record snapshot blob claims too many objectives");
      f.objectives.resize(n);
      for (ObjectiveItem& o : f.objectives) {
        o.id = in.Text();
        o.domain = in.Enum<sc::ObjectiveDomain>();
        o.status = in.Enum<sc::ObjectiveStatus>();
      }
    }
    if (has(kAmount)) f.amount_cents = in.Signed();
    if (has(kCount)) f.count = static_cast<int32_t>(in.Signed());
    if (has(kStep)) f.step = in.Enum<sc::EvictionStep>();
    if (has(kCategory)) f.category = in.Enum<sc::DifficultyCategory>();
    if (has(kTarget)) in.Bytes(f.target_id.bytes.data(), f.target_id.bytes.size());
    r.corrected_effective = r.effective;
    if (has(kCorrectedEffective)) r.corrected_effective.days = static_cast<int32_t>(in.Signed());
    if (has(kFactType)) {
      const uint8_t ft = in.Byte();
      if (ft >= kEventTypeCount) return Status::Corruption("a record snapshot blob names an unknown fact type");
      f.type = static_cast<EventType>(ft);
    }
    if (has(kErasureReason)) f.erasure_reason = in.Enum<sc::ErasureReason>();
    if (!in.ok()) return Status::Corruption("a record snapshot blob is truncated or damaged");
  }
  if (!in.done()) return Status::Corruption("a record snapshot blob has bytes after its records");
  return Status::Ok();
}

bool SameRecord(const EventRecord& a, const EventRecord& b, std::string* what) {
  auto differs = [&](bool d, const char* name) {
    if (d && what) *what = name;
    return d;
  };
  const Fact& x = a.fact;
  const Fact& y = b.fact;
  bool same_objectives = x.objectives.size() == y.objectives.size();
  for (size_t i = 0; same_objectives && i < x.objectives.size(); ++i)
    same_objectives = x.objectives[i].id == y.objectives[i].id &&
                      x.objectives[i].domain == y.objectives[i].domain &&
                      x.objectives[i].status == y.objectives[i].status;
  return !(differs(a.position != b.position, "position") || differs(a.version != b.version, "version") ||
           differs(a.id != b.id, "id") || differs(a.type != b.type, "type") ||
           differs(a.effective != b.effective, "effectiveDate") ||
           differs(a.recorded != b.recorded, "recordedAt") ||
           differs(a.corrected_effective != b.corrected_effective, "corrected effectiveDate") ||
           differs(x.type != y.type, "fact type") || differs(x.referral_id != y.referral_id, "referralId") ||
           differs(x.dwelling_id != y.dwelling_id, "dwellingId") ||
           differs(x.episode_id != y.episode_id, "episodeId") ||
           differs(x.previous_episode_id != y.previous_episode_id, "previousEpisodeId") ||
           differs(x.association != y.association, "association") ||
           differs(x.territory != y.territory, "territory") || differs(x.typology != y.typology, "typology") ||
           differs(x.purpose != y.purpose, "purpose") || differs(x.flag != y.flag, "flag") ||
           differs(x.track != y.track, "track") || differs(x.source != y.source, "source") ||
           differs(x.outcome != y.outcome, "outcome") || differs(x.decision != y.decision, "decision") ||
           differs(x.has_rank != y.has_rank, "rank") || differs(x.has_condition != y.has_condition, "condition") ||
           differs(x.condition_deadline != y.condition_deadline, "condition deadline") ||
           differs(x.has_reason != y.has_reason, "reason") || differs(x.answer != y.answer, "answer") ||
           differs(x.contract != y.contract, "contract") ||
           differs(x.has_association != y.has_association, "has association") ||
           differs(x.slide_outcome != y.slide_outcome, "slide outcome") ||
           differs(x.end_reason != y.end_reason, "end reason") ||
           differs(x.destination != y.destination, "destination") || differs(x.kind != y.kind, "kind") ||
           differs(x.pause_reason != y.pause_reason, "pause reason") ||
           differs(x.close_reason != y.close_reason, "close reason") ||
           differs(!same_objectives, "objectives") || differs(x.amount_cents != y.amount_cents, "amount") ||
           differs(x.count != y.count, "count") || differs(x.step != y.step, "step") ||
           differs(x.category != y.category, "category") || differs(x.target_id != y.target_id, "target id") ||
           differs(x.erasure_reason != y.erasure_reason, "erasure reason"));
}

}  // namespace relais::cache
