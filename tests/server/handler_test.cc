// The handlers without sockets (server/router.h HandleRequest) on a real
// data directory: the access journal failing closed, its torn-tail repair,
// the feed's per-subject journal entries, the pseudonym key.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include "relais/files.h"
#include "server/router.h"
#include "server/state.h"
#include "server/token_store.h"
#include "support/test_support.h"

namespace relais::server {
namespace {

using relais::testing::TempDir;

std::string Registered(int n, const std::string& subject) {
  return relais::testing::Ev(
      n, "HouseholdRegistered", subject, "2024-01-10",
      R"({"territory":"lille","commune":"Lille","adults":1,"children":0,)"
      R"("headOfHousehold":{"name":"N","birthDate":"1980-05-01"}})");
}

class HandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TokenEntry admin;
    admin.name = "admin";
    admin.role = Role::kAdmin;
    auto secret = AddToken(dir_.path(), admin);
    ASSERT_TRUE(secret.ok()) << secret.status().message();
    admin_ = *secret;
    // Before the state opens: a running token store rereads the file at
    // most every 500 ms.
    TokenEntry coord;
    coord.name = "coord-sud";
    coord.role = Role::kCoordinator;
    coord.territory = "sud";
    auto coord_secret = AddToken(dir_.path(), coord);
    ASSERT_TRUE(coord_secret.ok()) << coord_secret.status().message();
    coord_sud_ = *coord_secret;
    ServerOptions o;
    o.data_dir = dir_.path();
    auto s = OpenState(o);
    ASSERT_TRUE(s.ok()) << s.status().message();
    s_ = std::move(*s);
    for (int i = 1; i <= 3; ++i) {
      Response r = Do(http::verb::post, "/v1/events",
                      Registered(i, "household/H" + std::to_string(i)));
      ASSERT_EQ(r.status, http::status::created) << r.body;
    }
  }
  Response Do(http::verb m, const std::string& target, std::string body = "",
              std::vector<std::pair<std::string, std::string>> extra = {}) {
    Request req;
    req.method = m;
    req.target = target;
    req.headers = {{"Authorization", "Bearer " + admin_}};
    for (auto& h : extra) req.headers.push_back(std::move(h));
    req.body = std::move(body);
    return HandleRequest(*s_, std::move(req));
  }
  std::string JournalText() {
    return relais::testing::ReadFile(dir_.path() + "/access-journal.ndjson");
  }

  // `count` households registered in lille, in batches of 1000 (not synced
  // one by one: the test is about reading them).
  void RegisterInLille(int first, int count) {
    AppendOptions bulk;
    bulk.sync = false;
    std::vector<std::string> requests;
    for (int at = 0; at < count; at += 1000) {
      std::string batch = "[";
      for (int i = at; i < std::min(count, at + 1000); ++i) {
        if (i > at) batch += ",";
        batch += Registered(first + i, "household/L" + std::to_string(first + i));
      }
      requests.push_back(batch + "]");
    }
    for (auto& f : s_->engine->AppendManyAsync(std::move(requests), bulk)) {
      AppendOutcome o = f.get();
      ASSERT_EQ(o.kind, AppendOutcome::Kind::kAccepted) << relais::testing::OutcomeText(o);
    }
    ASSERT_TRUE(s_->engine->Sync().ok());
  }
  // The feed's stream as the transport gets it (follow mode), without sockets.
  std::unique_ptr<StreamSource> OpenFeed(const std::string& target,
                                         std::vector<std::pair<std::string, std::string>> headers) {
    Request req;
    req.method = http::verb::get;
    req.target = target;
    req.headers = std::move(headers);
    Routed r = Route(*s_, req);
    EXPECT_EQ(r.kind, Routed::Kind::kStream) << r.response.body;
    return std::move(r.stream);
  }

  TempDir dir_;
  std::string admin_;
  std::string coord_sud_;  // a coordinator of territory sud: sees nothing of lille
  std::unique_ptr<State> s_;
};

ssize_t FailWrite(int, const void*, size_t) {
  errno = ENOSPC;
  return -1;
}
// Writes half, then fails: a short write followed by ENOSPC.
ssize_t HalfThenFail(int fd, const void* buf, size_t n) {
  static bool half_done = false;
  if (!half_done) {
    half_done = true;
    return ::write(fd, buf, n / 2);
  }
  half_done = false;
  errno = ENOSPC;
  return -1;
}
int FailSync(int) {
  errno = EIO;
  return -1;
}

// Defect 10: a journal that cannot record the read answers 503 kind
// "unavailable", never the data.
TEST_F(HandlerTest, FailedJournalWriteAnswers503NotTheData) {
  ASSERT_EQ(Do(http::verb::get, "/v1/streams/household%2FH1/status").status, http::status::ok);
  s_->journal->SetIoForTest({FailWrite, nullptr});
  for (const char* t : {"/v1/streams/household%2FH1/status", "/v1/streams/household%2FH1/events",
                        "/v1/streams/household%2FH9/status", "/v1/export"}) {
    Response r = Do(http::verb::get, t);
    EXPECT_EQ(r.status, http::status::service_unavailable) << t << " " << r.body;
    EXPECT_NE(r.body.find("\"unavailable\""), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("lille"), std::string::npos) << r.body;
  }
  // The feed ends with an error event and delivers no event.
  Response feed = Do(http::verb::get, "/v1/feed");
  EXPECT_EQ(feed.body.find("id: 1"), std::string::npos) << feed.body;
  EXPECT_NE(feed.body.find("journal_unavailable"), std::string::npos) << feed.body;
  // Writes still work: the journal is for reads.
  s_->journal->SetIoForTest({});
  EXPECT_EQ(Do(http::verb::get, "/v1/streams/household%2FH1/status").status, http::status::ok);
}

// Defect 10: a short write then a failure leaves no torn line.
TEST_F(HandlerTest, ShortJournalWriteLeavesNoTornLine) {
  ASSERT_EQ(Do(http::verb::get, "/v1/streams/household%2FH1/status").status, http::status::ok);
  std::string before = JournalText();
  s_->journal->SetIoForTest({HalfThenFail, nullptr});
  EXPECT_EQ(Do(http::verb::get, "/v1/streams/household%2FH2/status").status,
            http::status::service_unavailable);
  EXPECT_EQ(JournalText(), before);
  s_->journal->SetIoForTest({});
  EXPECT_EQ(Do(http::verb::get, "/v1/streams/household%2FH3/status").status, http::status::ok);
  std::string after = JournalText();
  ASSERT_EQ(after.back(), '\n');
  EXPECT_NE(after.find("household/H3"), std::string::npos);
  EXPECT_EQ(after.find("household/H2"), std::string::npos);
}

// Defect 10: an fdatasync error is an error, and latches: no later read is
// answered (the unsynced entries may be lost; retrying would lie).
TEST_F(HandlerTest, FdatasyncErrorLatchesTheJournalFailed) {
  s_->journal->SetIoForTest({nullptr, FailSync});
  ASSERT_EQ(Do(http::verb::get, "/v1/streams/household%2FH1/status").status, http::status::ok);
  EXPECT_FALSE(s_->journal->Sync().ok());
  s_->journal->SetIoForTest({});
  EXPECT_EQ(Do(http::verb::get, "/v1/streams/household%2FH1/status").status,
            http::status::service_unavailable);
}

// Defect 10: a torn tail from a crash is cut on open, so the next entry
// starts on its own line.
TEST_F(HandlerTest, TornJournalTailIsRepairedOnOpen) {
  ASSERT_EQ(Do(http::verb::get, "/v1/streams/household%2FH1/status").status, http::status::ok);
  s_.reset();
  std::string whole = JournalText();
  {
    std::ofstream f(dir_.path() + "/access-journal.ndjson", std::ios::app);
    f << R"({"at":"2024-01-01T00:00:00Z","token":"admin","ro)";
  }
  ServerOptions o;
  o.data_dir = dir_.path();
  auto s = OpenState(o);
  ASSERT_TRUE(s.ok()) << s.status().message();
  s_ = std::move(*s);
  EXPECT_EQ(JournalText(), whole);
  ASSERT_EQ(Do(http::verb::get, "/v1/streams/household%2FH2/status").status, http::status::ok);
  Response audit = Do(http::verb::get, "/v1/audit/access?subject=household%2FH2");
  EXPECT_NE(audit.body.find("household/H2"), std::string::npos) << audit.body;
}

// Defect 10: the feed journals one entry per subject it delivered, not "*".
TEST_F(HandlerTest, FeedJournalsTheSubjectsDelivered) {
  Response feed = Do(http::verb::get, "/v1/feed?from=2");
  ASSERT_EQ(feed.status, http::status::ok);
  EXPECT_NE(feed.body.find("id: 3"), std::string::npos) << feed.body;
  std::string j = JournalText();
  EXPECT_EQ(j.find("\"subject\":\"*\""), std::string::npos) << j;
  EXPECT_EQ(j.find("household/H1"), std::string::npos) << j;  // before `from`
  EXPECT_NE(j.find("household/H2"), std::string::npos) << j;
  EXPECT_NE(j.find("household/H3"), std::string::npos) << j;
}

// Defect 12: an empty pseudonym.key (an old crash between create and write)
// is a clear error naming the file, never a silent new key.
TEST(PseudonymKey, EmptyOrTornKeyIsAnErrorNamingTheFile) {
  TempDir dir;
  auto key = LoadPseudonymKey(dir.path());
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->size(), 32u);
  auto again = LoadPseudonymKey(dir.path());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *key);
  ASSERT_TRUE(files::WriteFileAtomic(dir.path() + "/pseudonym.key", "").ok());
  auto bad = LoadPseudonymKey(dir.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("pseudonym.key"), std::string::npos);
}

// Item 1: the router keeps the feed's and the stream reads' validation
// socket-free: bad ids are 400s.
TEST_F(HandlerTest, BadLastEventIdIs400) {
  Response r = Do(http::verb::get, "/v1/feed", "", {{"Last-Event-ID", "18446744073709551615"}});
  EXPECT_EQ(r.status, http::status::bad_request) << r.body;
}

// Defect 13: metrics labels never grow without bound, whatever codes and
// routes arrive.
TEST(MetricsBound, LabelSetsAreCapped) {
  Metrics m;
  for (int i = 0; i < 5000; ++i) {
    m.Refusal("code_" + std::to_string(i));
    m.Request("route_" + std::to_string(i), 200 + i, 0.001);
  }
  std::string page = m.Render({});
  size_t lines = std::count(page.begin(), page.end(), '\n');
  EXPECT_LT(lines, 20u * Metrics::kLabelSetsMax);
  EXPECT_NE(page.find("code=\"other\""), std::string::npos);
}

// A catch-up that its caller sees nothing of (a coordinator of sud reading
// from position 1 a log of lille) gives the worker back after each scanned
// batch, with an empty chunk the transport pulls again after what else the
// pool has queued (streaming.cc OnPulled), instead of scanning the whole log
// in one Next() on a pool of 4 threads shared with every append and read.
// Seen failing before the fix: the Next() after `retry:` scanned all 5003
// events and answered kWait (0 empty chunks, 10 expected).
TEST_F(HandlerTest, FeedFilteredCatchUpYields) {
  RegisterInLille(100, 5000);
  const Position head = s_->engine->GetHead().position;
  ASSERT_EQ(head, 5003u);
  auto feed = OpenFeed("/v1/feed?from=1", {{"Authorization", "Bearer " + coord_sud_}});
  ASSERT_TRUE(feed);
  StreamSource::Pulled p = feed->Next(*s_);
  ASSERT_EQ(p.kind, StreamSource::Pulled::Kind::kChunk);
  ASSERT_EQ(p.bytes, "retry: 2000\n\n");
  size_t empty_chunks = 0;
  for (;;) {
    p = feed->Next(*s_);
    if (p.kind != StreamSource::Pulled::Kind::kChunk) break;
    EXPECT_EQ(p.bytes, "") << "a coordinator of sud sees nothing of lille";
    ASSERT_LE(++empty_chunks, head) << "the catch-up does not move";
  }
  // One Next() per batch of 512 scanned events, then the live wait.
  EXPECT_EQ(empty_chunks, (head + 511) / 512);
  EXPECT_EQ(p.kind, StreamSource::Pulled::Kind::kWait);
  EXPECT_EQ(p.after, head);
}

// Between two batches of such a catch-up, the stream checks again that its
// caller may read: a session ended mid catch-up ends the stream at the next
// pull, not once the whole log is scanned. Seen failing before the fix: the
// first pull after `retry:` scanned everything and answered kWait.
TEST_F(HandlerTest, FeedCatchUpChecksTheSessionBetweenBatches) {
  RegisterInLille(100, 2000);
  Request sign_in;
  sign_in.method = http::verb::post;
  sign_in.target = "/v1/session";
  sign_in.headers = {{"Content-Type", "application/json"}};
  sign_in.body = "{\"token\":\"" + coord_sud_ + "\"}";
  Response r = HandleRequest(*s_, std::move(sign_in));
  ASSERT_EQ(r.status, http::status::created) << r.body;
  std::string session;
  for (const auto& [k, v] : r.headers)
    if (k == "Set-Cookie") session = v.substr(v.find('=') + 1, 64);
  ASSERT_EQ(session.size(), 64u);
  auto feed = OpenFeed("/v1/feed?from=1", {{"Cookie", "relais_session=" + session}});
  ASSERT_TRUE(feed);
  ASSERT_EQ(feed->Next(*s_).bytes, "retry: 2000\n\n");
  StreamSource::Pulled p = feed->Next(*s_);
  ASSERT_EQ(p.kind, StreamSource::Pulled::Kind::kChunk);
  ASSERT_EQ(p.bytes, "");  // one batch scanned, nothing to send
  ASSERT_TRUE(s_->sessions->Remove(session));  // signed out
  p = feed->Next(*s_);
  ASSERT_EQ(p.kind, StreamSource::Pulled::Kind::kChunk);
  EXPECT_NE(p.bytes.find("\"unauthorized\""), std::string::npos) << p.bytes;
  EXPECT_EQ(feed->Next(*s_).kind, StreamSource::Pulled::Kind::kEnd);
}

}  // namespace
}  // namespace relais::server
