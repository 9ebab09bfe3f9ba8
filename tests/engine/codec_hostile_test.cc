// Hostile input to the two decoders: request JSON (ParseRequest) and stored
// bytes (CheckStoredEvent). Each gets a clear refusal, never a crash, an
// uncaught exception or a silent acceptance. The inputs found by fuzzing are
// kept here (and in tests/fuzz/corpus/), each with the finding it reproduces.
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "relais/engine.h"

namespace relais::codec {
namespace {

// ------------------------------------------------------------ stored bytes

// Canonical StoredEvent bytes of a CalApplicationFiled (texts in data).
std::string StoredCalApplication() {
  capnp::MallocMessageBuilder msg;
  auto se = msg.initRoot<schema::StoredEvent>();
  se.setPosition(7);
  se.setVersion(2);
  uint8_t id[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  se.setId(capnp::Data::Reader(id, 16));
  se.setSubject("household/H-0001");
  se.setEffectiveDate(16500);
  se.setRecordedAt(1425286800000000);
  auto actor = se.initActor();
  actor.setId("c1");
  actor.setRole(schema::Role::COORDINATOR);
  actor.setOrg("lille");
  auto cal = se.initData().initCalApplicationFiled();
  cal.setReferralId("R1");
  cal.setDwellingId("D-RBX-001");
  uint8_t prev[32] = {};
  se.setPrevHash(capnp::Data::Reader(prev, 32));
  return Canonical(se.asReader());
}

std::optional<std::string> Check(const std::string& bytes) {
  std::vector<uint64_t> words(bytes.size() / 8);
  std::memcpy(words.data(), bytes.data(), words.size() * 8);
  return CheckStoredEvent(kj::ArrayPtr<const capnp::word>(
      reinterpret_cast<const capnp::word*>(words.data()), words.size()));
}

TEST(StoredEventCheckTest, ValidEventPasses) {
  EXPECT_EQ(Check(StoredCalApplication()), std::nullopt);
}

// Found by stored_event_fuzz (corpus: stored_event_fuzz/regress-text-nul): a
// Text whose terminating NUL is overwritten passed CheckStoredEvent (a size
// traversal does not read texts), then getDwellingId() threw in ToFact, and
// the uncaught kj::Exception terminated the process.
TEST(StoredEventCheckTest, TextWithoutTerminatorIsRefused) {
  std::string bytes = StoredCalApplication();
  size_t at = bytes.find("D-RBX-001");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 9] = 'x';  // the NUL after the dwelling id
  auto bad = Check(bytes);
  ASSERT_TRUE(bad.has_value());
  EXPECT_NE(bad->find("undecodable"), std::string::npos) << *bad;
}

TEST(StoredEventCheckTest, SubjectWithoutTerminatorIsRefused) {
  std::string bytes = StoredCalApplication();
  size_t at = bytes.find("household/H-0001");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 16] = '1';
  EXPECT_TRUE(Check(bytes).has_value());
}

// A stored event built by `fill` over a valid envelope.
template <typename Fill>
std::string Stored(Fill fill) {
  capnp::MallocMessageBuilder msg;
  auto se = msg.initRoot<schema::StoredEvent>();
  se.setPosition(1);
  uint8_t id[16] = {1};
  se.setId(capnp::Data::Reader(id, 16));
  se.setSubject("household/H-0001");
  se.setEffectiveDate(16500);
  se.setRecordedAt(1425286800000000);
  auto actor = se.initActor();
  actor.setId("c1");
  actor.setOrg("lille");
  auto h = se.initData().initHouseholdRegistered();
  h.setCommune("Lille");
  h.setAdults(1);
  h.initHeadOfHousehold().setName("A");
  h.getHeadOfHousehold().setBirthDate(3650);
  uint8_t prev[32] = {};
  se.setPrevHash(capnp::Data::Reader(prev, 32));
  fill(se);
  return Canonical(se.asReader());
}

// Found by stored_event_fuzz (corpus: stored_event_fuzz/regress-date-overflow):
// a $date field near INT32_MAX passed the check, then FormatDate (DataToJson)
// overflowed a signed int (UBSan). Dates are refused outside the years the
// codec accepts on input (1800..9999), in the envelope and in the data.
TEST(StoredEventCheckTest, DatesOutsideTheCalendarAreRefused) {
  EXPECT_EQ(Check(Stored([](auto) {})), std::nullopt);
  auto birth = [](int32_t days) {
    return Stored([days](auto se) {
      se.getData().getHouseholdRegistered().getHeadOfHousehold().setBirthDate(days);
    });
  };
  for (int32_t bad : {INT32_MAX, INT32_MAX - 100, INT32_MIN + 1, -100000, 3000000, schema::K_NO_DATE}) {
    SCOPED_TRACE(bad);
    auto why = Check(birth(bad));
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("birthDate"), std::string::npos) << *why;
  }
  EXPECT_EQ(Check(birth(DateFromCivil(1800, 1, 1).days)), std::nullopt);
  EXPECT_EQ(Check(birth(DateFromCivil(9999, 12, 31).days)), std::nullopt);
  EXPECT_TRUE(Check(birth(DateFromCivil(1799, 12, 31).days)).has_value());
  EXPECT_TRUE(Check(birth(DateFromCivil(10000, 1, 1).days)).has_value());
  // The envelope's own date and time.
  EXPECT_TRUE(Check(Stored([](auto se) { se.setEffectiveDate(INT32_MAX); })).has_value());
  EXPECT_TRUE(Check(Stored([](auto se) { se.setEffectiveDate(schema::K_NO_DATE); })).has_value());
  EXPECT_TRUE(Check(Stored([](auto se) { se.setRecordedAt(INT64_MIN); })).has_value());
  EXPECT_TRUE(Check(Stored([](auto se) { se.setRecordedAt(INT64_MAX); })).has_value());
  // An optional date may be absent (kNoDate), and an absent one is fine.
  auto deadline = [](int32_t days) {
    return Stored([days](auto se) {
      auto c = se.getData().initCalDecisionRecorded();
      c.setReferralId("R1");
      c.setDwellingId("D1");
      c.setConditionDeadline(days);
    });
  };
  EXPECT_EQ(Check(deadline(schema::K_NO_DATE)), std::nullopt);
  EXPECT_TRUE(Check(deadline(INT32_MAX)).has_value());
}

// Part of the same reflective check as TextWithoutTerminatorIsRefused: what
// ToFact would copy into a Fact unchecked.
TEST(StoredEventCheckTest, UnknownEnumerantsAndUnionMembersAreRefused) {
  auto why = Check(Stored([](auto se) { se.getActor().setRole(static_cast<schema::Role>(77)); }));
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("role"), std::string::npos) << *why;
  EXPECT_TRUE(Check(Stored([](auto se) {
                se.getData().getHouseholdRegistered().setTerritory(static_cast<schema::Territory>(9));
              })).has_value());
  // A correction whose inner data is of an unknown type: two corrections that
  // differ only in the inner union's discriminant (two empty members) locate
  // it, then it is set to a value no member has.
  auto correction = [](bool ccapex) {
    return Stored([ccapex](auto se) {
      auto c = se.getData().initEventCorrected();
      uint8_t target[16] = {2};
      c.setTargetId(capnp::Data::Reader(target, 16));
      if (ccapex) {
        c.initData().initCcapexReferred();
      } else {
        c.initData().initArrearsCleared();
      }
    });
  };
  std::string bytes = correction(true), other = correction(false);
  EXPECT_EQ(Check(bytes), std::nullopt);
  ASSERT_EQ(bytes.size(), other.size());
  size_t at = 0;
  while (at < bytes.size() && bytes[at] == other[at]) ++at;
  ASSERT_LT(at, bytes.size());
  at &= ~size_t{1};  // the discriminant is a little-endian uint16
  bytes[at] = static_cast<char>(0xfe);
  bytes[at + 1] = static_cast<char>(0xff);
  auto unknown = Check(bytes);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_NE(unknown->find("union"), std::string::npos) << *unknown;
}

// Found by stored_event_fuzz (corpus: stored_event_fuzz/regress-void-list-copy):
// the EventData struct claimed a second pointer slot, which the schema does not
// have (as a later version's field would be), holding a list of 2^28 void
// elements (no bytes on disk: Cap'n Proto's amplification case). No read by
// field touches an unknown slot, so the check passed; copying the data (the
// engine's FullData and MergeData do msg->setRoot) copies every slot, threw
// "Exceeded message traversal limit", and the uncaught exception terminated
// the process.
TEST(StoredEventCheckTest, AmplifiedListInAnUnknownSlotIsRefused) {
  std::ifstream in(std::string(RELAIS_SOURCE_DIR) +
                       "/tests/fuzz/corpus/stored_event_fuzz/regress-void-list-copy",
                   std::ios::binary);
  ASSERT_TRUE(in.good());
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(bytes.size(), 256u);
  auto why = Check(bytes);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("traversal limit"), std::string::npos) << *why;
}

// Found by stored_event_fuzz (corpus: stored_event_fuzz/regress-merge-type-mismatch):
// a stored correction whose inner data is of another type than its target's
// (a damaged log; relais decodes a correction against its target's type) made
// MergeData get() an inactive union member, a fatal kj exception. It now keeps
// the base as it is.
TEST(MergeDataTest, AnotherTypesPartialLeavesTheBaseUnchanged) {
  capnp::MallocMessageBuilder base;
  auto h = base.initRoot<schema::EventData>().initHouseholdRegistered();
  h.setCommune("Lille");
  h.setAdults(2);
  capnp::MallocMessageBuilder partial;
  partial.initRoot<schema::EventData>().initDwellingRegistered().setCommune("Roubaix");
  capnp::MallocMessageBuilder fields;
  auto list = fields.initRoot<schema::EventCorrected>().initFields(1);
  list.set(0, 1);  // commune's ordinal in both
  auto merged = MergeData(base.getRoot<schema::EventData>().asReader(),
                          partial.getRoot<schema::EventData>().asReader(),
                          fields.getRoot<schema::EventCorrected>().asReader().getFields());
  auto out = merged->getRoot<schema::EventData>().asReader();
  ASSERT_TRUE(out.isHouseholdRegistered());
  EXPECT_STREQ(out.getHouseholdRegistered().getCommune().cStr(), "Lille");
  EXPECT_EQ(out.getHouseholdRegistered().getAdults(), 2);
}

// ------------------------------------------------------------ request JSON

constexpr char kId[] = "00000000-0000-4000-8000-000000000001";

// A valid DwellingRegistered with `rent` as the raw JSON of rentCents and
// `commune` as the raw JSON of commune.
std::string Dwelling(const std::string& rent = "41250",
                     const std::string& commune = "\"Roubaix\"") {
  return std::string(R"({"id":")") + kId +
         R"(","type":"DwellingRegistered","subject":"dwelling/D1","effectiveDate":"2015-01-05",)"
         R"("data":{"territory":"lille","commune":)" +
         commune + R"(,"typology":"T3","adaptations":[],"rentCents":)" + rent + "}}";
}

std::string Household(const std::string& head) {
  return std::string(R"({"id":")") + kId +
         R"(","type":"HouseholdRegistered","subject":"household/H1","effectiveDate":"2015-01-05",)"
         R"("data":{"territory":"lille","commune":"Lille","adults":1,"children":0,"headOfHousehold":)" +
         head + "}}";
}

// The refusal of `text`, or "" when it parses.
std::string Refusal(std::string_view text) {
  std::vector<ParsedEvent> events;
  bool is_batch = false;
  auto e = ParseRequest(text, &events, &is_batch);
  return e ? (e->message.empty() ? "(empty message)" : e->message) : "";
}

#define EXPECT_REFUSED(text, needle)                                   \
  do {                                                                 \
    std::string why = Refusal(text);                                   \
    EXPECT_NE(why, "") << "accepted: " << std::string(text).substr(0, 200); \
    EXPECT_NE(why.find(needle), std::string::npos) << why;            \
  } while (0)

TEST(HostileJsonTest, TheBaseEventsParse) {
  EXPECT_EQ(Refusal(Dwelling()), "");
  EXPECT_EQ(Refusal(Household(R"({"name":"A","birthDate":"1980-01-01"})")), "");
}

TEST(HostileJsonTest, DeepNestingIsRefused) {
  EXPECT_REFUSED(std::string(100000, '['), "not valid JSON");
  EXPECT_REFUSED(std::string(100000, '[') + std::string(100000, ']'), "not valid JSON");
  std::string deep_object;
  for (int i = 0; i < 5000; ++i) deep_object += R"({"a":)";
  deep_object += "1" + std::string(5000, '}');
  EXPECT_REFUSED(deep_object, "not valid JSON");
  // Deep inside a field the schema wants flat.
  EXPECT_REFUSED(Dwelling(std::string(3000, '[') + std::string(3000, ']')), "");
}

TEST(HostileJsonTest, OversizedInputIsRefused) {
  EXPECT_REFUSED(Dwelling("1", "\"" + std::string(4097, 'a') + "\""), "longer than 4096 bytes");
  EXPECT_EQ(Refusal(Dwelling("1", "\"" + std::string(4096, 'a') + "\"")), "");
  // Over the request limit (engine.h kRequestBytesMax), whatever it holds.
  std::string big = Dwelling("1", "\"" + std::string(2 << 20, 'a') + "\"");
  EXPECT_REFUSED(big, "over the limit");
  EXPECT_REFUSED(std::string(2 << 20, ' '), "over the limit");
}

TEST(HostileJsonTest, InvalidUtf8IsRefused) {
  EXPECT_REFUSED(Dwelling("1", "\"Roubaix\xff\""), "not valid JSON");
  EXPECT_REFUSED(Dwelling("1", "\"\xc3\""), "not valid JSON");          // truncated sequence
  EXPECT_REFUSED(Dwelling("1", "\"\xc0\xaf\""), "not valid JSON");      // overlong '/'
  EXPECT_REFUSED(Dwelling("1", "\"\xed\xa0\x80\""), "not valid JSON");  // UTF-16 surrogate
  EXPECT_REFUSED(Dwelling("1", R"("\ud800")"), "");                      // lone surrogate escape
  EXPECT_REFUSED(Dwelling("1", R"("\udc00x")"), "");
  EXPECT_EQ(Refusal(Dwelling("1", R"("Z\u00e9\ud83d\ude00")")), "");    // a valid pair is fine
}

TEST(HostileJsonTest, NulBytesAreRefused) {
  // Raw, inside and outside strings.
  EXPECT_REFUSED(Dwelling("1", std::string("\"Rou\0baix\"", 10)), "not valid JSON");
  EXPECT_REFUSED(Dwelling() + std::string("\0", 1), "not valid JSON");
  // Escaped: a Text holding NUL would be cut short where it is read as a C
  // string (the subject, JSON output), so it is refused, not stored.
  EXPECT_REFUSED(Dwelling("1", R"("Rou\u0000baix")"), "NUL");
  EXPECT_REFUSED(Household(R"({"name":"A\u0000B","birthDate":"1980-01-01"})"), "NUL");
  std::string partners = std::string(R"({"id":")") + kId +
      R"(","type":"PartnerMeetingHeld","subject":"territory/lille","effectiveDate":"2015-01-05",)"
      R"("data":{"partners":["a\u0000b"],"topic":"t"}})";
  EXPECT_REFUSED(partners, "NUL");
}

TEST(HostileJsonTest, NumericExtremesAreRefused) {
  EXPECT_REFUSED(Dwelling("1e400"), "");
  EXPECT_REFUSED(Dwelling("-1e400"), "");
  EXPECT_REFUSED(Dwelling("1e999999999999"), "");
  EXPECT_REFUSED(Dwelling("1e2"), "must be an integer");
  EXPECT_REFUSED(Dwelling("2.0"), "must be an integer");
  EXPECT_REFUSED(Dwelling("-0.0"), "must be an integer");
  EXPECT_REFUSED(Dwelling("18446744073709551616"), "");   // 2^64
  EXPECT_REFUSED(Dwelling("18446744073709551615"), "out of range");
  EXPECT_REFUSED(Dwelling("9223372036854775808"), "out of range");  // INT64_MAX + 1
  EXPECT_REFUSED(Dwelling("-9223372036854775809"), "");
  EXPECT_REFUSED(Dwelling("99999999999999999999999999999999999999"), "");
  EXPECT_REFUSED(Dwelling("-1"), "must be between 0 and");
  EXPECT_EQ(Refusal(Dwelling("9223372036854775807")), "");  // INT64_MAX itself is a value
  // 32-bit fields: beyond Int32 is refused, not wrapped.
  std::string adults = Household(R"({"name":"A","birthDate":"1980-01-01"})");
  adults.replace(adults.find("\"adults\":1"), 10, "\"adults\":4294967297");
  EXPECT_REFUSED(adults, "must be between");
  // -0 is the integer 0 (JSON's grammar); a non-negative field takes it as 0.
  std::string zero = Refusal(Dwelling("-0"));
  EXPECT_TRUE(zero.empty() || zero.find("integer") != std::string::npos) << zero;
  EXPECT_REFUSED(Dwelling("NaN"), "not valid JSON");
  EXPECT_REFUSED(Dwelling("Infinity"), "not valid JSON");
  EXPECT_REFUSED(Dwelling("0x10"), "not valid JSON");
  EXPECT_REFUSED(Dwelling("01"), "not valid JSON");
}

TEST(HostileJsonTest, ExtremeDatesAreRefused) {
  auto with_date = [](const std::string& d) {
    std::string s = Dwelling();
    return s.replace(s.find("2015-01-05"), 10, d);
  };
  for (const char* d : {"99999-01-01", "9999-12-32", "10000-01-01", "0000-01-01", "1799-12-31",
                        "2015-02-29", "2015-13-01", "2015-00-10", "-2015-01-01", "+2015-01-01",
                        "2015-1-1", "2015-01-05T00:00:00Z", "", "２０１５-01-05"}) {
    SCOPED_TRACE(d);
    EXPECT_REFUSED(with_date(d), "effectiveDate");
  }
  EXPECT_EQ(Refusal(with_date("9999-12-31")), "");
  EXPECT_EQ(Refusal(with_date("1800-01-01")), "");
  EXPECT_EQ(Refusal(with_date("2016-02-29")), "");
  EXPECT_REFUSED(Household(R"({"name":"A","birthDate":"99999-01-01"})"), "birthDate");
  std::string imported = Dwelling();
  imported.insert(imported.size() - 1, R"(,"recordedAt":"99999-01-01T00:00:00Z")");
  EXPECT_REFUSED(imported, "recordedAt");
  imported = Dwelling();
  imported.insert(imported.size() - 1, R"(,"recordedAt":"9999-12-31T23:59:60Z")");
  EXPECT_REFUSED(imported, "recordedAt");
}

TEST(HostileJsonTest, DuplicateKeysAreRefused) {
  std::string twice_envelope = Dwelling();
  twice_envelope.insert(twice_envelope.size() - 1, R"(,"effectiveDate":"2016-01-01")");
  EXPECT_REFUSED(twice_envelope, "appears twice");
  EXPECT_REFUSED(Dwelling("1,\"rentCents\":2"), "appears twice");
  EXPECT_REFUSED(Household(R"({"name":"A","name":"B","birthDate":"1980-01-01"})"), "appears twice");
  std::string actor = Dwelling();
  actor.insert(actor.size() - 1, R"(,"actor":{"id":"a","role":"admin","org":"lille","id":"b"})");
  EXPECT_REFUSED(actor, "appears twice");
  std::string actor_role = Dwelling();
  actor_role.insert(actor_role.size() - 1,
                    R"(,"actor":{"id":"a","role":"social_worker","org":"lille","role":"admin"})");
  EXPECT_REFUSED(actor_role, "appears twice");
}

TEST(HostileJsonTest, BatchesOfHostileItemsAreRefused) {
  EXPECT_REFUSED("[]", "at least one event");
  EXPECT_REFUSED("[" + Dwelling() + ",1]", "event 2 of the batch");
  std::string many = "[";
  for (int i = 0; i < 20000; ++i) many += "{},";
  many.back() = ']';
  EXPECT_REFUSED(many, "event 1 of the batch");
  EXPECT_REFUSED("[[[[" + Dwelling() + "]]]]", "must be a JSON object");
}

// A refused batch must not have cost an event (528 bytes, more once parsed)
// per array item: 1 MiB of "{}," is 350,000 items, which an up-front resize
// turned into 185 MB for a request refused at its first item.
TEST(HostileJsonTest, ARefusedBatchHoldsOnlyTheEventsParsed) {
  std::string many = "[" + Dwelling() + ",";
  for (int i = 0; i < 100000; ++i) many += "{},";
  many.back() = ']';
  std::vector<ParsedEvent> events;
  bool is_batch = false;
  auto e = ParseRequest(many, &events, &is_batch);
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->message.find("event 2 of the batch"), std::string::npos) << e->message;
  EXPECT_LE(events.size(), 2u);
  EXPECT_GE(events.capacity(), events.size());
  EXPECT_LE(events.capacity(), kBatchEventsMax);
}

}  // namespace
}  // namespace relais::codec
