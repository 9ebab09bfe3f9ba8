// The compact record encoding of the record snapshot: every record of a
// realistic log survives a round trip field for field, and no damaged blob
// is read out of bounds or accepted as records it does not hold.
#include "cache/record_codec.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "generate/generator.h"
#include "support/test_support.h"

namespace relais::cache {
namespace {

using relais::testing::EngineFixture;

// Every stream of a generated log (corrections, retractions, back-dated
// events, objectives, all event types the generator makes).
std::vector<std::vector<EventRecord>> GeneratedStreams(EngineFixture& f, uint64_t seed, int64_t events) {
  tools::GenOptions gen;
  gen.seed = seed;
  gen.target_events = events;
  std::stringstream ss;
  tools::Generate(gen, ss);
  AppendOptions bulk;
  bulk.allow_actor_in_body = bulk.allow_recorded_at = true;
  bulk.sync = false;
  std::vector<std::future<AppendOutcome>> pending;
  for (std::string line; std::getline(ss, line);) pending.push_back(f.engine->AppendAsync(line, bulk));
  for (auto& p : pending) EXPECT_EQ(p.get().kind, AppendOutcome::Kind::kAccepted);
  std::vector<std::vector<EventRecord>> out;
  auto subjects = f.engine->ListStreams();
  EXPECT_TRUE(subjects.ok());
  for (const Subject& s : *subjects)
    EXPECT_TRUE(f.engine->ReadStream(s, [&](const std::vector<EventRecord>& r) { out.push_back(r); }).ok());
  return out;
}

TEST(RecordCodecTest, EveryRecordOfAGeneratedLogRoundTrips) {
  EngineFixture f;
  auto streams = GeneratedStreams(f, 11, 8000);
  ASSERT_GT(streams.size(), 100u);
  size_t records = 0, corrections = 0, bytes = 0;
  std::vector<bool> seen(kEventTypeCount);
  for (const auto& stream : streams) {
    std::string blob;
    EncodeRecords(stream, &blob);
    bytes += blob.size();
    std::vector<EventRecord> back;
    ASSERT_TRUE(DecodeRecords(blob, &back).ok());
    ASSERT_EQ(back.size(), stream.size());
    for (size_t i = 0; i < stream.size(); ++i) {
      std::string what;
      ASSERT_TRUE(SameRecord(stream[i], back[i], &what))
          << "position " << stream[i].position << ": " << what;
      seen[static_cast<size_t>(stream[i].type)] = true;
      corrections += IsCorrection(stream[i].type);
    }
    records += stream.size();
  }
  EXPECT_GT(corrections, 0u);
  int types = 0;
  for (bool s : seen) types += s;
  EXPECT_GE(types, 25);
  // The point of the encoding: far smaller than a stored event (~180 bytes; 43 when written).
  EXPECT_LT(bytes / records, 60u) << bytes << " bytes for " << records << " records";
}

// SameRecord is what verify trusts: it must see a difference in any field.
TEST(RecordCodecTest, SameRecordSeesEachField) {
  EventRecord a;
  a.position = 5;
  a.effective = a.corrected_effective = Date{18000};
  a.fact.referral_id = Intern("R-1");
  a.fact.objectives.push_back({Intern("O-1"), sc::ObjectiveDomain::HEALTH, sc::ObjectiveStatus::ACHIEVED});
  std::vector<std::function<void(EventRecord&)>> changes = {
      [](EventRecord& r) { r.position++; },
      [](EventRecord& r) { r.version++; },
      [](EventRecord& r) { r.id.bytes[3] = 9; },
      [](EventRecord& r) { r.type = EventType::kSupportClosed; },
      [](EventRecord& r) { r.effective.days++; },
      [](EventRecord& r) { r.recorded.micros++; },
      [](EventRecord& r) { r.corrected_effective.days = 7; },
      [](EventRecord& r) { r.fact.referral_id = Intern("R-2"); },
      [](EventRecord& r) { r.fact.dwelling_id = Intern("D-2"); },
      [](EventRecord& r) { r.fact.episode_id = Intern("E-2"); },
      [](EventRecord& r) { r.fact.previous_episode_id = Intern("E-1"); },
      [](EventRecord& r) { r.fact.association = Intern("A"); },
      [](EventRecord& r) { r.fact.territory = sc::Territory::FLANDRES; },
      [](EventRecord& r) { r.fact.typology = sc::Typology::T4; },
      [](EventRecord& r) { r.fact.flag = true; },
      [](EventRecord& r) { r.fact.has_rank = true; },
      [](EventRecord& r) { r.fact.has_condition = true; },
      [](EventRecord& r) { r.fact.condition_deadline = Date{3}; },
      [](EventRecord& r) { r.fact.has_reason = true; },
      [](EventRecord& r) { r.fact.has_association = true; },
      [](EventRecord& r) { r.fact.objectives[0].status = sc::ObjectiveStatus::NOT_STARTED; },
      [](EventRecord& r) { r.fact.objectives.clear(); },
      [](EventRecord& r) { r.fact.amount_cents = 1; },
      [](EventRecord& r) { r.fact.count = 2; },
      [](EventRecord& r) { r.fact.target_id.bytes[0] = 1; },
      [](EventRecord& r) { r.fact.erasure_reason = sc::ErasureReason::SUBJECT_REQUEST; },
      [](EventRecord& r) { r.fact.type = EventType::kSupportStarted; },
  };
  std::string what;
  EXPECT_TRUE(SameRecord(a, a, &what));
  for (size_t i = 0; i < changes.size(); ++i) {
    EventRecord b = a;
    changes[i](b);
    EXPECT_FALSE(SameRecord(a, b, &what)) << "change " << i;
    // A stream's versions run from 0 without a gap: a lone record of
    // version 1 is refused (the damage check), not carried.
    if (b.version != 0) {
      std::string blob;
      EncodeRecords({b}, &blob);
      std::vector<EventRecord> back;
      EXPECT_EQ(DecodeRecords(blob, &back).code(), StatusCode::kCorruption);
      continue;
    }
    // And the codec carries the change.
    std::string blob;
    EncodeRecords({b}, &blob);
    std::vector<EventRecord> back;
    ASSERT_TRUE(DecodeRecords(blob, &back).ok()) << "change " << i;
    EXPECT_TRUE(SameRecord(b, back[0], &what)) << "change " << i << ": " << what;
  }
}

// Damage of any kind: never a crash or an out-of-bounds read (ASan), and
// either a Corruption or records (a flipped bit inside a value can still
// decode: the snapshot's check against the log in verify is what sees it).
TEST(RecordCodecTest, DamagedBlobsAreRefusedOrDecodedSafely) {
  EngineFixture f;
  auto streams = GeneratedStreams(f, 5, 3000);
  std::mt19937_64 rng(20261201);
  std::printf("seed 20261201\n");
  size_t refused = 0, tries = 0;
  for (const auto& stream : streams) {
    std::string blob;
    EncodeRecords(stream, &blob);
    for (int k = 0; k < 20; ++k, ++tries) {
      std::string bad = blob;
      switch (rng() % 3) {
        case 0: bad.resize(rng() % bad.size()); break;                      // truncated
        case 1: bad[rng() % bad.size()] ^= static_cast<char>(1 << (rng() % 8)); break;  // a bit
        case 2: bad.append(1 + rng() % 8, static_cast<char>(rng())); break;  // trailing bytes
      }
      std::vector<EventRecord> out;
      Status st = DecodeRecords(bad, &out);
      if (!st.ok()) {
        ++refused;
        EXPECT_EQ(st.code(), StatusCode::kCorruption);
      }
    }
  }
  // Truncations and trailing bytes are always refused: about two thirds.
  EXPECT_GT(refused, tries / 2);
}

TEST(RecordCodecTest, ClaimsBeyondTheBlobAreRefusedWithoutAllocating) {
  std::string blob = "R";
  blob += "\xff\xff\xff\xff\x0f";  // a count of 2^32 - 1
  std::vector<EventRecord> out;
  EXPECT_EQ(DecodeRecords(blob, &out).code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeRecords("", &out).code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeRecords("X", &out).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace relais::cache
