// The access journal's rotation (server/access_journal.h, journal_files.h):
// by size, by age on an injected clock, deletion of expired files, the
// auditor's cursor across files (every entry exactly once, also while a
// writer appends and rotates), the household's file seeing rotated reads,
// and what a crash between the rename and the new file leaves.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <filesystem>
#include <set>
#include <thread>

#include "server/access_journal.h"
#include "server/journal_files.h"
#include "server/router.h"
#include "server/state.h"
#include "server/token_store.h"
#include "support/test_support.h"

namespace relais::server {
namespace {

using relais::testing::ManualClock;
using relais::testing::TempDir;

constexpr int64_t kDay = 86400LL * 1000000;
constexpr int64_t kT0 = 1798761600LL * 1000000;  // 2027-01-01T00:00:00Z

AccessEntry Entry(int i, const std::string& subject = "") {
  AccessEntry e;
  e.at = Timestamp{kT0 + i};
  e.token = "tok";
  e.role = "admin";
  e.subject = subject.empty() ? "household/P" + std::to_string(i) : subject;
  e.endpoint = "/v1/streams/status";
  e.allowed = true;
  return e;
}

struct Opened {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kT0);
  std::unique_ptr<AccessJournal> journal;
};

Opened OpenJournal(const std::string& dir, int64_t max_bytes, int64_t max_age_days = 365,
                   std::shared_ptr<ManualClock> clock = nullptr) {
  Opened o;
  if (clock) o.clock = clock;
  JournalOptions jo;
  jo.limits.max_bytes = max_bytes;
  jo.limits.max_age_days = max_age_days;
  jo.clock = o.clock;
  auto j = AccessJournal::Open(dir, jo);
  EXPECT_TRUE(j.ok()) << j.status().message();
  if (j.ok()) o.journal = std::move(*j);
  return o;
}

// Every page of `q` from the start: the subjects in order.
std::vector<std::string> PageAll(AccessJournal& j, JournalQuery q, int* pages = nullptr) {
  std::vector<std::string> out;
  simdjson::dom::parser parser;
  for (int n = 0; n < 100000; ++n) {
    auto json = j.QueryJson(q);
    EXPECT_TRUE(json.ok()) << json.status().message();
    if (!json.ok()) break;
    simdjson::dom::element root;
    EXPECT_FALSE(parser.parse(*json).get(root)) << *json;
    for (auto e : root["entries"].get_array()) out.emplace_back(e["subject"].get_string().value());
    if (pages) ++*pages;
    simdjson::dom::element next = root["next"];
    bool truncated = root["truncated"].get_bool().value();
    EXPECT_EQ(truncated, !next.is_null()) << *json;
    if (next.is_null()) break;
    q.cursor = std::string(next.get_string().value());
  }
  return out;
}

std::vector<std::string> Subjects(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back("household/P" + std::to_string(i));
  return out;
}

TEST(AccessJournalRotationTest, RotatesBySizeAndEveryEntryStaysInExactlyOneFile) {
  TempDir dir;
  Opened o = OpenJournal(dir.path(), 1024);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(o.journal->Record(Entry(i)).ok());
  auto rotated = ListRotatedJournals(dir.path());
  ASSERT_TRUE(rotated.ok());
  ASSERT_GE(rotated->size(), 5u);
  EXPECT_EQ(static_cast<int64_t>(rotated->size()), o.journal->rotations());
  std::string all;
  for (size_t i = 0; i < rotated->size(); ++i) {
    const RotatedJournal& r = (*rotated)[i];
    EXPECT_EQ(r.seq, i + 1) << r.path;
    EXPECT_LE(r.bytes, 1024) << r.path;
    EXPECT_GT(r.bytes, 1024 - 200) << r.path;  // filled up to the cap, not rotated early
    EXPECT_EQ(std::filesystem::status(r.path).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    all += relais::testing::ReadFile(r.path);
  }
  all += relais::testing::ReadFile(dir.path() + "/access-journal.ndjson");
  for (int i = 0; i < 60; ++i) {
    std::string needle = "\"household/P" + std::to_string(i) + "\"";
    size_t at = all.find(needle);
    ASSERT_NE(at, std::string::npos) << i;
    EXPECT_EQ(all.find(needle, at + 1), std::string::npos) << i << " twice";
  }
  int64_t on_disk = 0;
  for (const auto& r : *rotated) on_disk += r.bytes;
  on_disk += static_cast<int64_t>(std::filesystem::file_size(dir.path() + "/access-journal.ndjson"));
  EXPECT_EQ(o.journal->total_bytes(), on_disk);
}

std::atomic<int> g_fdatasyncs{0};
int CountingFdatasync(int fd) {
  ++g_fdatasyncs;
  return ::fdatasync(fd);
}

// A rotation whose rename fails (here: a directory holds the rotated name;
// in production a full disk that cannot grow the directory) leaves the
// active file growing, and is tried again a minute later, not on every entry.
// Before: each later Record fdatasynced the file, failed the rename again and
// logged an error, all under the journal's lock: every read paid a disk sync.
TEST(AccessJournalRotationTest, AFailedRotationIsRetriedAMinuteLaterNotOnEveryEntry) {
  TempDir dir;
  Opened o = OpenJournal(dir.path(), 1024);
  ASSERT_TRUE(std::filesystem::create_directory(dir.path() + "/" +
                                                RotatedJournalName(1, Timestamp{kT0})));
  o.journal->SetIoForTest(JournalIo{nullptr, CountingFdatasync});
  g_fdatasyncs = 0;
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(o.journal->Record(Entry(i)).ok()) << i;
  EXPECT_EQ(o.journal->rotations(), 0);
  EXPECT_GT(o.journal->bytes(), 1024);  // it grows past its cap meanwhile
  // One failed attempt, and perhaps a background sync (every 100 ms).
  EXPECT_LE(g_fdatasyncs.load(), 3) << "a rotation attempt per entry";
  // A minute later, the obstacle gone, the next entry rotates.
  std::filesystem::remove(dir.path() + "/" + RotatedJournalName(1, Timestamp{kT0}));
  o.clock->Advance(61LL * 1000000);
  ASSERT_TRUE(o.journal->Record(Entry(60)).ok());
  EXPECT_EQ(o.journal->rotations(), 1);
}

// An entry costs the same with a year of rotated files beside it (the
// default: daily rotation, 365 days kept) as with none: expired files are
// looked for after a rotation and by the minute's maintenance, not by every
// Record. Before: each Record listed and stat-ed the directory under the
// journal's lock: 7 us an entry with no rotated file, 650 us with 365
// (measured here), so a caseload page of 500 rows spent 0.3 s journaling.
TEST(AccessJournalRotationTest, RotatesDailyAndDeletesFilesPastTheAgeCap) {
  TempDir dir;
  Opened o = OpenJournal(dir.path(), 64 << 20, /*max_age_days=*/30);
  // One entry a day for 5 days: each day's first write rotates the day before.
  for (int d = 0; d < 5; ++d) {
    ASSERT_TRUE(o.journal->Record(Entry(d)).ok());
    o.clock->Advance(kDay);
  }
  auto rotated = ListRotatedJournals(dir.path());
  ASSERT_TRUE(rotated.ok());
  ASSERT_EQ(rotated->size(), 4u);
  EXPECT_EQ((*rotated)[0].rotated_at.micros, kT0 + kDay);  // the name holds the rotation time
  // No write for a day: the idle active file is rotated by the maintenance.
  ASSERT_TRUE(o.journal->MaintainForTest().ok());
  rotated = ListRotatedJournals(dir.path());
  ASSERT_EQ(rotated->size(), 5u);
  EXPECT_EQ(o.journal->bytes(), 0);
  // 30 days after the third rotation: the first three files are past the cap.
  o.clock->Set(kT0 + 3 * kDay + 30 * kDay + 1);
  ASSERT_TRUE(o.journal->MaintainForTest().ok());
  rotated = ListRotatedJournals(dir.path());
  ASSERT_EQ(rotated->size(), 2u);
  EXPECT_EQ((*rotated)[0].seq, 4u);
  JournalQuery q;
  EXPECT_EQ(PageAll(*o.journal, q), Subjects(3, 5));
  // Everything expired: the newest rotated file is emptied, not deleted, so
  // the next file still gets the next seq (cursors stay ordered).
  o.clock->Advance(365 * kDay);
  ASSERT_TRUE(o.journal->MaintainForTest().ok());
  rotated = ListRotatedJournals(dir.path());
  ASSERT_EQ(rotated->size(), 1u);
  EXPECT_EQ((*rotated)[0].seq, 5u);
  EXPECT_EQ((*rotated)[0].bytes, 0);
  EXPECT_EQ(PageAll(*o.journal, q), std::vector<std::string>{});
  ASSERT_TRUE(o.journal->Record(Entry(9)).ok());
  o.clock->Advance(kDay);
  ASSERT_TRUE(o.journal->Record(Entry(10)).ok());
  rotated = ListRotatedJournals(dir.path());
  ASSERT_EQ(rotated->back().seq, 6u);
  EXPECT_EQ(o.journal->total_bytes(),
            rotated->back().bytes + static_cast<int64_t>(std::filesystem::file_size(
                                        dir.path() + "/access-journal.ndjson")));
}

TEST(AccessJournalRotationTest, CursorPagesReturnEveryEntryOnceAcrossFiles) {
  TempDir dir;
  Opened o = OpenJournal(dir.path(), 1024);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(o.journal->Record(Entry(i)).ok());
  ASSERT_GE(o.journal->rotations(), 20);
  for (size_t limit : {1, 7, 1000}) {
    JournalQuery q;
    q.limit = limit;
    int pages = 0;
    EXPECT_EQ(PageAll(*o.journal, q, &pages), Subjects(0, 200)) << limit;
    EXPECT_EQ(pages, limit == 1000 ? 1 : static_cast<int>((200 + limit - 1) / limit)) << limit;
  }
  // The scan budget ends a page early; the cursor goes on where it stopped.
  JournalQuery q;
  q.scan_bytes_max = 500;
  int pages = 0;
  EXPECT_EQ(PageAll(*o.journal, q, &pages), Subjects(0, 200));
  EXPECT_GT(pages, 40);
  // Filters apply across files.
  JournalQuery one;
  one.subject = "household/P123";
  one.limit = 1;
  EXPECT_EQ(PageAll(*o.journal, one), std::vector<std::string>{"household/P123"});
  JournalQuery window;
  window.from = Timestamp{kT0 + 50};
  window.to = Timestamp{kT0 + 150};
  window.limit = 9;
  EXPECT_EQ(PageAll(*o.journal, window), Subjects(50, 150));
}

TEST(AccessJournalRotationTest, CursorPagingWhileAWriterAppendsAndRotates) {
  TempDir dir;
  Opened o = OpenJournal(dir.path(), 2048);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(o.journal->Record(Entry(i)).ok());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 100; i < 3000 && !stop; ++i) ASSERT_TRUE(o.journal->Record(Entry(i)).ok());
  });
  JournalQuery q;
  q.limit = 5;
  std::vector<std::string> got = PageAll(*o.journal, q);
  stop = true;
  writer.join();
  // The entries written before the paging started, in order, then some of
  // the later ones in order: never one twice, never a gap.
  ASSERT_GE(got.size(), 100u);
  EXPECT_EQ(got, Subjects(0, static_cast<int>(got.size())));
}

TEST(AccessJournalRotationTest, NoRotationNorDeletionWhileHeld) {
  TempDir dir;
  Opened o = OpenJournal(dir.path(), 1024, 1);
  {
    AccessJournal::RotationHold hold = o.journal->HoldRotation();
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(o.journal->Record(Entry(i)).ok());
    o.clock->Advance(3 * kDay);
    ASSERT_TRUE(o.journal->MaintainForTest().ok());
    EXPECT_EQ(o.journal->rotations(), 0);
    EXPECT_GT(o.journal->bytes(), 1024);
  }
  ASSERT_TRUE(o.journal->Record(Entry(30)).ok());
  EXPECT_EQ(o.journal->rotations(), 1);
  EXPECT_EQ(PageAll(*o.journal, JournalQuery{}), Subjects(0, 31));
}

TEST(AccessJournalRotationTest, AnOverlongDamagedLineIsSkippedNotBuffered) {
  TempDir dir;
  {
    std::ofstream f(dir.path() + "/access-journal.ndjson", std::ios::binary);
    f << std::string(3 << 20, 'x') << "\n";
  }
  Opened o = OpenJournal(dir.path(), 64 << 20);
  ASSERT_TRUE(o.journal->Record(Entry(1)).ok());
  int fd = ::open((dir.path() + "/access-journal.ndjson").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  JournalLineReader reader(fd, 0);
  std::string_view line;
  int64_t start = 0;
  auto more = reader.Next(&line, &start);
  ASSERT_TRUE(more.ok());
  ASSERT_TRUE(*more);
  EXPECT_EQ(start, (3 << 20) + 1);
  EXPECT_NE(line.find("household/P1"), std::string_view::npos);
  ::close(fd);
  EXPECT_EQ(PageAll(*o.journal, JournalQuery{}), Subjects(1, 2));
}

TEST(AccessJournalRotationTest, BadCursorsAreInvalidArguments) {
  TempDir dir;
  Opened o = OpenJournal(dir.path(), 1024);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(o.journal->Record(Entry(i)).ok());
  for (const char* c : {"x", "1-", "-5", "1-5", "1-1x", "99999-0", "1--1"}) {
    JournalQuery q;
    q.cursor = c;
    auto r = o.journal->QueryJson(q);
    ASSERT_FALSE(r.ok()) << c;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c;
  }
}

TEST(AccessJournalRotationTest, CursorsAndSeqSurviveARestartAndACrashAfterTheRename) {
  TempDir dir;
  std::string cursor;
  {
    Opened o = OpenJournal(dir.path(), 1024);
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(o.journal->Record(Entry(i)).ok());
    JournalQuery q;
    q.limit = 10;
    auto page = o.journal->QueryJson(q);
    ASSERT_TRUE(page.ok());
    simdjson::dom::parser parser;
    cursor = std::string(parser.parse(*page)["next"].get_string().value());
  }
  // A crash between the rename and the new active file: no active file.
  auto rotated = ListRotatedJournals(dir.path());
  ASSERT_TRUE(rotated.ok());
  uint64_t last = rotated->back().seq;
  std::string active = dir.path() + "/access-journal.ndjson";
  ASSERT_EQ(::rename(active.c_str(), (dir.path() + "/" + RotatedJournalName(last + 1, Timestamp{kT0})).c_str()), 0);
  Opened o = OpenJournal(dir.path(), 1024);
  ASSERT_TRUE(std::filesystem::exists(active));
  for (int i = 30; i < 40; ++i) ASSERT_TRUE(o.journal->Record(Entry(i)).ok());
  JournalQuery q;
  q.cursor = cursor;
  q.limit = 3;
  EXPECT_EQ(PageAll(*o.journal, q), Subjects(10, 40));
  rotated = ListRotatedJournals(dir.path());
  std::set<uint64_t> seqs;
  for (const auto& r : *rotated) EXPECT_TRUE(seqs.insert(r.seq).second) << r.path;
}

TEST(AccessJournalRotationTest, ReadJournalEntriesSeesReadsInRotatedFiles) {
  TempDir dir;
  Opened o = OpenJournal(dir.path(), 1024);
  ASSERT_TRUE(o.journal->Record(Entry(0, "household/FILE1")).ok());
  for (int i = 1; i < 40; ++i) ASSERT_TRUE(o.journal->Record(Entry(i)).ok());
  ASSERT_TRUE(o.journal->Record(Entry(40, "household/FILE1")).ok());
  ASSERT_GE(o.journal->rotations(), 3);
  auto entries = ReadJournalEntries(dir.path(), "household/FILE1");
  ASSERT_TRUE(entries.ok()) << entries.status().message();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].at.micros, kT0);
  EXPECT_EQ((*entries)[1].at.micros, kT0 + 40);
}

// The household's file over the handlers: a read rotated into an older file
// is still listed; and the auditor's endpoint pages with limit and next.
TEST(AccessJournalRotationTest, HouseholdFileAndAuditEndpointReadRotatedFiles) {
  TempDir dir;
  TokenEntry admin;
  admin.name = "admin";
  admin.role = Role::kAdmin;
  auto secret = AddToken(dir.path(), admin);
  ASSERT_TRUE(secret.ok());
  ServerOptions so;
  so.data_dir = dir.path();
  so.journal_max_bytes = 1024;
  so.log_level = LogLevel::kOff;
  auto st = OpenState(so);
  ASSERT_TRUE(st.ok()) << st.status().message();
  State& s = **st;
  auto Do = [&](http::verb m, const std::string& target, std::string body = "") {
    Request req;
    req.method = m;
    req.target = target;
    req.headers = {{"Authorization", "Bearer " + *secret}};
    req.body = std::move(body);
    return HandleRequest(s, std::move(req));
  };
  Response r = Do(http::verb::post, "/v1/events",
                  relais::testing::Ev(1, "HouseholdRegistered", "household/F1", "2024-01-10",
                                      R"({"territory":"lille","commune":"Lille","adults":1,"children":0,)"
                                      R"("headOfHousehold":{"name":"N","birthDate":"1980-05-01"}})"));
  ASSERT_EQ(r.status, http::status::created) << r.body;
  ASSERT_EQ(Do(http::verb::get, "/v1/streams/household%2FF1/status").status, http::status::ok);
  for (int i = 0; i < 30; ++i)
    ASSERT_EQ(Do(http::verb::get, "/v1/streams/household%2FNOBODY" + std::to_string(i) + "/status").status,
              http::status::not_found);
  ASSERT_GE(s.journal->rotations(), 2);
  r = Do(http::verb::get, "/v1/streams/household%2FF1/file");
  ASSERT_EQ(r.status, http::status::ok) << r.body;
  simdjson::dom::parser parser;
  simdjson::dom::element file;
  ASSERT_FALSE(parser.parse(r.body).get(file));
  auto log = file["accessLog"].get_array();
  ASSERT_EQ(log.size(), 1u) << r.body;
  EXPECT_EQ(std::string_view(log.at(0)["endpoint"].get_string().value()), "/v1/streams/status");

  int pages = 0;
  std::set<std::string> seen;
  size_t total = 0;
  std::string target = "/v1/audit/access?limit=4";
  for (;;) {
    r = Do(http::verb::get, target);
    ASSERT_EQ(r.status, http::status::ok) << r.body;
    simdjson::dom::element page;
    ASSERT_FALSE(parser.parse(r.body).get(page));
    for (auto e : page["entries"].get_array()) {
      seen.insert(std::string(simdjson::minify(e)));
      ++total;
    }
    ++pages;
    if (page["next"].is_null()) break;
    target = "/v1/audit/access?limit=4&cursor=" + std::string(page["next"].get_string().value());
  }
  EXPECT_EQ(total, 32u);  // the status of F1, the 30 unknown households, the file
  EXPECT_EQ(seen.size(), total);
  EXPECT_EQ(pages, 8);
  for (const char* bad : {"limit=0", "limit=10001", "limit=x", "limit=-1", "cursor=nope", "cursor=1-3"})
    EXPECT_EQ(Do(http::verb::get, std::string("/v1/audit/access?") + bad).status,
              http::status::bad_request)
        << bad;
}

}  // namespace
}  // namespace relais::server
