#include "verify/snapshot_check.h"

#include <unordered_set>
#include <vector>

#include "cache/record_codec.h"
#include "cache/record_snapshot.h"
#include "log/log_format.h"
#include "read/record_decoder.h"

namespace relais::verify {

std::optional<SnapshotProblem> CheckRecordSnapshot(log::Store& store, const log::Store::Snapshot* at,
                                                   Position head) {
  auto point = cache::ReadSnapshotPoint(store, at);
  if (!point.ok()) return SnapshotProblem{head, point.status().message()};
  if (!point->has_value()) return std::nullopt;
  const Position p = **point;
  if (p > head)
    return SnapshotProblem{head, "the record snapshot's point " + std::to_string(p) + " is past the head"};
  std::optional<SnapshotProblem> problem;
  std::unordered_set<std::string> present;
  std::vector<EventRecord> snapshot, logged;
  Status st = cache::ScanSnapshot(store, {}, at, [&](std::string_view text, Position covered,
                                                       std::string_view blob) {
    const std::string subject_text(text);
    auto fail = [&](Position at_position, const std::string& what) {
      problem = SnapshotProblem{at_position, "the record snapshot of " + subject_text + " " + what +
                                                 " (the log is sound: `relais verify --rebuild-records` "
                                                 "rebuilds this cache from it)"};
      return false;
    };
    present.insert(subject_text);
    if (covered > head) return fail(head, "covers position " + std::to_string(covered) + ", past the head");
    Status d = cache::DecodeRecords(blob, &snapshot);
    if (!d.ok()) return fail(covered, "does not decode: " + d.message());
    std::string why;
    auto subject = ParseSubject(subject_text, &why);
    if (!subject) return fail(covered, "names an invalid subject: " + why);
    Status l = read::LoadRecords(store, *subject, &logged, at);
    if (!l.ok()) return fail(covered, "cannot be compared with the log: " + l.message());
    size_t n = 0;
    while (n < logged.size() && logged[n].position <= covered) ++n;
    // Readers take the log only after the point: a value covering less than
    // the point must have nothing of its stream in between.
    if (n < logged.size() && logged[n].position <= p)
      return fail(logged[n].position, "covers only up to position " + std::to_string(covered) +
                                          " but the log has its event at position " +
                                          std::to_string(logged[n].position) + ", before the point " +
                                          std::to_string(p));
    for (size_t i = 0; i < std::min(n, snapshot.size()); ++i) {
      std::string field;
      if (!cache::SameRecord(logged[i], snapshot[i], &field))
        return fail(logged[i].position,
                    "differs from the log at position " + std::to_string(logged[i].position) + ": " + field);
    }
    if (snapshot.size() != n)
      return fail(covered, "holds " + std::to_string(snapshot.size()) + " records where the log has " +
                               std::to_string(n) + " up to position " + std::to_string(covered));
    return true;
  });
  if (!st.ok() && !problem) problem = SnapshotProblem{head, st.message()};
  if (problem) return problem;
  // Every stream whose first event is at or before the point has a value.
  const std::string first_version = log::StreamKey("", 0);  // "\0" + BE64(0)
  st = store.Scan(log::Store::kStream, {}, {}, [&](std::string_view k, std::string_view v) {
    if (k.size() <= first_version.size() || k.substr(k.size() - first_version.size()) != first_version)
      return true;
    std::string subject(k.substr(0, k.size() - first_version.size()));
    Position first = v.size() == 8 ? log::GetBE64(v) : 0;
    if (first <= p && !present.count(subject)) {
      problem = SnapshotProblem{first, "the record snapshot lacks " + subject + " (its first event, at position " +
                                           std::to_string(first) + ", is before the point " +
                                           std::to_string(p) + "; `relais verify --rebuild-records` "
                                           "rebuilds this cache from the log)"};
      return false;
    }
    return true;
  }, at);
  if (!st.ok() && !problem) problem = SnapshotProblem{head, st.message()};
  return problem;
}

}  // namespace relais::verify
