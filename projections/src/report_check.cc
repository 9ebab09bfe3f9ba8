// `relais report --check`: is a saved JSON report what this log gives, and
// does it still hold? (docs/decisions.md, "report --check", defines the
// verdict; docs/reports.md explains it to users.)
//
// Two views are recomputed:
//   - the report's own view: as of its asOf, known at its logPosition (the
//     view it was computed on). A figure that differs there was not produced
//     by this log: the file was altered (or the engine's definitions changed).
//   - the current view of the same question: known at its knownAt when the
//     report was pinned (then it is the same view), else known at the head.
//     A figure that differs only there was changed by events recorded after
//     the report; explainedBy lists those that the fold as of D takes in.
#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "relais/json_writer.h"
#include "relais/projections/report.h"

namespace relais::projections {

namespace {

// At most this many events are listed in explainedBy (a report checked
// years later may be followed by millions); the rest are counted.
constexpr size_t kMaxExplaining = 1000;

// Dotted name -> minified JSON value of one territory block of a saved report.
void FlattenElement(simdjson::dom::element e, const std::string& path,
                    std::vector<std::pair<std::string, std::string>>* out) {
  if (e.type() == simdjson::dom::element_type::OBJECT) {
    simdjson::dom::object o = e.get_object().value_unsafe();
    for (auto [k, v] : o) FlattenElement(v, path.empty() ? std::string(k) : path + "." + std::string(k), out);
    return;
  }
  out->push_back({path, simdjson::minify(e)});
}

// Numbers compare as numbers (1 and 1.0 are the same figure); null only
// equals null.
bool SameFigure(const std::string& a, const std::string& b) {
  if (a == b) return true;
  if (a == "null" || b == "null" || a.empty() || b.empty()) return false;
  char* end_a = nullptr;
  char* end_b = nullptr;
  double x = std::strtod(a.c_str(), &end_a), y = std::strtod(b.c_str(), &end_b);
  return *end_a == '\0' && *end_b == '\0' && x == y;
}

struct Difference {
  std::string figure;        // "sud.moveIns", or "logHash" / "logPosition"
  std::string old_value;     // JSON text from the file; "" = absent
  std::string at_view;       // JSON text recomputed at the report's view
  std::string new_value;     // JSON text in the current view
  bool reproduced() const { return SameFigure(old_value, at_view); }
};

void WriteValue(JsonWriter& w, const std::string& v) {
  if (v.empty()) {
    w.Null();
  } else {
    w.Raw(v);
  }
}

// An event of explainedBy, as listed.
struct Explaining {
  Position position = 0;
  Uuid id;
  EventType type = EventType::kHouseholdRegistered;
  Subject subject;
  Date effective;
  Timestamp recorded;
  std::string actor;
  bool correction = false;
  Uuid target;
  Date corrected_effective;
};

Explaining Explain(const StoredEventView& v) {
  Explaining e;
  e.position = v.record.position;
  e.id = v.record.id;
  e.type = v.record.type;
  e.subject = v.subject;
  e.effective = v.record.effective;
  e.recorded = v.record.recorded;
  e.actor = v.actor.id;
  e.correction = IsCorrection(v.record.type);
  if (e.correction) {
    e.target = v.record.fact.target_id;
    e.corrected_effective = v.record.corrected_effective;
  }
  return e;
}

// Whether a correction or retraction recorded after the view can change a
// fold as of D: its target's date, as recorded or as any correction of it
// sets it, is on or before D. Read from the target's stream.
Result<bool> TargetCountsAsOf(Engine& engine, const Explaining& c, Date D) {
  if (c.type == EventType::kEventCorrected && c.corrected_effective <= D) return true;
  bool counts = false;
  RETURN_IF_ERROR(engine.ReadStream(c.subject, [&](const std::vector<EventRecord>& records) {
    for (const EventRecord& r : records) {
      if (r.id == c.target && r.effective <= D) counts = true;
      if (r.type == EventType::kEventCorrected && r.fact.target_id == c.target && r.corrected_effective <= D)
        counts = true;
    }
  }));
  return counts;
}

}  // namespace

Result<ReportCheck> CheckReport(Engine& engine, const std::string& report_json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(report_json).get(root) || root.type() != simdjson::dom::element_type::OBJECT)
    return Status::InvalidArgument("the report is not a JSON object");
  std::string_view as_of_text, known_at_text, saved_hash;
  uint64_t saved_position = 0;
  if (root["asOf"].get(as_of_text) || root["logPosition"].get(saved_position) ||
      root["logHash"].get(saved_hash))
    return Status::InvalidArgument("the report lacks asOf, logPosition or logHash");
  simdjson::dom::element territories;
  if (root["territories"].get(territories) || territories.type() != simdjson::dom::element_type::OBJECT)
    return Status::InvalidArgument("the report lacks territories");
  ReportRequest req;
  req.time.as_of = ParseDate(as_of_text);
  if (!req.time.as_of) return Status::InvalidArgument("the report's asOf is not a date");
  simdjson::dom::element known_at;
  if (!root["knownAt"].get(known_at) && !known_at.is_null()) {
    // A knownAt of another type is a damaged file, not an unpinned report.
    if (known_at.get(known_at_text))
      return Status::InvalidArgument("the report's knownAt is neither an instant nor null");
    req.time.known_at = ParseTimestamp(known_at_text);
    if (!req.time.known_at) return Status::InvalidArgument("the report's knownAt is not an instant");
  }
  req.today = *req.time.as_of;
  const Date D = *req.time.as_of;
  const Position head = engine.GetHead().position;

  ReportCheck check;
  std::vector<Difference> differences;
  std::vector<Explaining> explained_by;
  uint64_t explained_by_omitted = 0;
  std::string prose;
  // The report's view is always its logPosition, the view it was computed
  // on (its chain hash is checked there). The current view of the same
  // question is the position known at T now when pinned (an event recorded
  // later at the same instant T moves it: recordedAt only never decreases),
  // the head otherwise.
  const Position view = saved_position;
  Position current_position = head;
  if (req.time.known_at) {
    ASSIGN_OR_RETURN(current_position, KnownAtPosition(engine, req.time));
    if (current_position != saved_position)
      differences.push_back({"logPosition", std::to_string(saved_position), std::to_string(saved_position),
                             std::to_string(current_position)});
  }
  // The chain first: a report names the log it was computed on.
  std::string hash_now;
  if (saved_position <= head) {
    ASSIGN_OR_RETURN(hash_now, engine.HashAt(saved_position));
  }
  if (hash_now != saved_hash) {
    std::string now_json = hash_now.empty() ? "" : "\"" + hash_now + "\"";
    differences.push_back({"logHash", "\"" + std::string(saved_hash) + "\"", now_json, now_json});
    prose += "The log does not hold the events this report names: the chain hash at position " +
             std::to_string(saved_position) + " is " + (hash_now.empty() ? "absent (past the head)" : hash_now) +
             ", the report says " + std::string(saved_hash) + ". Run `relais verify`.\n";
  } else {
    ASSIGN_OR_RETURN(Report at_view, ComputeReportAt(engine, req, view));
    Report current_storage;
    const Report* current = &at_view;
    if (current_position != view) {
      ASSIGN_OR_RETURN(current_storage, ComputeReportAt(engine, req, current_position));
      current = &current_storage;
    }
    // Every value the file holds is judged: the figures the engine computes,
    // and any other key (a figure it does not compute, a territory it does
    // not know) as one that no view produces.
    std::map<std::string, std::string> saved_map;
    {
      std::vector<std::pair<std::string, std::string>> saved;
      FlattenElement(territories, "", &saved);
      saved_map.insert(saved.begin(), saved.end());
    }
    for (size_t t = 0; t < 4; ++t) {
      const std::string territory = kTerritoryKeys[t];
      auto then = FlattenFigures(at_view.territories[t]);
      auto now = FlattenFigures(current->territories[t]);
      for (size_t i = 0; i < then.size(); ++i) {
        auto it = saved_map.find(territory + "." + then[i].first);
        std::string old_value;
        if (it != saved_map.end()) {
          old_value = std::move(it->second);
          saved_map.erase(it);
        }
        if (SameFigure(old_value, then[i].second) && SameFigure(old_value, now[i].second)) continue;
        differences.push_back({territory + "." + then[i].first, old_value, then[i].second, now[i].second});
      }
    }
    for (auto& [figure, value] : saved_map) differences.push_back({figure, value, "", ""});
    // The period follows from asOf; the signed checkpoint (deterministic)
    // names this log at logPosition.
    for (auto [key, expected] : {std::pair<const char*, std::string>{"from", FormatDate(PeriodStart(D))},
                                 std::pair<const char*, std::string>{"to", FormatDate(D)}}) {
      std::string_view saved_date;
      std::string old_value;
      if (!root["period"][key].get(saved_date)) old_value = "\"" + std::string(saved_date) + "\"";
      std::string want = "\"" + expected + "\"";
      if (old_value != want) differences.push_back({std::string("period.") + key, old_value, want, want});
    }
    std::string_view saved_checkpoint;
    if (!root["checkpoint"].get(saved_checkpoint)) {
      auto ours = engine.Checkpoint(saved_position);
      if (!ours.ok() && ours.status().code() != StatusCode::kFailedPrecondition) return ours.status();
      std::string ours_json, saved_json;
      if (ours.ok()) AppendJsonString(ours_json, *ours);
      AppendJsonString(saved_json, saved_checkpoint);
      if (saved_json != ours_json) differences.push_back({"checkpoint", saved_json, ours_json, ours_json});
    }
    check.checked_at = current_position;
    // explainedBy: only when some figure the report's view reproduces
    // differs now, i.e. later events changed it.
    bool later_changed = false;
    for (const Difference& d : differences) later_changed |= d.reproduced() && !SameFigure(d.at_view, d.new_value);
    if (later_changed) {
      // Corrections are judged after the scan: their target is read from
      // its stream, which the engine does not allow inside a Scan.
      std::vector<Explaining> plain, corrections;
      RETURN_IF_ERROR(engine.Scan(view + 1, [&](const StoredEventView& v) -> bool {
        if (v.record.position > current_position) return false;
        if (IsCorrection(v.record.type)) {
          // Each kept correction costs a read of its target's stream below:
          // past the cap they are counted, not examined.
          if (corrections.size() < kMaxExplaining) {
            corrections.push_back(Explain(v));
          } else {
            ++explained_by_omitted;
          }
        } else if (v.record.effective <= D) {
          if (plain.size() < kMaxExplaining) {
            plain.push_back(Explain(v));
          } else {
            ++explained_by_omitted;
          }
        }
        return true;
      }));
      for (Explaining& c : corrections) {
        ASSIGN_OR_RETURN(bool counts, TargetCountsAsOf(engine, c, D));
        if (counts) plain.push_back(std::move(c));
      }
      std::sort(plain.begin(), plain.end(),
                [](const Explaining& a, const Explaining& b) { return a.position < b.position; });
      if (plain.size() > kMaxExplaining) {
        explained_by_omitted += plain.size() - kMaxExplaining;
        plain.resize(kMaxExplaining);
      }
      explained_by = std::move(plain);
    }
  }
  check.match = differences.empty();

  // stdout: the verdict for programs.
  JsonWriter w;
  w.BeginObject();
  w.Key("match").Bool(check.match);
  w.Key("logPosition").Uint(saved_position);
  w.Key("checkedAt").Uint(check.checked_at);
  w.Key("differences").BeginArray();
  for (const Difference& d : differences) {
    w.BeginObject();
    w.Key("figure").String(d.figure);
    w.Key("old");
    WriteValue(w, d.old_value);
    w.Key("atReportView");
    WriteValue(w, d.at_view);
    w.Key("new");
    WriteValue(w, d.new_value);
    w.Key("reproduced").Bool(d.reproduced());
    w.EndObject();
  }
  w.EndArray();
  w.Key("explainedBy").BeginArray();
  for (const Explaining& e : explained_by) {
    w.BeginObject();
    w.Key("position").Uint(e.position);
    w.Key("id").String(FormatUuid(e.id));
    w.Key("type").String(EventTypeName(e.type));
    w.Key("subject").String(e.subject.text);
    w.Key("effectiveDate").String(FormatDate(e.effective));
    w.Key("recordedAt").String(FormatTimestamp(e.recorded));
    w.Key("actor").String(e.actor);
    if (e.correction) w.Key("targetId").String(FormatUuid(e.target));
    w.EndObject();
  }
  w.EndArray();
  if (explained_by_omitted > 0) w.Key("explainedByOmitted").Uint(explained_by_omitted);
  w.EndObject();
  check.json = w.Take();

  // stderr: the same for people.
  if (check.match) {
    prose += "The report matches: as of " + FormatDate(D) + ", known at " +
             (req.time.known_at ? FormatTimestamp(*req.time.known_at)
                                : "log position " + std::to_string(saved_position)) +
             "; recomputed at its view and at position " + std::to_string(check.checked_at) +
             ", every figure is the same.\n";
  } else {
    size_t tampered = 0;
    for (const Difference& d : differences) tampered += !d.reproduced();
    prose += "The report does not match: " + std::to_string(differences.size()) + " figures differ";
    if (tampered > 0)
      prose += ", " + std::to_string(tampered) +
               " of them already at the report's own view (the file does not hold what this log gives)";
    prose += ".\n";
    for (const Difference& d : differences)
      prose += "  " + d.figure + ": report " + (d.old_value.empty() ? "absent" : d.old_value) + ", at its view " +
               (d.at_view.empty() ? "absent" : d.at_view) + ", now " + (d.new_value.empty() ? "absent" : d.new_value) +
               "\n";
    if (!explained_by.empty()) {
      prose += "Recorded after the report's view and counted as of " + FormatDate(D) + " (" +
               std::to_string(explained_by.size() + explained_by_omitted) + " events):\n";
      for (size_t i = 0; i < explained_by.size() && i < 50; ++i) {
        const Explaining& e = explained_by[i];
        prose += "  position " + std::to_string(e.position) + ": " + std::string(EventTypeName(e.type)) + " " +
                 FormatUuid(e.id) + " on " + e.subject.text + ", effective " + FormatDate(e.effective) +
                 ", recorded " + FormatTimestamp(e.recorded) + " by " + e.actor + "\n";
      }
      if (explained_by.size() + explained_by_omitted > 50)
        prose += "  ... (" + std::to_string(explained_by.size() + explained_by_omitted - 50) +
                 " more in the JSON verdict)\n";
    }
  }
  check.prose = std::move(prose);
  return check;
}

}  // namespace relais::projections
