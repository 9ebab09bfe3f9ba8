// The replay digest (projections/include/relais/projections/digest.h): the
// same events give the same digest whatever the directory, the clocks, the
// order streams were loaded in, a reopen or a backup; one more event changes it.
#include "relais/projections/digest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "relais/json_writer.h"
#include "relais/projections/views.h"
#include "support/test_support.h"

namespace relais::testing {
namespace {

const std::string kJourney = std::string(RELAIS_SPEC_DIR) + "/examples/journey.ndjson";

void ImportJourney(Engine& e) {
  std::istringstream in(ReadFile(kJourney));
  std::string line;
  int lines = 0;
  // Some lines of the example are refused on purpose: replay them all alike.
  while (std::getline(in, line)) {
    Import(e, line);
    ++lines;
  }
  ASSERT_EQ(lines, 40);
}

// The log of `from` as import lines: every event with its recordedAt and actor.
std::vector<std::string> Replay(Engine& from) {
  std::vector<std::string> out;
  Status st = from.Scan(1, [&](const StoredEventView& v) {
    JsonWriter w;
    w.BeginObject();
    w.Key("id").String(FormatUuid(v.record.id));
    w.Key("type").String(EventTypeName(v.record.type));
    w.Key("subject").String(v.subject.text);
    w.Key("effectiveDate").String(FormatDate(v.record.effective));
    w.Key("recordedAt").String(FormatTimestamp(v.record.recorded));
    w.Key("actor").BeginObject();
    w.Key("id").String(v.actor.id);
    w.Key("role").String(v.actor.role);
    w.Key("org").String(v.actor.org);
    w.EndObject();
    w.Key("data").Raw(v.data_json);
    w.EndObject();
    out.push_back(w.Take());
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.message();
  return out;
}

std::string Digest(Engine& e) {
  auto d = projections::ReplayDigest(e);
  EXPECT_TRUE(d.ok()) << d.status().message();
  return d.ok() ? *d : std::string();
}

TEST(ReplayDigestTest, IsHexSha256AndStableAcrossCalls) {
  EngineFixture f;
  ImportJourney(*f.engine);
  std::string d = Digest(*f.engine);
  ASSERT_EQ(d.size(), 64u);
  EXPECT_EQ(d.find_first_not_of("0123456789abcdef"), std::string::npos) << d;
  // The engine's clock is not part of it.
  f.clock->Advance(int64_t{400} * 86400 * 1000000);
  EXPECT_EQ(Digest(*f.engine), d);
}

// A replay: the same import lines (same recordedAt) into another directory,
// with another engine clock and the production key generator, so that the
// sealed personal data, and with it the chain hashes, differ.
TEST(ReplayDigestTest, AReplayIntoAnotherDirectoryGivesTheSameDigest) {
  EngineFixture a;
  ImportJourney(*a.engine);
  EngineFixture b;
  b.clock->Set(int64_t{1893456000} * 1000000);  // 2030-01-01; the lines carry recordedAt
  b.options.key_generator = nullptr;            // libsodium's CSPRNG, as in production
  b.engine = b.Reopen();
  ASSERT_TRUE(b.engine);
  ImportJourney(*b.engine);
  ASSERT_EQ(a.engine->GetHead().position, b.engine->GetHead().position);
  ASSERT_NE(a.engine->GetHead().hash, b.engine->GetHead().hash) << "the keys should differ";
  EXPECT_EQ(Digest(*a.engine), Digest(*b.engine));
}

// The engine's history of a log, re-imported event by event (recordedAt and
// actor kept): the projections of the copy are those of the original.
TEST(ReplayDigestTest, AReimportOfTheHistoryGivesTheSameDigest) {
  EngineFixture a;
  ImportJourney(*a.engine);
  EngineFixture b;
  for (const std::string& line : Replay(*a.engine)) {
    AppendOutcome o = Import(*b.engine, line);
    ASSERT_EQ(o.kind, AppendOutcome::Kind::kAccepted) << line << ": " << OutcomeText(o);
  }
  EXPECT_EQ(Digest(*a.engine), Digest(*b.engine));
}

TEST(ReplayDigestTest, DoesNotDependOnTheOrderStreamsWereLoaded) {
  EngineFixture f;
  ImportJourney(*f.engine);
  std::string warm = Digest(*f.engine);  // streams cached by the writer

  // Cold, streams loaded one by one in reverse subject order first.
  f.engine = f.Reopen();
  ASSERT_TRUE(f.engine);
  auto streams = f.engine->ListStreams();
  ASSERT_TRUE(streams.ok());
  ASSERT_GT(streams->size(), 3u);
  std::sort(streams->begin(), streams->end(),
            [](const Subject& x, const Subject& y) { return x.text > y.text; });
  for (const Subject& s : *streams)
    ASSERT_TRUE(f.engine->ReadStream(s, [](const std::vector<EventRecord>&) {}).ok());
  EXPECT_EQ(Digest(*f.engine), warm);

  // Cold, every stream loaded by one scan of the log.
  f.engine = f.Reopen();
  ASSERT_TRUE(f.engine);
  ASSERT_TRUE(f.engine->WarmAll({}).ok());
  EXPECT_EQ(Digest(*f.engine), warm);

  // Cold, nothing loaded before.
  f.engine = f.Reopen();
  ASSERT_TRUE(f.engine);
  EXPECT_EQ(Digest(*f.engine), warm);
}

TEST(ReplayDigestTest, ARestoredBackupHasTheSameDigest) {
  EngineFixture f;
  ImportJourney(*f.engine);
  std::string dest = f.dir.path() + "/backup";
  auto point = f.engine->Backup(dest);
  ASSERT_TRUE(point.ok()) << point.status().message();
  Options o;
  o.data_dir = dest;
  o.read_only = true;
  auto copy = Engine::Open(o);
  ASSERT_TRUE(copy.ok()) << copy.status().message();
  EXPECT_EQ(Digest(**copy), Digest(*f.engine));
}

TEST(ReplayDigestTest, OneMoreEventChangesTheDigest) {
  EngineFixture f;
  ImportJourney(*f.engine);
  std::string before = Digest(*f.engine);
  // A territory event recorded after the head: a new position, a new status.
  AppendOutcome o = Import(*f.engine, Ev(900, "PartnerMeetingHeld", "territory/lille", "2019-01-10",
                                         R"({"partners":["synthetic"],"topic":"t"})",
                                         R"(,"recordedAt":"2019-01-10T09:00:00Z")"));
  ASSERT_EQ(o.kind, AppendOutcome::Kind::kAccepted) << OutcomeText(o);
  std::string after = Digest(*f.engine);
  EXPECT_NE(after, before);
  EXPECT_EQ(Digest(*f.engine), after);
}

// What verify relies on with writers running: the digest at the verified
// position ignores later events, even one sharing the head's recordedAt
// (a view "known at" that time would include it).
TEST(ReplayDigestTest, IsKnownAtAPositionNotATime) {
  EngineFixture f;
  ImportJourney(*f.engine);
  Head head = f.engine->GetHead();
  std::string at_head = Digest(*f.engine);
  AppendOutcome o =
      Import(*f.engine, Ev(901, "PartnerMeetingHeld", "territory/sud", "2018-06-03",
                           R"({"partners":["synthetic"],"topic":"t"})",
                           ",\"recordedAt\":\"" + FormatTimestamp(head.recorded_at) + "\""));
  ASSERT_EQ(o.kind, AppendOutcome::Kind::kAccepted) << OutcomeText(o);
  ASSERT_EQ(f.engine->GetHead().recorded_at, head.recorded_at);
  auto at_p = projections::ReplayDigestAt(*f.engine, head.position);
  ASSERT_TRUE(at_p.ok()) << at_p.status().message();
  EXPECT_EQ(*at_p, at_head);
  EXPECT_NE(Digest(*f.engine), at_head);
  EXPECT_FALSE(projections::ReplayDigestAt(*f.engine, head.position + 2).ok());
}

TEST(ReplayDigestTest, AnEmptyLogHasAFixedDigest) {
  EngineFixture a, b;
  std::string d = Digest(*a.engine);
  EXPECT_EQ(d.size(), 64u);
  EXPECT_EQ(Digest(*b.engine), d);
  ImportJourney(*a.engine);
  EXPECT_NE(Digest(*a.engine), d);
}

// Another machine: the digest of the contract's example is pinned. It changes
// only when the status or report JSON of the example changes, which is a
// change of the contract's output to review, not a platform difference
// (last: household status gained `erased`, lifecycle.md §1).
TEST(ReplayDigestTest, TheExampleHasAPinnedDigest) {
  EngineFixture f;
  ImportJourney(*f.engine);
  EXPECT_EQ(Digest(*f.engine), "d4c89fc02312131a9819ebdd18d5f0e5bfb1a0a7fd4e808d1bb64a87c9ab0e17");
}

TEST(ReplayDigestTest, VerifyJsonCarriesTheDigestOnlyWhenOk) {
  EngineFixture f;
  ImportJourney(*f.engine);
  VerifyReport r = f.engine->Verify({});
  ASSERT_TRUE(r.ok) << r.problem;
  std::string json = projections::VerifyJson(*f.engine, &r);
  EXPECT_TRUE(r.ok);
  EXPECT_NE(json.find("\"digest\":\"" + Digest(*f.engine) + "\""), std::string::npos) << json;
  EXPECT_EQ(json.find("\"ok\":true"), 0u + 1) << json;

  VerifyReport bad;
  bad.ok = false;
  bad.first_bad_position = 7;
  bad.problem = "synthetic";
  json = projections::VerifyJson(*f.engine, &bad);
  EXPECT_EQ(json.find("digest"), std::string::npos) << json;
  EXPECT_FALSE(bad.ok);
}

}  // namespace
}  // namespace relais::testing
