// The group committer alone, with a fake judge and a fake log sink: no
// RocksDB store, no rules. Each scenario is made deterministic by gates that
// hold the writer inside a judgement or a write while requests are queued.
#include "write/group_committer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace relais::write {
namespace {

// A one-shot gate: Wait() blocks until Open(); Entered() tells that someone waits.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  void AwaitEntered() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  bool entered_ = false;
};

struct TestRequest : CommitRequest {
  std::string key;
};

// Accepts every request: one batch entry and one position each.
class FakeJudge : public GroupJudge {
 public:
  AppendOutcome Judge(CommitRequest& req, Group& g) override {
    auto& r = static_cast<TestRequest&>(req);
    Gate* gate = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu);
      judged.push_back(r.key);
      if (g.prev) judged_on_prev.push_back(r.key);
      if (auto it = gates.find(r.key); it != gates.end()) gate = it->second;
    }
    if (gate) gate->Wait();
    g.batch.Put(r.key, "v");
    AppendOutcome o;
    o.kind = AppendOutcome::Kind::kAccepted;
    o.results.push_back({r.key, g.tip.next_position, 0, false});
    g.tip.next_position += 1;
    g.tip.last_hash[0] = static_cast<uint8_t>(g.tip.next_position);
    return o;
  }
  void Publish(Group& g) override {
    std::lock_guard<std::mutex> lock(mu);
    published_groups += 1;
    published_entries += g.batch.Count();
  }
  void Forget() override { forgets += 1; }
  void Idle() override {}

  std::mutex mu;
  std::map<std::string, Gate*> gates;  // judging this key waits on the gate
  std::vector<std::string> judged;
  std::vector<std::string> judged_on_prev;  // judged on top of a group in flight
  int published_groups = 0;
  int published_entries = 0;
  std::atomic<int> forgets{0};
};

class FakeSink : public LogSink {
 public:
  struct WriteCall {
    int entries;
    bool sync;
    std::thread::id thread;
  };
  Status Write(rocksdb::WriteBatch* batch, bool sync) override {
    Gate* gate = nullptr;
    Status answer;
    {
      std::lock_guard<std::mutex> lock(mu);
      size_t n = writes.size();
      writes.push_back({static_cast<int>(batch->Count()), sync, std::this_thread::get_id()});
      if (auto it = write_gates.find(n); it != write_gates.end()) gate = it->second;
      if (auto it = write_errors.find(n); it != write_errors.end()) answer = it->second;
      if (answer.ok()) {
        stored.next_position += batch->Count();
        stored.last_hash[0] = static_cast<uint8_t>(stored.next_position);
        any_stored = true;
      }
    }
    if (gate) gate->Wait();
    return answer;
  }
  Status SyncWal() override {
    syncs += 1;
    return Status::Ok();
  }
  Status Resume() override {
    resumes += 1;
    return Status::Ok();
  }
  Result<std::optional<ChainTip>> StoredTip() override {
    std::lock_guard<std::mutex> lock(mu);
    if (!any_stored) return std::optional<ChainTip>();
    return std::optional<ChainTip>(stored);
  }
  Status Flush() override {
    flushes += 1;
    return Status::Ok();
  }
  std::vector<WriteCall> Writes() {
    std::lock_guard<std::mutex> lock(mu);
    return writes;
  }

  std::mutex mu;
  std::map<size_t, Gate*> write_gates;   // the n-th write (0-based) waits on the gate
  std::map<size_t, Status> write_errors;  // the n-th write fails with this
  std::vector<WriteCall> writes;
  ChainTip stored;
  bool any_stored = false;
  std::atomic<int> syncs{0}, resumes{0}, flushes{0};
};

class GroupCommitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    committer_ = std::make_unique<GroupCommitter>(&sink_, &judge_, &writer_mu_, ChainTip{});
    committer_->Start();
  }
  void TearDown() override { committer_.reset(); }

  std::future<AppendOutcome> Submit(const std::string& key, bool sync) {
    auto req = std::make_unique<TestRequest>();
    req->key = key;
    req->sync = sync;
    auto f = req->promise.get_future();
    std::vector<std::unique_ptr<CommitRequest>> v;
    v.push_back(std::move(req));
    committer_->Submit(std::move(v));
    return f;
  }

  FakeJudge judge_;
  FakeSink sink_;
  std::mutex writer_mu_;
  std::unique_ptr<GroupCommitter> committer_;
};

TEST_F(GroupCommitterTest, AGroupTakesEveryWaitingRequest) {
  Gate first_write;
  sink_.write_gates[0] = &first_write;
  auto a = Submit("a", false);
  first_write.AwaitEntered();  // the writer is inside a's write: b, c, d wait
  auto b = Submit("b", false);
  auto c = Submit("c", false);
  auto d = Submit("d", false);
  first_write.Open();
  for (auto* f : {&a, &b, &c, &d}) EXPECT_EQ(f->get().kind, AppendOutcome::Kind::kAccepted);
  auto writes = sink_.Writes();
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0].entries, 1);
  EXPECT_EQ(writes[1].entries, 3);  // b, c, d in one write
  EXPECT_EQ(committer_->GetHead().position, 4u);
  EXPECT_EQ(judge_.published_entries, 4);
}

TEST_F(GroupCommitterTest, ADurableGroupIsOneSyncedWrite) {
  Gate first_write;
  sink_.write_gates[0] = &first_write;
  auto a = Submit("a", false);
  first_write.AwaitEntered();
  // Durable requests that find the writer busy queue (no leader append).
  auto b = Submit("b", true);
  auto c = Submit("c", true);
  auto d = Submit("d", false);
  first_write.Open();
  for (auto* f : {&a, &b, &c, &d}) EXPECT_EQ(f->get().kind, AppendOutcome::Kind::kAccepted);
  auto writes = sink_.Writes();
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_FALSE(writes[0].sync);
  EXPECT_TRUE(writes[1].sync);  // one synced write acknowledges b, c and d
  EXPECT_EQ(writes[1].entries, 3);
  EXPECT_EQ(sink_.syncs.load(), 0);  // no separate WAL sync
}

TEST_F(GroupCommitterTest, ALoneDurableAppendIsWrittenByItsCaller) {
  auto a = Submit("a", true);
  EXPECT_EQ(a.get().kind, AppendOutcome::Kind::kAccepted);
  auto writes = sink_.Writes();
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_TRUE(writes[0].sync);
  EXPECT_EQ(writes[0].thread, std::this_thread::get_id());
}

// The writer judges requests in arrival order (engine.h), leader appends
// included: a durable request that arrives once the writer has taken x from
// the queue, but before it judges x, must not be judged (and take a
// position) before x. The hook plays that caller at exactly that moment.
// Seen failing before the fix: judged {y, x}, y at position 1 (the writer
// took the writer's lock only after the pop, so y found the queue empty and
// the writer's lock free, and led).
TEST_F(GroupCommitterTest, ALeaderDoesNotOvertakeRequestsTheWriterTook) {
  std::future<AppendOutcome> y;
  bool fired = false;
  committer_->SetAfterTakeForTest([&] {
    if (fired) return;
    fired = true;
    // Another thread's Submit, finished before the writer goes on: it either
    // led its append or queued it.
    std::thread caller([&] { y = Submit("y", true); });
    caller.join();
  });
  auto x = Submit("x", false);
  AppendOutcome ox = x.get();
  ASSERT_TRUE(fired);
  AppendOutcome oy = y.get();
  ASSERT_EQ(ox.kind, AppendOutcome::Kind::kAccepted);
  ASSERT_EQ(oy.kind, AppendOutcome::Kind::kAccepted);
  EXPECT_EQ(judge_.judged, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(ox.results[0].position, 1u);
  EXPECT_EQ(oy.results[0].position, 2u);
  EXPECT_EQ(committer_->GetHead().position, 2u);
}

TEST_F(GroupCommitterTest, AFailedWriteFailsItsGroupAndThePipelinedOneAndLatches) {
  Gate judging_p1;
  judge_.gates["p1"] = &judging_p1;
  sink_.write_errors[0] = Status::IoError("disk on fire");
  auto p1 = Submit("p1", false);
  judging_p1.AwaitEntered();
  auto p2 = Submit("p2", false);  // waiting when p1's group is judged: pipelined
  judging_p1.Open();
  AppendOutcome o1 = p1.get(), o2 = p2.get();
  EXPECT_EQ(o1.kind, AppendOutcome::Kind::kError);
  EXPECT_EQ(o1.error.code(), StatusCode::kIoError);
  // p2 was judged (and accepted by the judge) on top of the failed group.
  ASSERT_EQ(judge_.judged_on_prev, std::vector<std::string>{"p2"});
  EXPECT_EQ(o2.kind, AppendOutcome::Kind::kError);
  EXPECT_EQ(o2.error.code(), StatusCode::kIoError);
  EXPECT_EQ(sink_.Writes().size(), 1u);  // p2's group is never written
  EXPECT_EQ(judge_.published_groups, 0);
  EXPECT_GE(judge_.forgets.load(), 1);
  // Later appends get the latched error without being judged or written.
  for (bool sync : {false, true}) {
    AppendOutcome later = Submit(sync ? "s" : "n", sync).get();
    EXPECT_EQ(later.kind, AppendOutcome::Kind::kError);
    EXPECT_EQ(later.error.code(), StatusCode::kIoError);
    EXPECT_NE(later.error.message().find("failed write"), std::string::npos)
        << later.error.message();
  }
  EXPECT_EQ(judge_.judged.size(), 2u);
  EXPECT_EQ(sink_.Writes().size(), 1u);
  EXPECT_EQ(committer_->Sync().code(), StatusCode::kIoError);
  EXPECT_EQ(committer_->GetHead().position, 0u);
}

TEST_F(GroupCommitterTest, AFullDiskRefusesThenResumes) {
  sink_.write_errors[0] = Status::ResourceExhausted("no space left on device");
  AppendOutcome full = Submit("a", false).get();
  EXPECT_EQ(full.kind, AppendOutcome::Kind::kError);
  EXPECT_EQ(full.error.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(sink_.resumes.load(), 0);
  // The next group resumes the sink, checks the stored tip, and is written.
  AppendOutcome next = Submit("b", false).get();
  EXPECT_EQ(sink_.resumes.load(), 1);
  ASSERT_EQ(next.kind, AppendOutcome::Kind::kAccepted) << next.error.message();
  EXPECT_EQ(next.results[0].position, 1u);  // the failed group took no position
  EXPECT_EQ(committer_->GetHead().position, 1u);
  EXPECT_EQ(judge_.forgets.load(), 2);  // at the failure, and at the resume
}

TEST_F(GroupCommitterTest, AFailedWriteOtherThanNoSpaceIsNeverResumed) {
  sink_.write_errors[0] = Status::IoError("fsync failed");
  EXPECT_EQ(Submit("a", false).get().kind, AppendOutcome::Kind::kError);
  EXPECT_EQ(Submit("b", false).get().kind, AppendOutcome::Kind::kError);
  EXPECT_EQ(sink_.resumes.load(), 0);
}

TEST_F(GroupCommitterTest, CloseAnswersWhatWasQueuedThenRefuses) {
  Gate first_write;
  sink_.write_gates[0] = &first_write;
  auto a = Submit("a", false);
  first_write.AwaitEntered();
  std::vector<std::future<AppendOutcome>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(Submit("q" + std::to_string(i), false));
  std::thread closer([&] { committer_->Close(); });
  first_write.Open();
  closer.join();
  EXPECT_EQ(a.get().kind, AppendOutcome::Kind::kAccepted);
  for (auto& f : queued) EXPECT_EQ(f.get().kind, AppendOutcome::Kind::kAccepted);
  EXPECT_EQ(committer_->GetHead().position, 6u);
  EXPECT_EQ(sink_.flushes.load(), 1);  // a clean close flushes
  AppendOutcome after = Submit("late", false).get();
  EXPECT_EQ(after.kind, AppendOutcome::Kind::kError);
  EXPECT_EQ(after.error.code(), StatusCode::kFailedPrecondition);
  // WaitForHead no longer waits once closed.
  EXPECT_EQ(committer_->WaitForHead(6, 60'000), 6u);
}

}  // namespace
}  // namespace relais::write
