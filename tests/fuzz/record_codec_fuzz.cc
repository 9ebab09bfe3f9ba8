// libFuzzer target: the record snapshot's decoder (cache/record_codec.h).
// Values are read back from disk: any bytes must give records or a
// Corruption, never a crash, an out-of-bounds read or undefined behaviour;
// and what decodes must encode to bytes that decode to the same records.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cache/record_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view blob(reinterpret_cast<const char*>(data), size);
  // The decoded texts go to this input's own table, freed with it: the
  // process-wide one would grow with every input.
  relais::InternScope scope;
  std::vector<relais::EventRecord> records;
  if (!relais::cache::DecodeRecords(blob, &records).ok()) return 0;
  std::string again;
  relais::cache::EncodeRecords(records, &again);
  std::vector<relais::EventRecord> back;
  if (!relais::cache::DecodeRecords(again, &back).ok() || back.size() != records.size()) std::abort();
  for (size_t i = 0; i < records.size(); ++i) {
    std::string what;
    if (!relais::cache::SameRecord(records[i], back[i], &what)) std::abort();
  }
  return 0;
}
