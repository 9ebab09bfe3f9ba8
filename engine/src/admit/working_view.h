// What admission judges against: the committed state (through a narrow
// interface, so that admission can be tested with an in-memory fake), the
// groups in flight, and the request's own events.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cache/stream_cache.h"
#include "log/store.h"
#include "relais/domain.h"
#include "relais/status.h"
#include "write/group_committer.h"

namespace relais::admit {

// An event accepted into a group, or a committed one as idempotency
// compares it with a re-sent one.
struct GroupEvent {
  Position position = 0;
  StreamVersion version = 0;
  std::string subject;
  EventType type = EventType::kHouseholdRegistered;
  Date effective;
  // Framed canonical EventData, personal fields included; empty for a
  // committed event whose personal data can no longer be opened.
  std::string full_data;
};

// What the requests accepted into one group added (the group's payload).
struct GroupEvents : write::GroupPayload {
  cache::PendingRecords pending;  // by subject
  std::unordered_map<Uuid, GroupEvent, UuidHash> ids;
  std::unordered_map<Position, const GroupEvent*> by_position;
  std::set<std::pair<std::string, std::string>> new_refs;  // (dwelling, household)
  std::vector<std::string> erased;  // households whose PersonalDataErased it holds
};
// The group's payload, created when it has none.
GroupEvents& EventsOf(write::Group& g);
// Null when `g` is null or accepted nothing yet.
const GroupEvents* EventsOf(const write::Group* g);

// The committed log as admission reads it.
class CommittedState {
 public:
  virtual ~CommittedState() = default;
  // The stream's committed records; the entry keeps them alive (the writer
  // alone adds to them, and it is the one judging).
  virtual Result<std::shared_ptr<cache::StreamEntry>> Stream(const Subject& subject) = 0;
  // The committed event with this id, nullopt when there is none.
  virtual Result<std::optional<GroupEvent>> FindId(const Uuid& id) = 0;
  // Whether the stream index has version `v` of `subject`.
  virtual Result<bool> HasVersion(const std::string& subject, StreamVersion v) = 0;
  // The framed canonical data of the committed event at `p`.
  virtual Result<std::string> DataAt(Position p) = 0;
  virtual Result<std::set<std::string>> Referencing(const std::string& dwelling) = 0;
  virtual Result<bool> HasReference(const std::string& dwelling, const std::string& household) = 0;
  // Where the group's batch puts each family's keys.
  virtual rocksdb::ColumnFamilyHandle* Family(log::Store::Family f) = 0;
};

// One request's view: committed + the group being written (g.prev) + the
// group being judged (g) + the request's own events (fresh).
class WorkingView {
 public:
  WorkingView(CommittedState* state, const write::Group& g) : state_(state), g_(&g) {}

  // The request's own events at their tentative positions, by subject.
  std::map<std::string, std::vector<EventRecord>> fresh;
  std::vector<std::string> order;                        // subjects, first-seen order
  std::unordered_map<Position, std::string> fresh_data;  // framed canonical data

  // A stream's records in position order; `keep` holds the committed ones.
  // Without the request's own events unless `with_request`.
  Result<std::vector<const EventRecord*>> Records(const std::string& subject_text,
                                                  std::shared_ptr<cache::StreamEntry>* keep,
                                                  bool with_request = true) const;
  // The framed canonical data of an event of the view, by position.
  Result<std::string> DataAt(Position p) const;
  // An event accepted by a group in flight.
  const GroupEvent* FindId(const Uuid& id) const;
  bool HasNewRef(const std::pair<std::string, std::string>& ref) const;
  // The households referencing a dwelling, the view's new references
  // included. A read error of the committed ones goes to `*error` (the
  // others are still given).
  std::set<std::string> Referencing(std::string_view dwelling_id, Status* error) const;

 private:
  CommittedState* state_;
  const write::Group* g_;
  // Streams this view found with nothing committed. Only the writer adds to
  // the log, and it is judging this request: such a stream stays empty for
  // the view's life (what the group in flight adds comes from its pending
  // records), so the store is asked once, not at each of the checks.
  mutable std::unordered_set<std::string> committed_empty_;
};

// Cross-stream facts for the household rules, from the working view.
class WriterCross : public CrossStream {
 public:
  explicit WriterCross(const WorkingView* w) : w_(w) {}

  std::optional<Date> DwellingRegisteredOn(std::string_view dwelling_id) const override;
  std::vector<OccupancyInterval> OtherOccupancies(std::string_view dwelling_id,
                                                  std::string_view self) const override;
  bool DwellingReferenced(std::string_view dwelling_id) const override;
  // The first read error met (the rules then saw partial facts).
  const Status& error() const { return error_; }

 private:
  std::set<std::string> Referencing(std::string_view dwelling_id) const;

  const WorkingView* w_;
  mutable Status error_;
};

}  // namespace relais::admit
