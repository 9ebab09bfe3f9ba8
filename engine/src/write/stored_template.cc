#include "write/stored_template.h"

#include <bit>
#include <cstring>

#include "codec/roles.h"
#include "log/log_format.h"

namespace relais::write {

namespace {
// Placeholders: non-zero, so that the canonical encoding keeps every word of
// the envelope's data section and the real values fit the same bytes.
constexpr uint64_t kPlaceholder64 = ~uint64_t{0};
constexpr uint32_t kPlaceholder32 = ~uint32_t{0};
// Offsets in the canonical StoredEvent: the root pointer is word 0 and the
// root struct's data section follows it (checked in PreEncode).
constexpr size_t kPositionOffset = 8, kVersionOffset = 16, kRecordedAtOffset = 24;
// Patched with memcpy: Cap'n Proto's wire format is little-endian.
static_assert(std::endian::native == std::endian::little);
}  // namespace

Result<StoredMessage> StoredMessage::Decode(std::string_view value) {
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
  m.reader_ =
      std::make_unique<capnp::SegmentArrayMessageReader>(kj::arrayPtr(m.segments_.get(), 1));
  return m;
}

Uuid IdOf(capnp::Data::Reader d) {
  return UuidFromBytes({reinterpret_cast<const char*>(d.begin()), d.size()});
}

std::string WithSegmentTable(std::string canonical) {
  std::string out(8, '\0');
  uint32_t words = static_cast<uint32_t>(canonical.size() / 8);
  std::memcpy(out.data() + 4, &words, 4);  // segment count - 1 = 0, then size
  return out + canonical;
}

std::string DataBytesOf(schema::EventData::Reader d) {
  return WithSegmentTable(codec::Canonical(d));
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
    actor.setRole(codec::ToSchemaRole(*relais::RoleFromName(opt.actor.role)));  // checked in Prepare
    actor.setOrg(opt.actor.org);
  }
  se.setData(e.data->getRoot<schema::EventData>().asReader());
}

Status PreEncode(codec::ParsedEvent& e, const AppendOptions& opt,
                 const std::function<Status(schema::StoredEvent::Builder)>& seal) {
  capnp::MallocMessageBuilder msg(1024);
  auto se = msg.initRoot<schema::StoredEvent>();
  EncodeEnvelope(e, opt, kPlaceholder64, kPlaceholder32,
                 Timestamp{static_cast<int64_t>(kPlaceholder64)}, se);
  RETURN_IF_ERROR(seal(se));
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

void Patch(std::string* bytes, size_t prev_hash_offset, Position position, uint32_t version,
           Timestamp recorded, const crypto::Hash& prev_hash) {
  uint64_t p = position;
  int64_t r = recorded.micros;
  std::memcpy(bytes->data() + kPositionOffset, &p, 8);
  std::memcpy(bytes->data() + kVersionOffset, &version, 4);
  std::memcpy(bytes->data() + kRecordedAtOffset, &r, 8);
  std::memcpy(bytes->data() + prev_hash_offset, prev_hash.data(), prev_hash.size());
}

}  // namespace relais::write
