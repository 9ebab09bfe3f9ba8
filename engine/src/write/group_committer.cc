#include "write/group_committer.h"

#include <pthread.h>

#include <functional>

namespace relais::write {

// Runs one group's write at a time on its own thread, while the writer
// judges the next group (see WriterLoop).
class GroupCommitter::Pipeline {
 public:
  Pipeline() : thread_([this] { Run(); }) {}
  ~Pipeline() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Start(std::function<Status()> job) {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = std::move(job);
    done_ = false;
    cv_.notify_all();
  }
  Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    return result_;
  }

 private:
  void Run() {
    pthread_setname_np(pthread_self(), "relais-commit");
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || job_; });
      if (!job_) return;
      auto job = std::move(job_);
      job_ = nullptr;
      lock.unlock();
      Status st = job();
      lock.lock();
      result_ = std::move(st);
      done_ = true;
      cv_.notify_all();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<Status()> job_;
  Status result_;
  bool done_ = true;
  bool stop_ = false;
  std::thread thread_;
};

GroupCommitter::GroupCommitter(LogSink* sink, GroupJudge* judge, std::mutex* writer_mu,
                               ChainTip tip)
    : sink_(sink),
      judge_(judge),
      writer_mu_(writer_mu),
      pipeline_(std::make_unique<Pipeline>()),
      tip_(tip) {
  PublishHead();
}

GroupCommitter::~GroupCommitter() { Close(); }

void GroupCommitter::Start() { writer_ = std::thread([this] { WriterLoop(); }); }

void GroupCommitter::Submit(std::vector<std::unique_ptr<CommitRequest>> ready) {
  if (ready.empty()) return;
  if (ready.size() == 1 && ready[0]->sync && LeadAppend(ready[0])) return;
  std::unique_lock<std::mutex> lock(queue_mu_);
  for (auto& req : ready) {
    queue_space_cv_.wait(lock, [&] { return queue_.size() < kWriterQueueMax || stopping_; });
    if (stopping_) {
      AppendOutcome o;
      o.error = Status::FailedPrecondition("the engine is closing");
      req->promise.set_value(std::move(o));
      continue;
    }
    queue_.push_back(std::move(req));
    if (queue_.size() == 1) queue_cv_.notify_one();
  }
  queue_cv_.notify_one();
}

// A durable request that finds the writer idle (nothing queued, nothing in
// flight) is judged and written on the caller's own thread, as RocksDB's
// write thread lets its leader write: a lone append then costs its fsync,
// not two thread hand-offs. Returns false (and leaves `req`) otherwise.
bool GroupCommitter::LeadAppend(std::unique_ptr<CommitRequest>& req) {
  std::unique_lock<std::mutex> writing(*writer_mu_, std::try_to_lock);
  if (!writing.owns_lock()) return false;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!queue_.empty() || stopping_) return false;
  }
  if (!failed_.ok()) return false;  // the writer thread answers with the error
  Flight flight;
  flight.g.tip = tip_;
  flight.outcomes.push_back(judge_->Judge(*req, flight.g));
  flight.g.sync = true;  // a lead request is a durable one
  flight.batch.push_back(std::move(req));
  if (flight.g.batch.Count() > 0) {
    Finish(flight, WriteGroup(flight.g));
  } else {
    AnswerDurably(flight);
  }
  return true;
}

Status GroupCommitter::Sync() {
  // Under the writer's lock: no group is in flight, and a failed sync stops
  // the writer as a failed write does.
  std::lock_guard<std::mutex> writing(*writer_mu_);
  if (!failed_.ok()) return failed_;
  Status st = sink_->SyncWal();
  if (!st.ok()) {
    failed_ = Status(st.code(), "the engine stopped after a failed sync (reopen it once the disk "
                                "is sound): " + st.message());
    return st;
  }
  w_unsynced_ = false;
  return st;
}

void GroupCommitter::Close(const std::function<void(Position head)>& when_clean) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_ && !writer_.joinable()) return;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  queue_space_cv_.notify_all();
  {
    std::lock_guard<std::mutex> lock(head_mu_);
    closing_heads_ = true;
  }
  head_cv_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
    // A caller leading its own append finishes before the store closes.
    std::lock_guard<std::mutex> writing(*writer_mu_);
    // A clean close leaves no log to replay: the next open is quick.
    if (failed_.ok()) {
      (void)sink_->Flush();
      if (when_clean) when_clean(tip_.next_position - 1);
    }
  }
}

Head GroupCommitter::GetHead() {
  std::lock_guard<std::mutex> lock(head_mu_);
  return head_;
}

Position GroupCommitter::WaitForHead(Position after, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(head_mu_);
  head_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                    [&] { return head_.position > after || closing_heads_; });
  return head_.position;
}

void GroupCommitter::PublishHead() {
  {
    std::lock_guard<std::mutex> lock(head_mu_);
    head_.position = tip_.next_position - 1;
    head_.hash = crypto::ToHex(tip_.last_hash);
    head_.recorded_at = tip_.last_recorded;
  }
  head_cv_.notify_all();
}

void GroupCommitter::FailAll(Flight& f) {
  // Every outcome was judged on top of what failed to land: an acceptance, a
  // duplicate of an event never written, a refusal because of one. None
  // stands; the caller learns that the engine failed, nothing else.
  for (auto& o : f.outcomes) {
    o = AppendOutcome();
    o.error = failed_;
  }
}

void GroupCommitter::AnswerDurably(Flight& f) {
  // Nothing to write, but the verdicts rest on events that may not be synced
  // yet (an earlier bulk group): sync them before a durable answer.
  if (w_unsynced_) {
    Status st = sink_->SyncWal();
    if (!st.ok()) {
      if (failed_.ok())
        failed_ = Status(st.code(), "the engine stopped after a failed sync: " + st.message());
      FailAll(f);
    } else {
      w_unsynced_ = false;
    }
  }
  Answer(f);
}

void GroupCommitter::Answer(Flight& f) {
  for (size_t i = 0; i < f.batch.size(); ++i)
    f.batch[i]->promise.set_value(std::move(f.outcomes[i]));
}

void GroupCommitter::Finish(Flight& f, const Status& written) {
  Settle(f, written);
  Answer(f);
}

void GroupCommitter::Settle(Flight& f, const Status& written) {
  if (!written.ok()) {
    if (failed_.ok()) {
      failed_ = written.code() == StatusCode::kResourceExhausted
                    ? Status(written.code(),
                             "appends are refused until space is freed: " + written.message())
                    : Status(written.code(),
                             "the engine stopped after a failed write (reopen it once the "
                             "disk is sound): " + written.message());
    }
    // The judged state assumed this group landed.
    judge_->Forget();
    FailAll(f);
  } else {
    tip_ = f.g.tip;
    // A synced write syncs the whole WAL, earlier unsynced groups included.
    w_unsynced_ = !f.g.sync;
    judge_->Publish(f.g);
    PublishHead();
  }
}

void GroupCommitter::WriterLoop() {
  pthread_setname_np(pthread_self(), "relais-writer");
  std::unique_ptr<Flight> inflight;
  // Held while this thread judges, writes or has a group in flight: a caller
  // that finds the writer idle may then write its own request (LeadAppend).
  std::unique_lock<std::mutex> writing(*writer_mu_, std::defer_lock);
  for (;;) {
    std::vector<std::unique_ptr<CommitRequest>> batch;
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      if (inflight && queue_.empty()) {
        // Nothing to judge meanwhile: land the group being written.
        lock.unlock();
        Finish(*inflight, pipeline_->Wait());
        inflight.reset();
        continue;
      }
      if (!inflight && writing.owns_lock()) writing.unlock();
      queue_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty() && stopping_) return;
      if (!writing.owns_lock()) {
        // The writer's lock before the pop, in LeadAppend's order (writer's
        // lock, then the queue's): until the requests are judged, either
        // they are still queued or the lock is held, so no caller leads an
        // append past them (judged in arrival order, engine.h). Only this
        // thread pops: the queue is still not empty when retaken.
        lock.unlock();
        writing.lock();
        lock.lock();
      }
      // Take everything waiting: these requests share one write and one sync.
      while (!queue_.empty()) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    queue_space_cv_.notify_all();
    if (after_take_for_test_) after_take_for_test_();
    if (!inflight) TryResume();

    auto flight = std::make_unique<Flight>();
    Group& g = flight->g;
    g.prev = inflight ? &inflight->g : nullptr;
    g.tip = g.prev ? g.prev->tip : tip_;
    flight->batch = std::move(batch);
    auto& outcomes = flight->outcomes;
    outcomes.reserve(flight->batch.size());
    for (auto& req : flight->batch) {
      if (!failed_.ok()) {
        AppendOutcome o;
        o.error = failed_;
        outcomes.push_back(std::move(o));
        continue;
      }
      outcomes.push_back(judge_->Judge(*req, g));
      // Any durable request makes the group's write durable: a duplicate or
      // a refusal is judged on earlier (maybe unsynced) events too.
      if (req->sync) g.sync = true;
    }
    // The previous group's write ran meanwhile: publish it (here, under the
    // writer's lock: the judge's state), then answer it.
    std::unique_ptr<Flight> settled;
    if (inflight) {
      Settle(*inflight, pipeline_->Wait());
      settled = std::move(inflight);
      g.prev = nullptr;
      if (!failed_.ok()) FailAll(*flight);  // judged on a group that did not land
    }
    auto answer_settled = [&] {
      if (!settled) return;
      Answer(*settled);
      settled.reset();
    };
    if (g.batch.Count() == 0 || !failed_.ok()) {
      answer_settled();
      if (failed_.ok() && g.sync) {
        AnswerDurably(*flight);
      } else {
        Answer(*flight);
      }
      continue;
    }
    bool more_waiting;
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      more_waiting = !queue_.empty();
    }
    // Durable groups are not pipelined: their fsync dominates, and while the
    // writer waits for it the queue fills, so the next group is larger and
    // one fsync acknowledges more requests. Bulk (non-synced) groups are
    // CPU-bound: writing one while judging the next uses both cores.
    if (more_waiting && !g.sync) {
      // Write this group on the pipeline thread while the next is judged.
      Status completed = judge_->Complete(g);
      if (!completed.ok()) {
        answer_settled();
        Finish(*flight, completed);
        continue;
      }
      // The settled group's answers (a promise and a wake-up per request)
      // and its destruction go to the pipeline thread too, before the
      // write: they were an eighth of the writer's time in a bulk import,
      // and the writer is what limits it (docs/performance.md, "W1").
      Flight* done = settled.release();
      pipeline_->Start([this, f = flight.get(), done] {
        if (done) {
          Answer(*done);
          delete done;
        }
        return sink_->Write(&f->g.batch, f->g.sync);
      });
      inflight = std::move(flight);
    } else {
      // Nothing else waiting: write here and answer at once (no hand-off
      // latency for a lone durable append).
      answer_settled();
      Finish(*flight, WriteGroup(g));
    }
    if (!inflight) judge_->Idle();
  }
}

Status GroupCommitter::WriteGroup(Group& g) {
  RETURN_IF_ERROR(judge_->Complete(g));
  return sink_->Write(&g.batch, g.sync);
}

void GroupCommitter::TryResume() {
  if (failed_.ok() || failed_.code() != StatusCode::kResourceExhausted) return;
  if (!sink_->Resume().ok()) return;
  // The failed group wrote nothing (a refused write is not applied), but read
  // the tip back rather than trust that.
  auto stored = sink_->StoredTip();
  if (!stored.ok()) return;
  ChainTip tip;
  tip.last_recorded = tip_.last_recorded;
  if (*stored) tip = **stored;
  if (tip.next_position != tip_.next_position || tip.last_hash != tip_.last_hash) {
    failed_ = Status::Internal("after a full disk, the log's tip is not the one the writer knew");
    return;
  }
  tip_.last_recorded = tip.last_recorded;
  judge_->Forget();
  failed_ = Status::Ok();
}

}  // namespace relais::write
