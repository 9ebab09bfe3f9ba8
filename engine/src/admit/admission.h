// Admission: the ordered checks of events.md §2 that decide whether a
// request is accepted (and, once it is, its stored bytes and index entries
// in the group's batch), over one working view of committed + in-flight +
// new events. Runs on the writer (GroupJudge::Judge), under its lock.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "admit/working_view.h"
#include "cache/fold_cache.h"
#include "codec/codec.h"
#include "relais/engine.h"
#include "write/group_committer.h"
#include "write/sealer.h"

namespace relais::admit {

// One caller's parsed request (see Engine's Prepare).
struct AppendRequest : write::CommitRequest {
  std::vector<codec::ParsedEvent> events;
  bool is_batch = false;
  AppendOptions options;
  // The key each pre-encoded event's personal data was sealed with (nullopt:
  // nothing sealed). For a household with no key yet, a candidate that the
  // writer adopts at acceptance, or replaces (re-sealing) when another
  // request's candidate was adopted first.
  std::vector<std::optional<crypto::Key>> seal_keys;
  // The request's own table of interned text (InternScope): dropped with the
  // request unless it is accepted (InternFact).
  std::shared_ptr<void> intern_table;
};

// A refusal with its kind derived from its code (interfaces.md).
Refusal MakeRefusal(std::string code, std::string message, std::optional<std::string> id);
AppendOutcome Refused(Refusal r);

class Admission {
 public:
  // `clock` null: the system clock.
  Admission(CommittedState* state, write::KeySource* keys, cache::FoldCache* folds,
            std::shared_ptr<Clock> clock)
      : state_(state), keys_(keys), folds_(folds), clock_(std::move(clock)) {}

  // Judges `req` on top of `g`; an accepted request's events go into g's
  // batch, tip and payload (GroupEvents), its keys are adopted.
  AppendOutcome Judge(AppendRequest& req, write::Group& g);

 private:
  CommittedState* state_;
  write::KeySource* keys_;
  cache::FoldCache* folds_;
  std::shared_ptr<Clock> clock_;
};

}  // namespace relais::admit
