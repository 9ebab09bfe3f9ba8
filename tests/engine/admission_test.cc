// Admission alone: the ordered checks of events.md §2 over a working view,
// with the committed state and the keys in memory (no RocksDB store, no
// writer thread). Groups are built by hand: `g.prev` is a group in flight.
#include "admit/admission.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "support/test_support.h"
#include "write/stored_template.h"

namespace relais::admit {
namespace {

using relais::testing::Ev;
using relais::testing::IdOf;
using relais::testing::ManualClock;

// 2026-01-01T00:00:00Z
constexpr int64_t kNow = 1767225600LL * 1000000;

class MemoryState : public CommittedState {
 public:
  Result<std::shared_ptr<cache::StreamEntry>> Stream(const Subject& subject) override {
    auto& e = streams[subject.text];
    if (!e) {
      e = std::make_shared<cache::StreamEntry>();
      e->subject = subject;
      e->loaded = true;
    }
    return e;
  }
  Result<std::optional<GroupEvent>> FindId(const Uuid& id) override {
    if (auto it = ids.find(id); it != ids.end()) return std::optional<GroupEvent>(it->second);
    return std::optional<GroupEvent>();
  }
  Result<bool> HasVersion(const std::string& subject, StreamVersion v) override {
    auto it = streams.find(subject);
    return it != streams.end() && static_cast<StreamVersion>(it->second->records.size()) > v;
  }
  Result<std::string> DataAt(Position p) override {
    if (auto it = data.find(p); it != data.end()) return it->second;
    return Status::Corruption("no event at " + std::to_string(p));
  }
  Result<std::set<std::string>> Referencing(const std::string& dwelling) override {
    return refs[dwelling];
  }
  Result<bool> HasReference(const std::string& dwelling, const std::string& household) override {
    return refs[dwelling].count(household) > 0;
  }
  rocksdb::ColumnFamilyHandle* Family(log::Store::Family) override { return nullptr; }

  // What the writer's publication does once a group is written.
  void Commit(write::Group& g) {
    GroupEvents& ev = EventsOf(g);
    for (auto& [subject, records] : ev.pending) {
      std::string why;
      auto s = ParseSubject(subject, &why);
      auto e = *Stream(*s);
      for (auto& r : records) e->records.push_back(r);
    }
    for (const auto& [id, ge] : ev.ids) {
      ids[id] = ge;
      data[ge.position] = ge.full_data;
    }
    for (const auto& [d, h] : ev.new_refs) refs[d].insert(h);
  }

  std::map<std::string, std::shared_ptr<cache::StreamEntry>> streams;
  std::map<Uuid, GroupEvent> ids;
  std::map<Position, std::string> data;
  std::map<std::string, std::set<std::string>> refs;
};

class MemoryKeys : public write::KeySource {
 public:
  Result<std::optional<crypto::Key>> Find(const std::string& household) override {
    if (auto it = keys.find(household); it != keys.end()) return std::optional<crypto::Key>(it->second);
    return std::optional<crypto::Key>();
  }
  crypto::Key NewKey() override {
    crypto::Key k{};
    k[0] = static_cast<uint8_t>(++made);
    return k;
  }
  Result<crypto::Key> Adopt(const std::string& household, const crypto::Key& candidate) override {
    return keys.emplace(household, candidate).first->second;
  }
  std::map<std::string, crypto::Key> keys;
  int made = 0;
};

std::string Household(int n, const std::string& id, const std::string& date = "2015-01-01",
                      const std::string& extra = "") {
  return Ev(n, "HouseholdRegistered", "household/" + id, date,
            R"({"territory":"lille","commune":"Lille","adults":1,"children":0,"headOfHousehold":{"name":"Test","birthDate":"1980-01-01"}})",
            extra);
}
std::string Difficulty(int n, const std::string& id, const std::string& extra = "") {
  return Ev(n, "DifficultyReported", "household/" + id, "2015-02-01",
            R"({"category":"isolation","severity":1})", extra);
}
std::string Dwelling(int n, const std::string& id, const std::string& typology = "T2") {
  return Ev(n, "DwellingRegistered", "dwelling/" + id, "2015-01-01",
            R"({"territory":"lille","commune":"Lille","typology":")" + typology +
                R"(","adaptations":[],"rentCents":1})");
}
std::string Correction(int n, const std::string& subject, int target, const std::string& data) {
  return Ev(n, "EventCorrected", subject, "2015-06-01",
            R"({"targetId":")" + IdOf(target) + R"(","data":)" + data + R"(,"reason":"typo"})");
}

class AdmissionTest : public ::testing::Test {
 protected:
  AdmissionTest()
      : clock_(std::make_shared<ManualClock>(kNow)), admission_(&state_, &keys_, &folds_, clock_) {}

  // Parses as the engine's Prepare does (without pre-encoding: admission
  // then encodes on its own path), and judges on top of `g`.
  AppendOutcome Judge(const std::string& text, write::Group& g, AppendOptions opt = {}) {
    AppendRequest req;
    req.options = opt;
    InternScope intern;
    req.intern_table = intern.table();
    auto err = codec::ParseRequest(text, &req.events, &req.is_batch);
    EXPECT_FALSE(err) << (err ? err->message : "");
    if (err) return AppendOutcome();
    req.seal_keys.resize(req.events.size());
    return admission_.Judge(req, g);
  }
  // Judges into a fresh group on the committed state, and commits it.
  AppendOutcome Committed(const std::string& text, AppendOptions opt = {}) {
    write::Group g;
    g.tip = tip_;
    AppendOutcome o = Judge(text, g, opt);
    if (o.kind == AppendOutcome::Kind::kAccepted) {
      state_.Commit(g);
      tip_ = g.tip;
    }
    return o;
  }

  MemoryState state_;
  MemoryKeys keys_;
  cache::FoldCache folds_;
  std::shared_ptr<ManualClock> clock_;
  Admission admission_;
  write::ChainTip tip_;
};

#define EXPECT_REFUSED(outcome, expected_code)                                  \
  do {                                                                          \
    AppendOutcome _o = (outcome);                                               \
    EXPECT_EQ(_o.kind, AppendOutcome::Kind::kRefused) << relais::testing::OutcomeText(_o); \
    EXPECT_EQ(_o.refusal.code, expected_code) << relais::testing::OutcomeText(_o);         \
  } while (0)

TEST_F(AdmissionTest, AcceptedEventsGoIntoTheGroup) {
  write::Group g;
  g.tip = tip_;
  AppendOutcome o = Judge("[" + Household(1, "H1") + "," + Difficulty(2, "H1") + "]", g);
  ASSERT_EQ(o.kind, AppendOutcome::Kind::kAccepted) << relais::testing::OutcomeText(o);
  ASSERT_EQ(o.results.size(), 2u);
  EXPECT_EQ(o.results[1].position, 2u);
  EXPECT_EQ(o.results[1].version, 1);
  EXPECT_EQ(g.batch.Count(), 2u * 3u);  // log, stream index, id index per event
  EXPECT_EQ(g.tip.next_position, 3u);
  EXPECT_EQ(EventsOf(g).pending["household/H1"].size(), 2u);
  EXPECT_EQ(keys_.keys.count("household/H1"), 1u);  // the household's key adopted
}

TEST_F(AdmissionTest, AResentEventIsADuplicateAndADifferentOneAnIdConflict) {
  ASSERT_EQ(Committed(Household(1, "H1")).kind, AppendOutcome::Kind::kAccepted);
  write::Group g;
  g.tip = tip_;
  AppendOutcome again = Judge(Household(1, "H1"), g);
  EXPECT_EQ(again.kind, AppendOutcome::Kind::kDuplicate) << relais::testing::OutcomeText(again);
  ASSERT_EQ(again.results.size(), 1u);
  EXPECT_EQ(again.results[0].position, 1u);
  EXPECT_TRUE(again.results[0].duplicate);
  EXPECT_EQ(g.batch.Count(), 0u);
  // The same id with another date, then in another stream: not the same event.
  EXPECT_REFUSED(Judge(Household(1, "H1", "2015-01-02"), g), "id_conflict");
  EXPECT_REFUSED(Judge(Household(1, "H2"), g), "id_conflict");
  // A batch mixing a recorded event with a new one.
  EXPECT_REFUSED(Judge("[" + Household(1, "H1") + "," + Difficulty(2, "H1") + "]", g),
                 "id_conflict");
  // One id twice in a batch.
  EXPECT_REFUSED(Judge("[" + Difficulty(5, "H1") + "," + Difficulty(5, "H1") + "]", g),
                 "id_conflict");
}

TEST_F(AdmissionTest, ADuplicateOfAnEventInFlightIsSeen) {
  write::Group first;
  first.tip = tip_;
  ASSERT_EQ(Judge(Household(1, "H1"), first).kind, AppendOutcome::Kind::kAccepted);
  write::Group second;
  second.prev = &first;
  second.tip = first.tip;
  EXPECT_EQ(Judge(Household(1, "H1"), second).kind, AppendOutcome::Kind::kDuplicate);
  EXPECT_REFUSED(Judge(Household(1, "H1", "2015-01-03"), second), "id_conflict");
}

TEST_F(AdmissionTest, VersionConflictInABatch) {
  ASSERT_EQ(Committed(Household(1, "H1")).kind, AppendOutcome::Kind::kAccepted);
  write::Group g;
  g.tip = tip_;
  // The stream is at version 0; the batch's first event expects it, the
  // second expects 0 again although the first moved it to 1.
  AppendOutcome o = Judge("[" + Difficulty(2, "H1", R"(,"expectedVersion":0)") + "," +
                              Difficulty(3, "H1", R"(,"expectedVersion":0)") + "]",
                          g);
  EXPECT_REFUSED(o, "version_conflict");
  EXPECT_EQ(o.refusal.kind, "conflict");
  EXPECT_EQ(o.refusal.current_version, 1);
  EXPECT_EQ(o.refusal.id, IdOf(3));
  EXPECT_EQ(g.batch.Count(), 0u);  // nothing of a refused batch
  AppendOutcome ok = Judge("[" + Difficulty(2, "H1", R"(,"expectedVersion":0)") + "," +
                               Difficulty(3, "H1", R"(,"expectedVersion":1)") + "]",
                           g);
  EXPECT_EQ(ok.kind, AppendOutcome::Kind::kAccepted) << relais::testing::OutcomeText(ok);
}

TEST_F(AdmissionTest, RecordedAtNeverGoesBack) {
  AppendOptions import;
  import.allow_recorded_at = true;
  ASSERT_EQ(Committed(Household(1, "H1", "2015-01-01", R"(,"recordedAt":"2020-01-01T00:00:00Z")"),
                      import)
                .kind,
            AppendOutcome::Kind::kAccepted);
  EXPECT_EQ(tip_.last_recorded, *ParseTimestamp("2020-01-01T00:00:00Z"));
  write::Group g;
  g.tip = tip_;
  EXPECT_REFUSED(Judge(Difficulty(2, "H1", R"(,"recordedAt":"2019-12-31T23:59:59Z")"), g, import),
                 "recorded_at_regression");
  // Without the import option the field is not the caller's to set.
  EXPECT_REFUSED(Judge(Difficulty(2, "H1", R"(,"recordedAt":"2021-01-01T00:00:00Z")"), g),
                 "malformed");
  // Stamped by the clock, never before the last recorded event.
  clock_->Set(ParseTimestamp("2019-06-01T00:00:00Z")->micros);
  AppendOutcome stamped = Judge(Difficulty(3, "H1"), g);
  ASSERT_EQ(stamped.kind, AppendOutcome::Kind::kAccepted) << relais::testing::OutcomeText(stamped);
  EXPECT_EQ(g.tip.last_recorded, *ParseTimestamp("2020-01-01T00:00:00Z"));
}

TEST_F(AdmissionTest, ACorrectionOfAnEventInFlight) {
  write::Group first;
  first.tip = tip_;
  ASSERT_EQ(Judge(Dwelling(1, "D1"), first).kind, AppendOutcome::Kind::kAccepted);
  // The target is only in the group being written, not committed.
  write::Group second;
  second.prev = &first;
  second.tip = first.tip;
  AppendOutcome o = Judge(Correction(2, "dwelling/D1", 1, R"({"typology":"T5"})"), second);
  ASSERT_EQ(o.kind, AppendOutcome::Kind::kAccepted) << relais::testing::OutcomeText(o);
  const auto& pending = EventsOf(second).pending["dwelling/D1"];
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].fact.target_id, *ParseUuid(IdOf(1)));
  EXPECT_EQ(pending[0].fact.typology, sc::Typology::T5);  // folded into the target's data
  EXPECT_EQ(pending[0].version, 1);
}

TEST_F(AdmissionTest, ARefusedCorrectionNamesNoTargetClass) {
  ASSERT_EQ(Committed(Household(1, "H1")).kind, AppendOutcome::Kind::kAccepted);
  ASSERT_EQ(Committed(Dwelling(2, "D1")).kind, AppendOutcome::Kind::kAccepted);
  write::Group g;
  g.tip = tip_;
  // Targets of another stream, and an unknown id: the same refusal, which
  // tells nothing of what the target is.
  std::vector<std::string> messages;
  for (const std::string& text : {Correction(3, "dwelling/D1", 1, R"({"typology":"T5"})"),
                                  Correction(4, "household/H1", 2, R"({"adults":2})"),
                                  Correction(5, "dwelling/D1", 99, R"({"typology":"T5"})")}) {
    AppendOutcome o = Judge(text, g);
    EXPECT_REFUSED(o, "target_not_found");
    for (const char* cls : {"Household", "Dwelling", "household/", "Registered"})
      EXPECT_EQ(o.refusal.message.find(cls), std::string::npos) << o.refusal.message;
    messages.push_back(o.refusal.message.substr(o.refusal.message.find(' ', 6)));
  }
  EXPECT_EQ(messages[0], messages[1]);
  EXPECT_EQ(messages[1], messages[2]);
  EXPECT_EQ(g.batch.Count(), 0u);
}

}  // namespace
}  // namespace relais::admit
