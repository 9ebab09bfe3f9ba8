// The record snapshot: a cold process folds reports from it and the log's
// tail, and must get exactly what decoding the whole log gives, at every
// (D, T), whatever came after the snapshot's point (back-dated events,
// corrections, retractions, new streams) and however its writing ended.
#include <gtest/gtest.h>

#include <sstream>

#include "cache/record_codec.h"
#include "cache/record_snapshot.h"
#include "generate/generator.h"
#include "log/store.h"
#include "relais/projections/report.h"
#include "support/test_support.h"

namespace relais {
namespace {

using testing::EngineFixture;
using testing::TempDir;

std::vector<std::string> Lines(uint64_t seed, int64_t events) {
  tools::GenOptions gen;
  gen.seed = seed;
  gen.target_events = events;
  std::stringstream ss;
  tools::Generate(gen, ss);
  std::vector<std::string> out;
  for (std::string line; std::getline(ss, line);) out.push_back(line);
  return out;
}

void Import(Engine& e, const std::vector<std::string>& lines, size_t from, size_t to) {
  AppendOptions bulk;
  bulk.allow_actor_in_body = bulk.allow_recorded_at = true;
  bulk.sync = false;
  std::vector<std::future<AppendOutcome>> pending;
  for (size_t i = from; i < to; ++i) pending.push_back(e.AppendAsync(lines[i], bulk));
  for (auto& p : pending) ASSERT_EQ(p.get().kind, AppendOutcome::Kind::kAccepted);
  ASSERT_TRUE(e.Sync().ok());
}

Options At(const std::string& dir, bool snapshot, bool read_only = false) {
  Options o;
  o.data_dir = dir;
  o.clock = std::make_shared<testing::ManualClock>(1767225600000000);  // 2026-01-01
  o.write_record_snapshot = snapshot;
  o.read_only = read_only;
  return o;
}

std::unique_ptr<Engine> OpenOrDie(const Options& o) {
  auto e = Engine::Open(o);
  EXPECT_TRUE(e.ok()) << e.status().message();
  return std::move(*e);
}

// A report's JSON without the head's hash (two directories seal with
// different nonces, so their hashes differ; the figures must not).
std::string ReportText(Engine& e, const std::string& as_of, Position known_at) {
  projections::ReportRequest req;
  req.time.as_of = ParseDate(as_of);
  req.today = *ParseDate("2026-01-01");
  auto r = projections::ComputeReportAt(e, req, known_at);
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (!r.ok()) return "";
  r->log_hash.clear();
  return projections::RenderReport(*r, projections::ReportFormat::kJson);
}

struct Views {
  std::vector<std::string> as_of = {"2019-06-30", "2020-12-31", "2021-07-01", "2022-12-31", "2025-01-01"};
};

void ExpectSameReports(Engine& cold, Engine& reference, Position head) {
  ASSERT_EQ(cold.GetHead().position, reference.GetHead().position);
  for (const std::string& d : Views().as_of)
    for (Position t : {head / 3, head / 2, head - head / 10, head}) {
      ASSERT_EQ(ReportText(cold, d, t), ReportText(reference, d, t)) << "as of " << d << ", known at " << t;
    }
}

class RecordSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lines_ = Lines(23, 12000);
    // The reference: the same events, never a snapshot (every view decodes the log).
    auto ref = OpenOrDie(At(ref_.path(), false));
    Import(*ref, lines_, 0, lines_.size());
    head_ = ref->GetHead().position;
    ref->Close();
    reference_ = OpenOrDie(At(ref_.path(), false, true));
  }

  std::vector<std::string> lines_;
  TempDir ref_, dir_;
  std::unique_ptr<Engine> reference_;
  Position head_ = 0;
};

TEST_F(RecordSnapshotTest, ColdReportsFromAFullSnapshotEqualTheLogs) {
  {
    auto e = OpenOrDie(At(dir_.path(), true));
    Import(*e, lines_, 0, lines_.size());
  }  // a clean close writes the snapshot
  auto cold = OpenOrDie(At(dir_.path(), true, true));
  ExpectSameReports(*cold, *reference_, head_);
  // The cold engine folded from the snapshot: it loaded no stream.
  EXPECT_EQ(cold->Stats().cached_events, 0);
  EXPECT_TRUE(cold->Verify({}).ok);
}

// After the point: the last part of the data set (its corrections, late and
// back-dated events, new households) is only in the log.
TEST_F(RecordSnapshotTest, ColdReportsWithALogTailEqualTheLogs) {
  const size_t cut = lines_.size() * 2 / 3;
  {
    auto e = OpenOrDie(At(dir_.path(), true));
    Import(*e, lines_, 0, cut);
  }
  {
    auto e = OpenOrDie(At(dir_.path(), false));  // the tail: no new point
    Import(*e, lines_, cut, lines_.size());
  }
  auto cold = OpenOrDie(At(dir_.path(), true, true));
  ExpectSameReports(*cold, *reference_, head_);
  EXPECT_EQ(cold->Stats().cached_events, 0);
  EXPECT_TRUE(cold->Verify({}).ok) << cold->Verify({}).problem;
}

// A close that stopped part way through writing: some streams' values cover
// more than the point, which is unchanged. Readers skip what they cover.
TEST_F(RecordSnapshotTest, APartlyWrittenSnapshotReadsTheSame) {
  const size_t cut = lines_.size() / 2;
  {
    auto e = OpenOrDie(At(dir_.path(), true));
    Import(*e, lines_, 0, cut);
  }
  {
    auto e = OpenOrDie(At(dir_.path(), false));
    Import(*e, lines_, cut, lines_.size());
    // Half the streams rewritten as of the head, no new point.
    auto subjects = e->ListStreams();
    ASSERT_TRUE(subjects.ok());
    std::vector<std::pair<std::string, std::vector<EventRecord>>> half;
    for (size_t i = 0; i < subjects->size(); i += 2)
      ASSERT_TRUE(e->ReadStream((*subjects)[i], [&](const std::vector<EventRecord>& r) {
        half.push_back({(*subjects)[i].text, r});
      }).ok());
    Position head = e->GetHead().position;
    e.reset();  // releases the directory
    auto store = log::Store::Open(dir_.path() + "/log", false, false);
    ASSERT_TRUE(store.ok());
    cache::SnapshotWriter w(store->get(), head);
    for (const auto& [text, records] : half) ASSERT_TRUE(w.Put(text, records).ok());
    // No Finish: the crash came first.
    rocksdb::WriteBatch none;
    ASSERT_TRUE((*store)->Write(&none, true).ok());
  }
  auto cold = OpenOrDie(At(dir_.path(), true, true));
  ExpectSameReports(*cold, *reference_, head_);
}

// verify compares every value with the log: a snapshot that lies is found.
TEST_F(RecordSnapshotTest, VerifyFindsASnapshotThatDiffersFromTheLog) {
  {
    auto e = OpenOrDie(At(dir_.path(), true));
    Import(*e, lines_, 0, lines_.size());
  }
  std::string victim;
  {
    auto store = log::Store::Open(dir_.path() + "/log", false, false);
    ASSERT_TRUE(store.ok());
    auto point = cache::ReadSnapshotPoint(**store);
    ASSERT_TRUE(point.ok() && point->has_value());
    std::string subject;
    std::vector<EventRecord> records;
    ASSERT_TRUE(cache::ScanSnapshot(**store, "household/", nullptr, [&](std::string_view s, Position, std::string_view blob) {
      subject = std::string(s);
      return !cache::DecodeRecords(blob, &records).ok() || records.size() < 3;
    }).ok());
    ASSERT_GE(records.size(), 3u);
    victim = subject;
    records[1].effective.days += 1;  // one day off, one event
    cache::SnapshotWriter w(store->get(), **point);
    ASSERT_TRUE(w.Put(subject, records).ok());
    ASSERT_TRUE(w.Finish().ok());
  }
  auto e = OpenOrDie(At(dir_.path(), true, true));
  VerifyReport v = e->Verify({});
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("record snapshot"), std::string::npos) << v.problem;
  EXPECT_NE(v.problem.find(victim), std::string::npos) << v.problem;
}

TEST_F(RecordSnapshotTest, VerifyFindsAStreamMissingFromTheSnapshot) {
  {
    auto e = OpenOrDie(At(dir_.path(), true));
    Import(*e, lines_, 0, lines_.size());
  }
  {
    auto store = log::Store::Open(dir_.path() + "/log", false, false);
    ASSERT_TRUE(store.ok());
    std::string first;
    ASSERT_TRUE(cache::ScanSnapshot(**store, "household/", nullptr, [&](std::string_view s, Position, std::string_view) {
      first = std::string(s);
      return false;
    }).ok());
    rocksdb::WriteBatch b;
    b.Delete((*store)->handle(log::Store::kRecords), first);
    ASSERT_TRUE((*store)->Write(&b, true).ok());
  }
  auto e = OpenOrDie(At(dir_.path(), true, true));
  VerifyReport v = e->Verify({});
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("record snapshot"), std::string::npos) << v.problem;
}

// A directory written before the records family existed opens read-only
// (no family to create there) and reads its reports from the log.
TEST_F(RecordSnapshotTest, ADirectoryWithoutTheFamilyStillOpensReadOnly) {
  {
    auto e = OpenOrDie(At(dir_.path(), false));
    Import(*e, lines_, 0, lines_.size());
  }
  {
    rocksdb::Options o;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(o, dir_.path() + "/log", &names).ok());
    for (const auto& n : names) cfs.push_back({n, rocksdb::ColumnFamilyOptions()});
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir_.path() + "/log", cfs, &handles, &db).ok());
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == "records") ASSERT_TRUE(db->DropColumnFamily(handles[i]).ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  auto cold = OpenOrDie(At(dir_.path(), true, true));
  ExpectSameReports(*cold, *reference_, head_);
  EXPECT_TRUE(cold->Verify({}).ok);
}

}  // namespace
}  // namespace relais
