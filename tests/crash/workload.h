// The crash test's workload: valid (and deliberately invalid) requests
// generated from a seed, and the thread layout that sends them. The driver
// (crash_driver.cc) and the embedded writer (crash_writer.cc) build the same
// workload from the same (seed, iteration), so the driver knows every event a
// writer may have sent without the writer telling it: a writer only journals
// outcomes ("request 17 accepted at positions 40,41").
//
// Per iteration, for each of `households` new households:
//   - a race pair: HouseholdRegistered and HouseholdReferred sent at the same
//     moment on two connections (issue 8, defect 1: the personal-data-loss
//     race). The referral may lose the race and be refused `not_registered`;
//     it is then sent again.
//   - follow-ups, in order, once both are answered: an atomic batch (consent +
//     support start), a batch that breaks a rule (refused whole), a decision
//     with a personal `reason`, a single refused request, a health difficulty,
//     a pause, a correction of the difficulty.
// and a bulk lane (dwellings, territory activity, whole households in one
// batch) that the embedded writer sends without sync and then Syncs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace relais::crash {

struct EventSpec {
  std::string id, type, subject, date;
  std::string data;  // JSON object text
  std::string Json() const;
};

enum class Expect { kAccept, kRefuse, kEither };

// One request: one event, or an atomic batch (a JSON array).
struct Request {
  int index = 0;
  std::vector<EventSpec> events;
  bool batch = false;
  Expect expect = Expect::kAccept;
  std::string Body() const;
};

struct HouseholdPlan {
  std::string subject;
  int reg = -1;             // request index of the registration (race side A)
  int ref = -1;             // the referral (race side B; resent if refused)
  std::vector<int> follow;  // sent in order once reg and ref are in
};

struct Workload {
  std::vector<Request> requests;  // requests[i].index == i
  std::vector<HouseholdPlan> households;
  std::vector<int> bulk;              // the bulk lane, in order
  std::vector<std::string> subjects;  // every subject this iteration may write
};

// Limits: the CLI refuses more (a workload is a test, not a benchmark).
inline constexpr int kHouseholdsMax = 1000;

Workload MakeWorkload(uint64_t seed, int iteration, int households);

// How a request ended for its sender.
struct Outcome {
  enum Kind { kAccepted, kDuplicate, kRefused, kUnknown, kSending };
  Kind kind = kUnknown;
  std::vector<int64_t> positions;  // kAccepted / kDuplicate, one per event
  std::string code;                // kRefused: the refusal code; kUnknown: why
};

// Sends requests to the process under test. Thread-safe.
class Sender {
 public:
  virtual ~Sender() = default;
  virtual Outcome Send(const Request& r) = 0;
  // The bulk lane: several requests at once, acknowledged without sync where
  // the writer can (embedded). Default: one by one.
  virtual std::vector<Outcome> SendBulk(const std::vector<const Request*>& rs);
  // After the bulk lane: make everything durable. False on failure.
  virtual bool Sync() { return true; }
};

// Records outcomes (the driver's journal). Thread-safe.
class Recorder {
 public:
  virtual ~Recorder() = default;
  // Before a request leaves: without it, a request with no outcome was never
  // sent (so none of it may be in the log); with it, it may be there, whole.
  virtual void Sending(int index) = 0;
  virtual void Record(int index, const Outcome& o) = 0;
  virtual void Synced() {}
};

// Runs the workload with 3 race pairs, 2 follow-up threads and the bulk lane
// until it is done or a sender answers kUnknown (the process went away).
void RunWorkload(const Workload& w, Sender* sender, Recorder* recorder);

// Journal lines (the embedded writer's file): "<index> P" (sending),
// "<index> A|D <p1>,<p2>...",
// "<index> R <code>", "<index> U <why>", "S" (bulk synced).
std::string JournalLine(int index, const Outcome& o);
// Parses one line; false for a line that is not an outcome.
// A "P" line parses as kind kSending.
bool ParseJournalLine(const std::string& line, int* index, Outcome* o);

}  // namespace relais::crash
