// libFuzzer target: the JSON request decoder (simdjson + schema reflection).
// Any input must give a ParseError or events whose data round-trips to JSON;
// never a crash, a sanitizer report or an uncaught exception.
//
// Accepted events then go through what the engine does with them before the
// rules: the personal split, and for a correction the decoding of its partial
// `data` against a target type (chosen from the input, so that every type is
// tried) and the merge over an empty base of that type.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<relais::codec::ParsedEvent> events;
  bool is_batch = false;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (relais::codec::ParseRequest(text, &events, &is_batch)) return 0;
  for (auto& e : events) {
    auto root = e.data->getRoot<relais::schema::EventData>();
    relais::JsonWriter w;
    relais::codec::DataToJson(root.asReader(), w);
    (void)relais::codec::Canonical(root.asReader());
    if (e.type == relais::EventType::kEventCorrected) {
      auto target = static_cast<relais::EventType>(size % relais::kEventTypeCount);
      if (!relais::codec::DecodeCorrectionData(e, target) && !relais::IsCorrection(target)) {
        auto corrected = root.asReader().getEventCorrected();
        // An empty base of the target's type (MergeData's precondition).
        capnp::MallocMessageBuilder base;
        auto base_root = capnp::toDynamic(base.initRoot<relais::schema::EventData>());
        KJ_IF_MAYBE(member, capnp::toDynamic(corrected.getData()).which()) base_root.init(*member);
        auto merged = relais::codec::MergeData(base.getRoot<relais::schema::EventData>().asReader(),
                                               corrected.getData(), corrected.getFields());
        relais::JsonWriter mw;
        relais::codec::DataToJson(merged->getRoot<relais::schema::EventData>().asReader(), mw);
      }
    }
    capnp::MallocMessageBuilder personal;
    relais::codec::SplitPersonal(root, personal.initRoot<relais::schema::EventData>());
    relais::codec::MergePersonal(root, personal.getRoot<relais::schema::EventData>().asReader());
  }
  return 0;
}
