// The crash workload itself: deterministic, and valid per the contract when
// sent one request at a time, so that a verdict the crash driver reports
// under concurrency is the engine's, never the workload's.
#include "crash/workload.h"

#include <gtest/gtest.h>

#include <set>

#include "support/test_support.h"

namespace relais::crash {
namespace {

using testing::EngineFixture;
using testing::OutcomeText;

TEST(CrashWorkloadTest, SameSeedAndIterationSameRequests) {
  Workload a = MakeWorkload(99, 3, 5), b = MakeWorkload(99, 3, 5);
  ASSERT_EQ(a.requests.size(), b.requests.size());
  for (size_t i = 0; i < a.requests.size(); ++i) EXPECT_EQ(a.requests[i].Body(), b.requests[i].Body());
}

TEST(CrashWorkloadTest, IdsAndHouseholdsAreNewInEveryIteration) {
  std::set<std::string> ids, households;
  for (int it = 0; it < 3; ++it) {
    Workload w = MakeWorkload(99, it, 5);
    for (const auto& r : w.requests)
      for (const auto& e : r.events) EXPECT_TRUE(ids.insert(e.id).second) << e.id;
    for (const auto& h : w.households) EXPECT_TRUE(households.insert(h.subject).second);
  }
}

// Sent in the order the threads would send them when nobody races: every
// request gets the verdict the driver expects (the referral, sent after its
// registration here, is accepted).
TEST(CrashWorkloadTest, SequentialVerdictsAreTheExpectedOnes) {
  for (uint64_t seed : {1ull, 7ull, 123456789ull}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    EngineFixture fx;
    Workload w = MakeWorkload(seed, 0, 6);
    auto send = [&](int index) {
      const Request& r = w.requests[static_cast<size_t>(index)];
      AppendOutcome o = fx.engine->Append(r.Body(), AppendOptions{});
      if (r.expect == Expect::kRefuse) {
        EXPECT_EQ(o.kind, AppendOutcome::Kind::kRefused) << r.Body() << "\n" << OutcomeText(o);
      } else {
        EXPECT_EQ(o.kind, AppendOutcome::Kind::kAccepted) << r.Body() << "\n" << OutcomeText(o);
      }
    };
    for (const auto& h : w.households) {
      send(h.reg);
      send(h.ref);
      for (int f : h.follow) send(f);
    }
    for (int b : w.bulk) send(b);
  }
}

TEST(CrashWorkloadTest, JournalLinesRoundTrip) {
  Outcome a{Outcome::kAccepted, {4, 5}, ""};
  Outcome r{Outcome::kRefused, {}, "episode_not_active"};
  Outcome u{Outcome::kUnknown, {}, "io error\nwith a newline"};
  Outcome p{Outcome::kSending, {}, ""};
  for (const Outcome& o : {a, r, u, p}) {
    std::string line = JournalLine(17, o);
    ASSERT_EQ(line.back(), '\n');
    line.pop_back();
    EXPECT_EQ(line.find('\n'), std::string::npos);
    int index = 0;
    Outcome back;
    ASSERT_TRUE(ParseJournalLine(line, &index, &back)) << line;
    EXPECT_EQ(index, 17);
    EXPECT_EQ(back.kind, o.kind);
    EXPECT_EQ(back.positions, o.positions);
    if (o.kind == Outcome::kRefused) {
      EXPECT_EQ(back.code, o.code);
    }
  }
  int index;
  Outcome o;
  EXPECT_FALSE(ParseJournalLine("O", &index, &o));
  EXPECT_FALSE(ParseJournalLine("12 A ", &index, &o));
}

}  // namespace
}  // namespace relais::crash
