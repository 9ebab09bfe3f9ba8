// libFuzzer target: the JSON request decoder (simdjson + schema reflection).
// Any input must give a ParseError or events whose data round-trips to JSON;
// never a crash, a sanitizer report or an uncaught exception.
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
    relais::JsonWriter w;
    relais::codec::DataToJson(e.data->getRoot<relais::schema::EventData>().asReader(), w);
    capnp::MallocMessageBuilder personal;
    relais::codec::SplitPersonal(e.data->getRoot<relais::schema::EventData>(),
                                 personal.initRoot<relais::schema::EventData>());
    if (e.type == relais::EventType::kEventCorrected)
      (void)relais::codec::DecodeCorrectionData(e, relais::EventType::kOccupancyStarted);
  }
  return 0;
}
