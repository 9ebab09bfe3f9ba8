// Role filtering of the read paths and authorisation of writes
// (visibility.h). Subject rights are judged on the stream's state as of now:
// a household transferred to another territory leaves its former
// coordinator's view at once, whatever time a view asks about.
#include "relais/projections/visibility.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "relais/domain.h"
#include "relais/hex.h"
#include "relais/json_writer.h"

namespace relais::projections {

namespace {

// What a caller may do on one subject, judged from its state now.
struct Scope {
  bool exists = false;
  bool readable = false;
  bool data_sharing = false;  // household consent data_sharing given (now)
};

std::string TerritoryOfHousehold(const HouseholdState& s) {
  return std::string(JsonName(s.territory));
}

// The household/dwelling/territory facts a rule of visibility.h needs.
Result<Scope> ScopeOf(Engine& engine, const Caller& caller, const Subject& subject) {
  Scope sc;
  if (subject.kind == StreamKind::kHousehold) {
    Date today = UtcDate(SystemClock()->Now());
    Position head = engine.GetHead().position;
    bool found = false;
    ASSIGN_OR_RETURN(HouseholdState s, FoldHousehold(engine, subject, head, today, &found));
    sc.exists = found;
    sc.data_sharing = s.consent_data_sharing;
    switch (caller.role) {
      case Role::kAdmin:
      case Role::kAuditor:
        sc.readable = true;
        break;
      case Role::kCoordinator:
      case Role::kTenancyStaff:
        sc.readable = found && TerritoryOfHousehold(s) == caller.territory;
        break;
      case Role::kSocialWorker:
        for (const auto& e : s.episodes)
          if (e.association == caller.org) sc.readable = true;
        for (const auto& o : s.occupancies)
          if (!o.association.empty() && o.association == caller.org) sc.readable = true;
        break;
      case Role::kEvaluator:
        break;
    }
    return sc;
  }
  if (subject.kind == StreamKind::kDwelling) {
    std::string territory;
    RETURN_IF_ERROR(engine.ReadStream(subject, [&](const std::vector<EventRecord>& records) {
      sc.exists = !records.empty();
      for (const auto& r : records)
        if (r.type == EventType::kDwellingRegistered)
          territory = std::string(JsonName(r.fact.territory));
    }));
    switch (caller.role) {
      case Role::kAdmin:
      case Role::kAuditor:
        sc.readable = true;
        break;
      case Role::kCoordinator:
      case Role::kTenancyStaff:
        sc.readable = sc.exists && territory == caller.territory;
        break;
      default:
        break;
    }
    return sc;
  }
  // Territory stream: its id is the territory.
  RETURN_IF_ERROR(engine.ReadStream(
      subject, [&](const std::vector<EventRecord>& records) { sc.exists = !records.empty(); }));
  switch (caller.role) {
    case Role::kAdmin:
    case Role::kAuditor:
      sc.readable = true;
      break;
    case Role::kCoordinator:
    case Role::kTenancyStaff:
      sc.readable = subject.id() == caller.territory;
      break;
    default:
      break;
  }
  return sc;
}

std::string ClassName(sc::Visibility v) {
  switch (v) {
    case sc::Visibility::MANAGEMENT:
      return "M";
    case sc::Visibility::SOCIAL:
      return "S";
    case sc::Visibility::HEALTH:
      return "H";
  }
  return "?";
}

// Whether the caller may see an event of class `v` on a readable subject.
bool ClassVisible(const Caller& caller, sc::Visibility v, const Scope& scope) {
  switch (caller.role) {
    case Role::kAdmin:
    case Role::kAuditor:
    case Role::kCoordinator:
      return true;
    case Role::kSocialWorker:
      return v != sc::Visibility::HEALTH || scope.data_sharing;
    case Role::kTenancyStaff:
      return v == sc::Visibility::MANAGEMENT;
    case Role::kEvaluator:
      return false;
  }
  return false;
}

// The class of every event of one stream known at a position (events.md §3):
// a corrected event, and each of its corrections and retractions, has the
// strictest of the target's original form and of every corrected form known
// then (H over S over M). A difficulty corrected to mental_health and back
// stays health: the health detail is in the history, whatever came after.
//
// Built from the engine's ReadStream records, whose EventCorrected facts are
// the target's fact after that correction (engine.h), so each correction is
// one corrected form. Anything the table cannot place is health: it reveals
// nothing to a role that may not read health.
class StreamClasses {
 public:
  StreamClasses(const std::vector<EventRecord>& records, Position known_at) {
    for (const EventRecord& r : records)
      if (r.position <= known_at && !IsCorrection(r.type))
        by_id_.emplace(r.id, Entry{r.type, VisibilityOf(r.type, r.fact)});
    for (const EventRecord& r : records) {
      if (r.position > known_at || r.type != EventType::kEventCorrected) continue;
      auto it = by_id_.find(r.fact.target_id);
      if (it == by_id_.end()) continue;
      // A fact not merged into the target's type cannot be classed: strictest.
      sc::Visibility corrected = r.fact.type == it->second.type
                                     ? VisibilityOf(it->second.type, r.fact)
                                     : sc::Visibility::HEALTH;
      it->second.cls = std::max(it->second.cls, corrected);
    }
  }

  // The class of an event of the stream (an ordinary event or a correction).
  sc::Visibility Of(const EventRecord& r) const {
    return OfTarget(IsCorrection(r.type) ? r.fact.target_id : r.id);
  }
  // The class of the ordinary event `id`, and so of any correction of it.
  sc::Visibility OfTarget(const Uuid& id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? sc::Visibility::HEALTH : it->second.cls;
  }
  bool Has(const Uuid& id) const { return by_id_.count(id) != 0; }

 private:
  struct Entry {
    EventType type;
    sc::Visibility cls;
  };
  std::map<Uuid, Entry> by_id_;
};

// The classes of `subject`'s events known at position `known_at`.
Result<StreamClasses> ClassesOf(Engine& engine, const Subject& subject, Position known_at) {
  std::optional<StreamClasses> out;
  RETURN_IF_ERROR(engine.ReadStream(
      subject, [&](const std::vector<EventRecord>& records) { out.emplace(records, known_at); }));
  if (!out) return StreamClasses({}, known_at);  // a stream with no event
  return std::move(*out);
}

// Removes the top-level `drop` keys of a JSON object (the event's data).
std::string DropKeys(std::string_view data_json, const std::vector<std::string>& drop,
                     bool* dropped) {
  if (drop.empty()) return std::string(data_json);
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(data_json.data(), data_json.size(), true).get(root) ||
      root.type() != simdjson::dom::element_type::OBJECT)
    return std::string(data_json);
  JsonWriter w;
  w.BeginObject();
  // Bind the object first: value_unsafe() on a temporary would dangle.
  simdjson::dom::object obj = root.get_object().value_unsafe();
  for (auto field : obj) {
    if (std::find(drop.begin(), drop.end(), field.key) != drop.end()) {
      *dropped = true;
      continue;
    }
    w.Key(field.key).Raw(simdjson::minify(field.value));
  }
  w.EndObject();
  return w.Take();
}

// The envelope of interfaces.md `relais history`, without the links.
// Tenancy staff never read the free-text reason of a correction or a
// retraction (personal data of a social event's author).
std::string DataFor(const Caller& caller, const StoredEventView& v, bool* filtered) {
  if (caller.role == Role::kTenancyStaff && IsCorrection(v.record.type))
    return DropKeys(v.data_json, PersonalFieldNames(v.record.type), filtered);
  return v.data_json;
}

// Reduces a household status to what tenancy staff may read.
std::string TenancyStatus(std::string_view status_json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(status_json.data(), status_json.size(), true).get(root)) return "{}";
  bool support_in_place = false;
  simdjson::dom::array episodes;
  if (!root["episodes"].get_array().get(episodes)) {
    for (auto e : episodes) {
      std::string_view st;
      if (!e["status"].get_string().get(st) && (st == "active" || st == "paused"))
        support_in_place = true;
    }
  }
  static const std::unordered_set<std::string_view> kKept = {
      "subject", "registered", "territory", "occupancy", "arrears", "procedureStage", "erased"};
  JsonWriter w;
  w.BeginObject();
  simdjson::dom::object obj = root.get_object().value_unsafe();
  for (auto field : obj)
    if (kKept.count(field.key)) w.Key(field.key).Raw(simdjson::minify(field.value));
  w.Key("supportInPlace").Bool(support_in_place);
  w.Key("filtered").Bool(true);
  w.EndObject();
  return w.Take();
}

}  // namespace

bool MayReadReports(const Caller& c) {
  return c.role == Role::kAdmin || c.role == Role::kCoordinator || c.role == Role::kEvaluator ||
         c.role == Role::kAuditor;
}
bool MayVerify(const Caller& c) { return c.role == Role::kAdmin || c.role == Role::kAuditor; }
bool MayReadFeed(const Caller& c) { return c.role != Role::kEvaluator; }

Result<bool> MayReadSubject(Engine& engine, const Caller& caller, const Subject& subject) {
  ASSIGN_OR_RETURN(Scope s, ScopeOf(engine, caller, subject));
  return s.readable;
}

Result<FilteredView> StatusFor(Engine& engine, const Caller& caller, const Subject& subject,
                               const ViewTime& t, Date today) {
  ASSIGN_OR_RETURN(Scope scope, ScopeOf(engine, caller, subject));
  FilteredView out;
  if (!scope.readable) {
    out.access = Access::kForbidden;
    return out;
  }
  ASSIGN_OR_RETURN(out.json, StatusJson(engine, subject, t, today, false));
  if (caller.role == Role::kTenancyStaff && subject.kind == StreamKind::kHousehold) {
    out.json = TenancyStatus(out.json);
    out.access = Access::kFiltered;
  }
  return out;
}

Result<FilteredView> HistoryFor(Engine& engine, const Caller& caller, const Subject& subject,
                                std::optional<Timestamp> known_at) {
  ASSIGN_OR_RETURN(Scope scope, ScopeOf(engine, caller, subject));
  FilteredView out;
  if (!scope.readable) {
    out.access = Access::kForbidden;
    return out;
  }
  ASSIGN_OR_RETURN(std::vector<StoredEventView> events, EventsKnownAt(engine, subject, known_at));
  // `events` holds every event of the stream up to the known-at position, so
  // its last position bounds the classes to what is known at T. The decoded
  // views carry a correction's own data, not the corrected target's: the
  // classes come from the stream's records, where each correction is merged.
  ASSIGN_OR_RETURN(StreamClasses classes,
                   ClassesOf(engine, subject, events.back().record.position));

  bool filtered = false;
  std::vector<bool> shown(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    shown[i] = ClassVisible(caller, classes.Of(events[i].record), scope);
    if (!shown[i]) filtered = true;
  }
  std::vector<std::string> data(events.size());
  for (size_t i = 0; i < events.size(); ++i)
    if (shown[i]) data[i] = DataFor(caller, events[i], &filtered);
  out.json = RenderHistory(subject, known_at, events, shown, data, filtered, false);
  out.access = filtered ? Access::kFiltered : Access::kAllowed;
  return out;
}

Result<TenancyView> TenancyFor(Engine& engine, const Caller& caller, const Subject& dwelling,
                               const ViewTime& t, Date today) {
  TenancyView out;
  if (dwelling.kind != StreamKind::kDwelling)
    return Status::InvalidArgument("a tenancy record is the record of a dwelling/<id>, not " +
                                   dwelling.text);
  ASSIGN_OR_RETURN(Scope scope, ScopeOf(engine, caller, dwelling));
  if (!scope.readable) {
    out.access = Access::kForbidden;
    return out;
  }
  ASSIGN_OR_RETURN(out.record, BuildTenancyRecord(engine, dwelling, t, today));
  // The classes of each stream's events, from the records the record read
  // (cut at its known-at position): the same table as history's.
  std::unordered_map<std::string, StreamClasses> classes;
  for (const auto& [subject, records] : out.record.records)
    classes.emplace(subject, StreamClasses(records, out.record.known_position));
  const size_t n = out.record.events.size();
  out.shown.shown.assign(n, false);
  out.shown.data.assign(n, std::string());
  for (size_t i = 0; i < n; ++i) {
    const StoredEventView& v = out.record.events[i].view;
    auto it = classes.find(v.subject.text);
    // Every shown event's stream is in the table; one that is not is hidden.
    bool shown = it != classes.end() && ClassVisible(caller, it->second.Of(v.record), scope);
    out.shown.shown[i] = shown;
    if (!shown) {
      out.filtered = true;
      continue;
    }
    out.shown.data[i] = DataFor(caller, v, &out.filtered);
  }
  out.access = out.filtered ? Access::kFiltered : Access::kAllowed;
  return out;
}

std::optional<std::string> FeedEventFor(Engine& engine, const Caller& caller,
                                        const StoredEventView& event, bool* filtered) {
  *filtered = false;
  if (!MayReadFeed(caller)) return std::nullopt;
  if (caller.role != Role::kAdmin && caller.role != Role::kAuditor) {
    auto scope = ScopeOf(engine, caller, event.subject);
    if (!scope.ok() || !scope->readable) return std::nullopt;
    // The feed is judged when it is read, on every correction known then: an
    // event delivered before its correction to mental_health is not delivered
    // again on a replay, and neither is any correction of it.
    auto classes = ClassesOf(engine, event.subject, std::numeric_limits<Position>::max());
    if (!classes.ok() || !ClassVisible(caller, classes->Of(event.record), *scope))
      return std::nullopt;
  }
  JsonWriter w;
  w.BeginObject();
  WriteEnvelope(w, event, DataFor(caller, event, filtered));
  if (*filtered) w.Key("filtered").Bool(true);
  w.EndObject();
  return w.Take();
}

Status AuthoriseWrite(Engine& engine, const Caller& caller, std::string_view body) {
  if (caller.role == Role::kAdmin) return Status::Ok();
  if (caller.role == Role::kAuditor || caller.role == Role::kEvaluator)
    return Status::FailedPrecondition("the role " + std::string(RoleName(caller.role)) +
                                      " may not write");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size(), true).get(root)) return Status::Ok();
  std::vector<simdjson::dom::element> items;
  if (root.type() == simdjson::dom::element_type::ARRAY) {
    simdjson::dom::array arr = root.get_array().value_unsafe();
    for (auto e : arr) items.push_back(e);
  } else {
    items.push_back(root);
  }
  // Facts the batch itself brings: a new household's registration territory,
  // a support episode or hosting of the caller's own association.
  std::unordered_map<std::string, std::string> new_territory;
  std::unordered_set<std::string> links_itself;
  for (auto e : items) {
    std::string_view subject, type, territory, association;
    if (e["subject"].get_string().get(subject) || e["type"].get_string().get(type)) continue;
    auto data = e["data"];
    if ((type == "HouseholdRegistered" || type == "DwellingRegistered") &&
        !data["territory"].get_string().get(territory))
      new_territory[std::string(subject)] = std::string(territory);
    if ((type == "SupportStarted" || type == "OccupancyStarted") &&
        !data["association"].get_string().get(association) && association == caller.org)
      links_itself.insert(std::string(subject));
  }
  std::unordered_map<std::string, Scope> scopes;
  for (auto e : items) {
    std::string_view subject_text, type_name;
    // Malformed events are the engine's to refuse, with the contract's message.
    if (e["subject"].get_string().get(subject_text) || e["type"].get_string().get(type_name))
      return Status::Ok();
    std::string why;
    auto subject = ParseSubject(subject_text, &why);
    auto type = EventTypeFromName(type_name);
    if (!subject || !type) return Status::Ok();
    auto it = scopes.find(subject->text);
    if (it == scopes.end()) {
      ASSIGN_OR_RETURN(Scope s, ScopeOf(engine, caller, *subject));
      if (!s.exists) {
        // A new stream: judged on the registration the batch carries.
        auto nt = new_territory.find(subject->text);
        if (caller.role == Role::kCoordinator || caller.role == Role::kTenancyStaff) {
          s.readable = subject->kind == StreamKind::kTerritory
                           ? subject->id() == caller.territory
                           : nt != new_territory.end() && nt->second == caller.territory;
        }
      }
      // A social worker links itself to a household only by opening it: the
      // batch registers the household with the association's own support
      // or hosting. An existing household is never reachable by writing a
      // SupportStarted to it (that would open any case to any association).
      if (caller.role == Role::kSocialWorker && subject->kind == StreamKind::kHousehold &&
          !s.exists && links_itself.count(subject->text))
        s.readable = true;
      it = scopes.emplace(subject->text, s).first;
    }
    const Scope& scope = it->second;
    if (!scope.readable)
      return Status::FailedPrecondition("the token may not write to " + subject->text);
    // The class of the event: a correction's is its target's strictest form
    // known now, so that no role corrects or retracts what it may not read.
    sc::Visibility v = TypeVisibility(*type);
    std::string_view category;
    if (*type == EventType::kDifficultyReported &&
        !e["data"]["category"].get_string().get(category) && category == "mental_health")
      v = sc::Visibility::HEALTH;
    if (IsCorrection(*type)) {
      std::string_view target_text;
      if (!e["data"]["targetId"].get_string().get(target_text)) {
        if (auto target = ParseUuid(target_text)) {
          ASSIGN_OR_RETURN(StreamClasses classes,
                           ClassesOf(engine, *subject, std::numeric_limits<Position>::max()));
          // An unknown target is the engine's to refuse (target_not_found).
          if (classes.Has(*target)) v = classes.OfTarget(*target);
        }
      }
      // A correction that would turn a difficulty into mental_health is health.
      if (e["data"]["data"]["category"].get_string().get(category) == simdjson::SUCCESS &&
          category == "mental_health")
        v = sc::Visibility::HEALTH;
    }
    if (!ClassVisible(caller, v, scope)) {
      // For a correction or a retraction the class is its target's: naming it
      // would tell the caller what the event it may not read is.
      if (IsCorrection(*type))
        return Status::FailedPrecondition("the token may not write " + std::string(type_name) +
                                          " events for that target in " + subject->text);
      return Status::FailedPrecondition("the token may not write " + std::string(type_name) +
                                        " events (class " + ClassName(v) + ") to " + subject->text);
    }
  }
  return Status::Ok();
}

std::string Pseudonym(std::string_view key, std::string_view id) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(id.data()), id.size(), mac, &len);
  return ToHex(mac, std::min(len, 16u));  // the first 128 bits
}

namespace {

// Identifier fields (anywhere in data) replaced by their pseudonym.
bool IsIdentifierKey(std::string_view k) {
  return k == "dwellingId" || k == "referralId" || k == "episodeId" || k == "previousEpisodeId" ||
         k == "objectiveId" || k == "targetId";
}

void Rewrite(simdjson::dom::element e, std::string_view key, JsonWriter& w,
             const std::vector<std::string>* drop, const std::vector<std::string>* inner_drop) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      w.BeginObject();
      simdjson::dom::object obj = e.get_object().value_unsafe();
      for (auto f : obj) {
        if (drop && std::find(drop->begin(), drop->end(), f.key) != drop->end()) continue;
        std::string_view s;
        w.Key(f.key);
        if (IsIdentifierKey(f.key) && !f.value.get_string().get(s)) {
          w.String(Pseudonym(key, s));
        } else if (inner_drop && f.key == "data") {
          // EventCorrected.data: a partial object of the target's type.
          Rewrite(f.value, key, w, inner_drop, nullptr);
        } else {
          Rewrite(f.value, key, w, nullptr, nullptr);
        }
      }
      w.EndObject();
      break;
    }
    case simdjson::dom::element_type::ARRAY: {
      w.BeginArray();
      simdjson::dom::array arr = e.get_array().value_unsafe();
      for (auto x : arr) Rewrite(x, key, w, nullptr, nullptr);
      w.EndArray();
      break;
    }
    default:
      w.Raw(simdjson::minify(e));
  }
}

}  // namespace

Result<std::string> PseudonymisedEvent(std::string_view key, const StoredEventView& v,
                                       std::optional<EventType> target_type) {
  // One parser per thread: the export and the sink render from their own threads.
  thread_local simdjson::dom::parser parser;
  const std::vector<std::string>* inner_drop =
      target_type ? &PersonalFieldNames(*target_type) : nullptr;
  // Every $personal field goes, whatever the stream: an evaluator must never
  // identify anyone. The actor's name goes too; its role stays.
  JsonWriter w;
  w.BeginObject();
  w.Key("position").Uint(v.record.position);
  w.Key("version").Int(v.record.version);
  w.Key("id").String(Pseudonym(key, FormatUuid(v.record.id)));
  w.Key("type").String(EventTypeName(v.record.type));
  std::string subject(v.subject.text.substr(0, v.subject.text.find('/') + 1));
  w.Key("subject").String(subject + Pseudonym(key, v.subject.id()));
  w.Key("effectiveDate").String(FormatDate(v.record.effective));
  w.Key("recordedAt").String(FormatTimestamp(v.record.recorded));
  w.Key("actor").BeginObject();
  w.Key("role").String(v.actor.role);
  w.EndObject();
  simdjson::dom::element data;
  if (parser.parse(v.data_json.data(), v.data_json.size(), true).get(data))
    return Status::Corruption("event at position " + std::to_string(v.record.position) +
                              ": data does not parse");
  w.Key("data");
  Rewrite(data, key, w, &PersonalFieldNames(v.record.type), inner_drop);
  if (v.personal_data_erased) w.Key("personalDataErased").Bool(true);
  w.EndObject();
  return w.Take();
}

struct PseudonymisedExport::State {
  Position next = 1;
  Position last = 0;  // the last position known at `known_at`
  // Target types of corrections: a correction's data.data has the target's fields.
  std::unordered_map<std::string, EventType> types;
};

PseudonymisedExport::PseudonymisedExport(Engine& engine, std::optional<Timestamp> known_at,
                                         std::string key)
    : engine_(&engine), known_at_(known_at), key_(std::move(key)) {}
PseudonymisedExport::~PseudonymisedExport() = default;
PseudonymisedExport::PseudonymisedExport(PseudonymisedExport&&) noexcept = default;

Status PseudonymisedExport::Next(size_t bytes_min, std::string* out, bool* done) {
  *done = false;
  if (!state_) {
    ViewTime t;
    t.known_at = known_at_;
    ASSIGN_OR_RETURN(Position last, KnownAtPosition(*engine_, t));
    state_ = std::make_unique<State>();
    state_->last = last;
  }
  State& st = *state_;
  if (st.next > st.last) {
    *done = true;
    return Status::Ok();
  }
  const std::string_view key = key_;
  const size_t start = out->size();
  bool any = false;
  Status inner;
  Status scanned = engine_->Scan(st.next, [&](const StoredEventView& v) {
    if (v.record.position > st.last) return false;
    std::string id = FormatUuid(v.record.id);
    st.types.emplace(id, v.record.type);
    std::optional<EventType> target;
    if (v.record.type == EventType::kEventCorrected) {
      auto it = st.types.find(FormatUuid(v.record.fact.target_id));
      if (it != st.types.end()) target = it->second;
    }
    auto line = PseudonymisedEvent(key, v, target);
    if (!line.ok()) {
      inner = line.status();
      return false;
    }
    out->append(*line);
    out->push_back('\n');
    st.next = v.record.position + 1;
    any = true;
    return out->size() - start < bytes_min;
  });
  RETURN_IF_ERROR(scanned);
  RETURN_IF_ERROR(inner);
  // (a log that ended before `last` cannot happen: a position known at some
  // time stays; ending there keeps a caller's loop finite whatever happens)
  *done = st.next > st.last || !any;
  return Status::Ok();
}

Status ExportPseudonymised(Engine& engine, std::optional<Timestamp> known_at, std::string_view key,
                           const std::function<bool(std::string_view)>& emit) {
  // Pieces of 64 KiB (one Scan each), cut into their lines: a line is one
  // JSON object, with no raw newline inside.
  PseudonymisedExport exporter(engine, known_at, std::string(key));
  std::string piece;
  for (bool done = false; !done;) {
    piece.clear();
    // On an error, the lines before the failing event are still emitted.
    Status st = exporter.Next(64 << 10, &piece, &done);
    std::string_view rest = piece;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      if (!emit(rest.substr(0, nl + 1))) return Status::Ok();
      rest.remove_prefix(nl + 1);
    }
    RETURN_IF_ERROR(st);
  }
  return Status::Ok();
}

}  // namespace relais::projections
