// libFuzzer target: the stored-event decoder. Bytes read back from disk are
// checked (CheckStoredEvent) before anything reads them; whatever passes must
// decode to a Fact and print as JSON without throwing.
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
  relais::Fact f = relais::codec::ToFact(se.getData(), *subject);
  (void)f;
  relais::JsonWriter w;
  relais::codec::DataToJson(se.getData(), w);
  return 0;
}
