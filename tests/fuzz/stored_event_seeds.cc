// Writes the seed corpus of stored_event_fuzz: one file per event of an NDJSON
// file (the worked example), holding the canonical StoredEvent bytes the engine
// would store for it (write/stored_template.cc EncodeEnvelope, write/sealer.cc SealInto), so that the
// fuzzer mutates valid events instead of rediscovering Cap'n Proto framing.
//
//   stored_event_seeds tests/data/examples/journey.ndjson tests/fuzz/corpus/stored_event_fuzz
//
// Differences from the engine, harmless for the decoder: `sealed` holds the
// personal fields' canonical bytes in clear (the decoder never opens it), and
// position, version, recordedAt and prevHash are synthetic. Deterministic: the
// same input gives the same files.
#include <capnp/serialize.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "codec/codec.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: stored_event_seeds EVENTS.ndjson OUT_DIR\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "stored_event_seeds: cannot read " << argv[1] << "\n";
    return 1;
  }
  std::string line;
  uint64_t position = 0, line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::vector<relais::codec::ParsedEvent> events;
    bool is_batch = false;
    if (auto e = relais::codec::ParseRequest(line, &events, &is_batch)) {
      // The example holds deliberately malformed lines: nothing to store.
      std::cerr << "stored_event_seeds: line " << line_no << " skipped: " << e->message << "\n";
      continue;
    }
    for (auto& e : events) {
      ++position;
      capnp::MallocMessageBuilder msg;
      auto se = msg.initRoot<relais::schema::StoredEvent>();
      se.setPosition(position);
      se.setVersion(static_cast<uint32_t>(position % 7));
      se.setId(capnp::Data::Reader(e.id.bytes.data(), 16));
      se.setSubject(e.subject.text);
      se.setEffectiveDate(e.effective.days);
      se.setRecordedAt(e.recorded_at ? e.recorded_at->micros
                                     : static_cast<int64_t>(position) * 1000000);
      auto actor = se.initActor();
      actor.setId(e.actor ? e.actor->id : "seed");
      actor.setRole(e.actor ? e.actor->role : relais::schema::Role::ADMIN);
      actor.setOrg(e.actor ? e.actor->org : "lille");
      se.setData(e.data->getRoot<relais::schema::EventData>().asReader());
      capnp::MallocMessageBuilder personal;
      if (relais::codec::SplitPersonal(se.getData(), personal.initRoot<relais::schema::EventData>())) {
        std::string p = relais::codec::Canonical(personal.getRoot<relais::schema::EventData>().asReader());
        se.setSealed(capnp::Data::Reader(reinterpret_cast<const uint8_t*>(p.data()), p.size()));
      }
      uint8_t prev[32];
      for (int i = 0; i < 32; ++i) prev[i] = static_cast<uint8_t>(position * 31 + i);
      se.setPrevHash(capnp::Data::Reader(prev, 32));
      std::string bytes = relais::codec::Canonical(se.asReader());
      kj::ArrayPtr<const capnp::word> words(reinterpret_cast<const capnp::word*>(bytes.data()),
                                            bytes.size() / 8);
      if (auto bad = relais::codec::CheckStoredEvent(words)) {
        std::cerr << "stored_event_seeds: event " << position << " does not check: " << *bad << "\n";
        return 1;
      }
      char name[64];
      std::snprintf(name, sizeof name, "/seed-%03llu", static_cast<unsigned long long>(position));
      std::ofstream out(std::string(argv[2]) + name, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (!out) {
        std::cerr << "stored_event_seeds: cannot write into " << argv[2] << "\n";
        return 1;
      }
    }
  }
  std::cerr << "stored_event_seeds: " << position << " events\n";
  return 0;
}
