// The group committer: the writer queue, its thread, leader appends,
// pipelining and the failure latch. It knows nothing of events or rules: a
// GroupJudge judges each request into the group's batch, a LogSink writes it.
//
// The writer takes every request waiting in the queue as one group: it
// judges them in order (each sees the ones accepted before it), writes the
// group's batch (synced if any request asked for durability) and only then
// has the judge publish the group to readers and answers the callers. A
// group that fails to write answers every request of it, and of the group
// judged on top of it, with an error, and latches the error: later appends
// get it until the engine is reopened (or, for a full disk, until a write
// can resume). Nothing that was not written is ever shown.
#pragma once

#include <rocksdb/write_batch.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "crypto/crypto.h"
#include "relais/engine.h"
#include "relais/status.h"

namespace relais::write {

// The chain's tip: the next position, the last event's hash and recordedAt.
struct ChainTip {
  Position next_position = 1;
  crypto::Hash last_hash{};
  Timestamp last_recorded;
};

// One caller's request, as the committer sees it.
struct CommitRequest {
  virtual ~CommitRequest() = default;
  bool sync = false;  // answer only once it is durable
  std::promise<AppendOutcome> promise;
};

// What the judge keeps of the requests it accepted into one group (their
// records, ids, references): the committer only carries it.
class GroupPayload {
 public:
  virtual ~GroupPayload() = default;
};

struct Group {
  // Reserved: a bulk group's batch grows to megabytes, and each regrowth
  // copied it whole on the writer's thread (5 % of its time in W1).
  rocksdb::WriteBatch batch{size_t{1} << 20};
  bool sync = false;
  // The chain's tip including the requests accepted so far in this group.
  ChainTip tip;
  // The group being written while this one is judged (pipelining), or null.
  // Everything it accepted counts as recorded for this group's judgement.
  const Group* prev = nullptr;
  std::unique_ptr<GroupPayload> payload;
  // The chain hashes of the events accepted so far, in position order: the
  // Merkle tree's new leaves, added to the batch by GroupJudge::Complete.
  std::vector<crypto::Hash> leaves;
};

class GroupJudge {
 public:
  virtual ~GroupJudge() = default;
  // Judges `req` on top of `g` (and g.prev): what it accepts goes into
  // g.batch, g.tip and g.payload. Called with the writer's lock held.
  virtual AppendOutcome Judge(CommitRequest& req, Group& g) = 0;
  // `g` is judged and about to be written (groups complete in position
  // order): add to its batch what covers all of it, the Merkle tree's tiles,
  // so that the tree and the events land in one write. An error fails the
  // group as a failed write would.
  virtual Status Complete(Group& g) {
    (void)g;
    return Status::Ok();
  }
  // `g` was written: show what it accepted to readers.
  virtual void Publish(Group& g) = 0;
  // A write failed, or the writer resumed after one: whatever was judged
  // assuming earlier groups landed (folds) is void.
  virtual void Forget() = 0;
  // Between groups, nothing in flight (cache limits).
  virtual void Idle() = 0;
};

// The log as the committer writes it.
class LogSink {
 public:
  virtual ~LogSink() = default;
  // Writes a group (the keys it adopted first, synced).
  virtual Status Write(rocksdb::WriteBatch* batch, bool sync) = 0;
  virtual Status SyncWal() = 0;
  // After a write refused for lack of space: leave the error state.
  virtual Status Resume() = 0;
  // The tip of the stored log (nullopt: empty), read back after a Resume.
  virtual Result<std::optional<ChainTip>> StoredTip() = 0;
  // At a clean close.
  virtual Status Flush() = 0;
};

class GroupCommitter {
 public:
  // `writer_mu` is held by whoever judges and writes (see LeadAppend); the
  // stream cache's warm-up takes it too. Start() starts the writer thread:
  // a read-only engine never does (only the head is then used).
  GroupCommitter(LogSink* sink, GroupJudge* judge, std::mutex* writer_mu, ChainTip tip);
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  void Start();
  // Queues requests (at most kWriterQueueMax wait: callers block for room).
  // A lone durable request that finds the writer idle is judged and written
  // on the caller's thread (LeadAppend).
  void Submit(std::vector<std::unique_ptr<CommitRequest>> ready);
  // Syncs the log; a failed sync latches the failure like a failed write.
  Status Sync();
  // Stops the writer after answering what was queued; wakes WaitForHead.
  // At a clean close (no failure latched), `when_clean` runs last, under
  // the writer's lock, nothing being written: the record snapshot's time.
  void Close(const std::function<void(Position head)>& when_clean = {});

  Head GetHead();
  Position WaitForHead(Position after, int64_t timeout_ms);

  // Tests only: called on the writer thread each time it has taken requests
  // from the queue, before it judges them, outside the queue's lock (a test
  // submits from it to play a caller arriving at that moment). Set it before
  // submitting the requests it should see.
  void SetAfterTakeForTest(std::function<void()> fn) { after_take_for_test_ = std::move(fn); }

 private:
  // A group and its requests' answers.
  struct Flight {
    Group g;
    std::vector<std::unique_ptr<CommitRequest>> batch;
    std::vector<AppendOutcome> outcomes;
  };
  class Pipeline;

  bool LeadAppend(std::unique_ptr<CommitRequest>& req);
  void WriterLoop();
  // Completes the group (GroupJudge::Complete) and writes it.
  Status WriteGroup(Group& g);
  // Settle: the write's outcome into the writer's state (publication, or
  // the failure latch and the failed answers); Finish: Settle, then Answer.
  void Finish(Flight& f, const Status& written);
  void Settle(Flight& f, const Status& written);
  void FailAll(Flight& f);
  // After a write refused for lack of space (and only then: a failed fsync
  // may have lost what the kernel held, so it is never retried in place):
  // leaves the sink's error state and takes the chain's tip from the store.
  void TryResume();
  void Answer(Flight& f);
  // Answer, after syncing the log when unsynced groups exist (the answers
  // of a durable request with nothing to write).
  void AnswerDurably(Flight& f);
  void PublishHead();

  LogSink* sink_;
  GroupJudge* judge_;
  // Guards the writer state below (tip_, failed_, w_unsynced_) and the
  // judge's state: held by the writer thread, or a caller leading its own
  // append.
  std::mutex* writer_mu_;
  std::mutex queue_mu_;
  std::condition_variable queue_cv_, queue_space_cv_;
  std::deque<std::unique_ptr<CommitRequest>> queue_;
  bool stopping_ = false;
  std::thread writer_;
  std::unique_ptr<Pipeline> pipeline_;
  Status failed_;  // the latch

  // The chain's tip as of the last committed group.
  ChainTip tip_;
  // Whether committed groups exist that were written without a sync since
  // the last synced write.
  bool w_unsynced_ = false;

  std::mutex head_mu_;
  std::condition_variable head_cv_;
  bool closing_heads_ = false;  // wakes WaitForHead callers at Close
  Head head_;

  std::function<void()> after_take_for_test_;
};

}  // namespace relais::write
