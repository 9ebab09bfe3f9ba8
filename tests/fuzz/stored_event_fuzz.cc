// libFuzzer target: the stored-event decoder. Bytes read back from disk are
// checked (CheckStoredEvent) before anything reads them; whatever passes must
// go through everything the engine does with a stored event (read/record_decoder.cc, verify/verifier.cc,
// RecordOf and View: the Fact, the envelope's date and time, the actor's role,
// the data as JSON, the personal merge, a correction's merge) without a
// throw, a crash or undefined behaviour.
//
// Seeds: tests/fuzz/corpus/stored_event_fuzz/, canonical StoredEvent bytes of
// the worked example written by stored_event_seeds.cc, so that mutations start
// from valid events and reach past the pointer checks.
#include <capnp/serialize.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "codec/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint64_t> words(size / 8);  // capnp::word is not movable
  if (words.empty()) return 0;
  std::memcpy(words.data(), data, words.size() * 8);
  kj::ArrayPtr<const capnp::word> segment(reinterpret_cast<const capnp::word*>(words.data()), words.size());
  if (relais::codec::CheckStoredEvent(segment)) return 0;
  capnp::SegmentArrayMessageReader reader(kj::arrayPtr(&segment, 1));
  auto se = reader.getRoot<relais::schema::StoredEvent>();
  std::string why;
  auto subject = relais::ParseSubject(se.getSubject().cStr(), &why);
  if (!subject) __builtin_trap();  // CheckStoredEvent promised a valid subject
  relais::Fact f = relais::codec::ToFact(se.getData(), *subject);
  (void)f;
  (void)relais::FormatDate(relais::Date{se.getEffectiveDate()});
  (void)relais::FormatTimestamp(relais::Timestamp{se.getRecordedAt()});
  (void)relais::codec::RoleName(se.getActor().getRole());
  (void)relais::VisibilityOf(relais::codec::TypeOf(se.getData()), f);

  capnp::MallocMessageBuilder full;
  full.setRoot(se.getData());
  auto root = full.getRoot<relais::schema::EventData>();
  capnp::MallocMessageBuilder personal;
  relais::codec::SplitPersonal(root, personal.initRoot<relais::schema::EventData>());
  relais::codec::MergePersonal(root, personal.getRoot<relais::schema::EventData>().asReader());
  relais::JsonWriter w;
  relais::codec::DataToJson(root.asReader(), w);

  if (se.getData().isEventCorrected()) {
    // What the engine does once the target is found (ApplyCorrection): merge
    // over the target's data. The target's type comes from another event of
    // the log, so it need not match a damaged correction's: chosen from the
    // input, an empty base of any type.
    auto c = se.getData().getEventCorrected();
    capnp::MallocMessageBuilder base;
    auto base_root = capnp::toDynamic(base.initRoot<relais::schema::EventData>());
    auto members = capnp::Schema::from<relais::schema::EventData>().getUnionFields();
    base_root.init(members[data[0] % members.size()]);
    auto merged = relais::codec::MergeData(base.getRoot<relais::schema::EventData>().asReader(),
                                           c.getData(), c.getFields());
    relais::JsonWriter mw;
    relais::codec::DataToJson(merged->getRoot<relais::schema::EventData>().asReader(), mw);
    (void)relais::codec::ToFact(merged->getRoot<relais::schema::EventData>().asReader(), *subject);
  }
  return 0;
}
