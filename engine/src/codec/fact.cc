// Stored data -> domain Fact: the one mapping from Cap'n Proto to domain values.
#include <capnp/serialize.h>

#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "codec/codec.h"

namespace relais::codec {

namespace {

std::optional<Date> OptDate(int32_t days) {
  if (days == schema::K_NO_DATE) return std::nullopt;
  return Date{days};
}

std::string_view Str(capnp::Text::Reader t) { return Intern(std::string_view(t.cStr(), t.size())); }

}  // namespace

static_assert(static_cast<int>(schema::EventData::EVENT_RETRACTED) ==
              static_cast<int>(EventType::kEventRetracted));
static_assert(static_cast<int>(schema::EventData::PERSONAL_DATA_ERASED) ==
              static_cast<int>(EventType::kPersonalDataErased));
static_assert(static_cast<int>(EventType::kPersonalDataErased) + 1 == kEventTypeCount);
static_assert(static_cast<int>(schema::EventData::DWELLING_REGISTERED) ==
              static_cast<int>(EventType::kDwellingRegistered));

EventType TypeOf(schema::EventData::Reader data) {
  return static_cast<EventType>(data.which());
}

Fact ToFact(schema::EventData::Reader d, const Subject& subject) {
  using D = schema::EventData;
  Fact f;
  f.type = TypeOf(d);
  switch (d.which()) {
    case D::HOUSEHOLD_REGISTERED:
      f.territory = d.getHouseholdRegistered().getTerritory();
      break;
    case D::CONSENT_RECORDED: {
      auto x = d.getConsentRecorded();
      f.purpose = x.getPurpose();
      f.flag = x.getGiven();
      break;
    }
    case D::HOUSEHOLD_REFERRED: {
      auto x = d.getHouseholdReferred();
      f.referral_id = Str(x.getReferralId());
      f.track = x.getTrack();
      f.source = x.getSource();
      break;
    }
    case D::REFERRAL_DECIDED: {
      auto x = d.getReferralDecided();
      f.referral_id = Str(x.getReferralId());
      f.outcome = x.getOutcome();
      f.has_reason = x.hasReason();
      break;
    }
    case D::PRIORITY_RECOGNISED:
      break;
    case D::CAL_APPLICATION_FILED: {
      auto x = d.getCalApplicationFiled();
      f.referral_id = Str(x.getReferralId());
      f.dwelling_id = Str(x.getDwellingId());
      break;
    }
    case D::CAL_DECISION_RECORDED: {
      auto x = d.getCalDecisionRecorded();
      f.referral_id = Str(x.getReferralId());
      f.dwelling_id = Str(x.getDwellingId());
      f.decision = x.getDecision();
      f.has_rank = x.getRank() != 0;
      f.has_condition = x.hasCondition();
      f.condition_deadline = OptDate(x.getConditionDeadline());
      f.has_reason = x.hasReason();
      break;
    }
    case D::CAL_CONDITION_RESOLVED: {
      auto x = d.getCalConditionResolved();
      f.dwelling_id = Str(x.getDwellingId());
      f.flag = x.getMet();
      break;
    }
    case D::OFFER_ANSWERED: {
      auto x = d.getOfferAnswered();
      f.dwelling_id = Str(x.getDwellingId());
      f.answer = x.getAnswer();
      f.has_reason = x.hasReason();
      break;
    }
    case D::OCCUPANCY_STARTED: {
      auto x = d.getOccupancyStarted();
      f.dwelling_id = Str(x.getDwellingId());
      f.contract = x.getContract();
      f.has_association = x.hasAssociation();
      f.association = Str(x.getAssociation());
      f.flag = x.getPreexisting();
      f.amount_cents = x.getRentCents();
      break;
    }
    case D::SLIDE_REVIEW_HELD:
      f.slide_outcome = d.getSlideReviewHeld().getOutcome();
      break;
    case D::LEASE_SWITCHED:
      f.dwelling_id = Str(d.getLeaseSwitched().getDwellingId());
      break;
    case D::OCCUPANCY_ENDED: {
      auto x = d.getOccupancyEnded();
      f.dwelling_id = Str(x.getDwellingId());
      f.end_reason = x.getReason();
      f.destination = x.getDestination();
      break;
    }
    case D::SUPPORT_STARTED: {
      auto x = d.getSupportStarted();
      f.episode_id = Str(x.getEpisodeId());
      f.kind = x.getKind();
      f.association = Str(x.getAssociation());
      break;
    }
    case D::OBJECTIVES_SET: {
      auto x = d.getObjectivesSet();
      f.episode_id = Str(x.getEpisodeId());
      for (auto o : x.getObjectives())
        f.objectives.push_back({Str(o.getObjectiveId()), o.getDomain(), sc::ObjectiveStatus::NOT_STARTED});
      break;
    }
    case D::SITUATION_REVIEWED: {
      auto x = d.getSituationReviewed();
      f.episode_id = Str(x.getEpisodeId());
      for (auto p : x.getProgress())
        f.objectives.push_back({Str(p.getObjectiveId()), sc::ObjectiveDomain::BUDGET, p.getStatus()});
      break;
    }
    case D::SUPPORT_PAUSED: {
      auto x = d.getSupportPaused();
      f.episode_id = Str(x.getEpisodeId());
      f.pause_reason = x.getReason();
      break;
    }
    case D::SUPPORT_UNPAUSED:
      f.episode_id = Str(d.getSupportUnpaused().getEpisodeId());
      break;
    case D::SUPPORT_CLOSED: {
      auto x = d.getSupportClosed();
      f.episode_id = Str(x.getEpisodeId());
      f.close_reason = x.getReason();
      break;
    }
    case D::SUPPORT_RESUMED: {
      auto x = d.getSupportResumed();
      f.episode_id = Str(x.getEpisodeId());
      f.previous_episode_id = Str(x.getPreviousEpisodeId());
      f.has_reason = x.hasReason();
      break;
    }
    case D::ARREARS_ALERT_RAISED: {
      auto x = d.getArrearsAlertRaised();
      f.dwelling_id = Str(x.getDwellingId());
      f.amount_cents = x.getAmountCents();
      f.count = x.getMonthsUnpaid();
      break;
    }
    case D::REPAYMENT_PLAN_AGREED:
      f.amount_cents = d.getRepaymentPlanAgreed().getMonthlyCents();
      break;
    case D::FSL_AID_DECIDED: {
      auto x = d.getFslAidDecided();
      f.flag = x.getGranted();
      f.amount_cents = x.getAmountCents();
      break;
    }
    case D::CCAPEX_REFERRED:
    case D::ARREARS_CLEARED:
      break;
    case D::EVICTION_STEP_RECORDED:
      f.step = d.getEvictionStepRecorded().getStep();
      break;
    case D::DIFFICULTY_REPORTED: {
      auto x = d.getDifficultyReported();
      f.category = x.getCategory();
      f.count = x.getSeverity();
      break;
    }
    case D::CASE_TRANSFERRED:
      f.territory = d.getCaseTransferred().getTerritory();
      break;
    case D::PERSONAL_DATA_ERASED:
      f.erasure_reason = d.getPersonalDataErased().getReason();
      break;
    case D::DWELLING_REGISTERED: {
      auto x = d.getDwellingRegistered();
      f.territory = x.getTerritory();
      f.typology = x.getTypology();
      f.amount_cents = x.getRentCents();
      f.dwelling_id = Intern(subject.id());
      break;
    }
    case D::DWELLING_RESERVED:
    case D::DWELLING_RESERVATION_ENDED:
      f.dwelling_id = Intern(subject.id());
      break;
    case D::STAFF_TRAINING_HELD:
      f.count = d.getStaffTrainingHeld().getAttendees();
      break;
    case D::TENANT_CONSULTATION_HELD:
      f.count = d.getTenantConsultationHeld().getParticipants();
      break;
    case D::PARTNER_MEETING_HELD:
      break;
    case D::EVENT_CORRECTED: {
      auto x = d.getEventCorrected();
      f.target_id = UuidFromBytes({reinterpret_cast<const char*>(x.getTargetId().begin()),
                                   x.getTargetId().size()});
      break;
    }
    case D::EVENT_RETRACTED: {
      auto x = d.getEventRetracted();
      f.target_id = UuidFromBytes({reinterpret_cast<const char*>(x.getTargetId().begin()),
                                   x.getTargetId().size()});
      break;
    }
  }
  return f;
}

namespace {

constexpr uint64_t kOptionalAnnotation = 0xb0c1a7e4d2f30001ull;  // relais.capnp $optional
constexpr uint64_t kDateAnnotation = 0xb0c1a7e4d2f30006ull;      // relais.capnp $date

bool Annotated(capnp::StructSchema::Field f, uint64_t id) {
  for (auto a : f.getProto().getAnnotations())
    if (a.getId() == id) return true;
  return false;
}

// The days the codec accepts on input (ParseDate: years 1800 to 9999). Stored
// dates outside them were never written by relais, and calendar arithmetic on
// them (FormatDate, AddMonthsClamped) would overflow an int.
bool InCalendar(int64_t days) {
  static const int32_t lo = DateFromCivil(1800, 1, 1).days;
  static const int32_t hi = DateFromCivil(9999, 12, 31).days;
  return days >= lo && days <= hi;
}

// What the check needs of each field, read from the schema once for every
// struct reachable from StoredEvent instead of per field and per read (the
// schema walk, getType and the annotation scans, was a fifth of a history read).
struct CheckField {
  capnp::StructSchema::Field field;
  capnp::Type type;
  bool date = false, optional = false;
};
struct CheckStructInfo {
  std::vector<CheckField> by_index;  // every field, by Field::getIndex()
  std::vector<uint32_t> non_union;   // indexes of the non-union fields, in code order
  bool has_union = false;
};

class CheckTable {
 public:
  static const CheckTable& Get() {
    static const CheckTable* t = new CheckTable();
    return *t;
  }
  const CheckStructInfo* Find(capnp::StructSchema s) const {
    auto it = structs_.find(s.getProto().getId());
    return it == structs_.end() ? nullptr : &it->second;
  }

 private:
  CheckTable() { Collect(capnp::Schema::from<schema::StoredEvent>()); }
  void Collect(capnp::Type t) {
    if (t.isStruct()) Collect(t.asStruct());
    if (t.isList()) Collect(t.asList().getElementType());
  }
  void Collect(capnp::StructSchema s) {
    if (structs_.count(s.getProto().getId())) return;
    CheckStructInfo& info = structs_[s.getProto().getId()];
    for (auto f : s.getFields())
      info.by_index.push_back(
          {f, f.getType(), Annotated(f, kDateAnnotation), Annotated(f, kOptionalAnnotation)});
    for (auto f : s.getNonUnionFields()) info.non_union.push_back(f.getIndex());
    info.has_union = s.getUnionFields().size() > 0;
    for (auto f : s.getFields()) Collect(f.getType());
  }
  std::unordered_map<uint64_t, CheckStructInfo> structs_;
};

std::optional<std::string> CheckStruct(capnp::DynamicStruct::Reader r);

// Reads one value the way a later reader will, so that what would throw there
// throws here: a Text without its NUL terminator, an unknown union member or
// enumerant (which ToFact and the domain would copy into a Fact unchecked).
std::optional<std::string> CheckValue(capnp::DynamicValue::Reader v, capnp::Type type,
                                      const CheckField& field) {
  using capnp::schema::Type;
  switch (type.which()) {
    case Type::TEXT:
      (void)v.as<capnp::Text>();  // throws on a missing NUL terminator
      return std::nullopt;
    case Type::INT32: {
      if (!field.date) return std::nullopt;
      int32_t days = v.as<int32_t>();
      if (InCalendar(days) || (days == schema::K_NO_DATE && field.optional)) return std::nullopt;
      return std::string("field ") + field.field.getProto().getName().cStr() +
             " holds no valid date (" + std::to_string(days) + " days)";
    }
    case Type::ENUM:
      if (v.as<capnp::DynamicEnum>().getEnumerant() == nullptr)
        return std::string("unknown value of field ") + field.field.getProto().getName().cStr();
      return std::nullopt;
    case Type::STRUCT:
      return CheckStruct(v.as<capnp::DynamicStruct>());
    case Type::LIST: {
      auto elem = type.asList().getElementType();
      for (auto item : v.as<capnp::DynamicList>())
        if (auto bad = CheckValue(item, elem, field)) return bad;
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::optional<std::string> CheckStruct(capnp::DynamicStruct::Reader r) {
  auto s = r.getSchema();
  const CheckStructInfo* info = CheckTable::Get().Find(s);
  // Every struct a stored event holds is in the table (built from StoredEvent).
  if (info == nullptr) return std::string("unexpected struct ") + s.getShortDisplayName().cStr();
  if (info->has_union) {
    KJ_IF_MAYBE(member, r.which()) {
      const CheckField& f = info->by_index[member->getIndex()];
      if (auto bad = CheckValue(r.get(f.field), f.type, f)) return bad;
    } else {
      return std::string("unknown union member in ") + s.getShortDisplayName().cStr();
    }
  }
  for (uint32_t i : info->non_union) {
    const CheckField& f = info->by_index[i];
    if (auto bad = CheckValue(r.get(f.field), f.type, f)) return bad;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> CheckStoredEvent(kj::ArrayPtr<const capnp::word> words) {
  try {
    capnp::ReaderOptions options;
    // A few passes over the message (size, fields, copy), each charged to the
    // limit; what claims much more than that is an amplification (a list of
    // zero-sized elements, pointers sharing a target), not a stored event.
    options.traversalLimitInWords = words.size() * 8 + 64;
    options.nestingLimit = 16;
    capnp::SegmentArrayMessageReader reader(kj::arrayPtr(&words, 1), options);
    auto se = reader.getRoot<schema::StoredEvent>();
    se.totalSize();  // visits every pointer: throws on anything out of bounds
    if (static_cast<int>(se.getData().which()) >= kEventTypeCount)
      return std::string("unknown event type ") + std::to_string(static_cast<int>(se.getData().which()));
    // totalSize() checks bounds, not contents: read every field once.
    if (auto bad = CheckStruct(capnp::toDynamic(se))) return "undecodable event: " + *bad;
    // And copy it, as readers do (msg->setRoot(se.getData())): a copy takes
    // every pointer slot, also those the schema does not know, which no read
    // by field visits.
    {
      capnp::MallocMessageBuilder copy(static_cast<unsigned>(words.size()) + 8);
      copy.setRoot(se);
    }
    // The envelope's date and time are not annotated (always present).
    if (!InCalendar(se.getEffectiveDate()))
      return "effectiveDate holds no valid date (" + std::to_string(se.getEffectiveDate()) + " days)";
    constexpr int64_t kMicrosPerDay = int64_t{86400} * 1000000;
    int64_t recorded = se.getRecordedAt();
    if (!InCalendar(recorded / kMicrosPerDay - (recorded % kMicrosPerDay < 0)))
      return "recordedAt holds no valid time (" + std::to_string(recorded) + " us)";
    if (se.getId().size() != 16) return std::string("the event id is not 16 bytes");
    if (se.getPrevHash().size() != 32) return std::string("prevHash is not 32 bytes");
    std::string why;
    if (!ParseSubject(std::string_view(se.getSubject().cStr(), se.getSubject().size()), &why))
      return "invalid subject: " + why;
    return std::nullopt;
  } catch (const kj::Exception& e) {
    return std::string("undecodable event: ") + e.getDescription().cStr();
  }
}

std::string CanonicalBytes(capnp::AnyStruct::Reader root) {
  kj::Array<capnp::word> words = root.canonicalize();
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

}  // namespace relais::codec

namespace relais {

namespace {

// Sharded so that the parse thread, the writer and readers rarely meet on
// one lock; node-based sets keep every string at a stable address.
// Looked up by string_view (transparent hash): a text already interned, the
// common case on replay, costs no allocation.
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
struct Shard {
  std::mutex mu;
  std::unordered_set<std::string, TextHash, std::equal_to<>> set;
  size_t bytes = 0;
};
Shard* Shards() {
  static Shard* shards = new Shard[16];  // never freed: views live as long as the process
  return shards;
}

using ScopeTable = std::unordered_set<std::string>;
thread_local ScopeTable* t_scope = nullptr;

std::string_view InternGlobal(std::string_view text) {
  Shard& shard = Shards()[std::hash<std::string_view>()(text) & 15];
  std::lock_guard<std::mutex> lock(shard.mu);
  if (auto it = shard.set.find(text); it != shard.set.end()) return *it;
  auto it = shard.set.emplace(text).first;
  shard.bytes += it->size() + sizeof(std::string);
  return *it;
}

}  // namespace

std::string_view Intern(std::string_view text) {
  if (t_scope) return *t_scope->emplace(text).first;
  return InternGlobal(text);
}

size_t InternedBytes() {
  size_t total = 0;
  for (int i = 0; i < 16; ++i) {
    std::lock_guard<std::mutex> lock(Shards()[i].mu);
    total += Shards()[i].bytes;
  }
  return total;
}

InternScope::InternScope() : previous_(t_scope) {
  auto table = std::make_shared<ScopeTable>();
  t_scope = table.get();
  table_ = std::move(table);
}

InternScope::~InternScope() { t_scope = static_cast<ScopeTable*>(previous_); }

void InternFact(Fact* f) {
  for (std::string_view* v : {&f->referral_id, &f->dwelling_id, &f->episode_id,
                              &f->previous_episode_id, &f->association})
    if (!v->empty()) *v = InternGlobal(*v);
  for (ObjectiveItem& o : f->objectives)
    if (!o.id.empty()) o.id = InternGlobal(o.id);
}

}  // namespace relais
