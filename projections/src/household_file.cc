// The household's own file (household_file.h): the JSON assembled from the
// reader's views, and the French page rendered from that JSON with the words
// of the label catalogue (labels.h) only.
#include "relais/projections/household_file.h"

#include <simdjson.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include <capnp/schema.h>

#include "relais.capnp.h"
#include "relais/event.h"
#include "relais/json_writer.h"
#include "relais/projections/labels.h"
#include "relais/projections/views.h"
#include "html_escape.h"

namespace relais::projections {

namespace {

// ---------------------------------------------------------------------------
// The JSON file.

struct OrderKey {
  Date date;
  Position anchor;    // the event's own position, or its target's
  Position position;  // the event's own
  bool operator<(const OrderKey& o) const {
    if (date != o.date) return date < o.date;
    if (anchor != o.anchor) return anchor < o.anchor;
    return position < o.position;
  }
};

// The effective-order key of every event of the stream known at `p`, by id
// text: an ordinary event sorts by its effective date as corrected at p, a
// correction or retraction right after its target.
std::unordered_map<std::string, OrderKey> EffectiveOrder(const std::vector<EventRecord>& records,
                                                        Position p) {
  std::unordered_map<Uuid, Date, UuidHash> corrected;  // target -> date after its corrections
  std::unordered_map<Uuid, Position, UuidHash> position_of;
  for (const auto& r : records) {
    if (r.position > p) break;
    position_of[r.id] = r.position;
    if (r.type == EventType::kEventCorrected) corrected[r.fact.target_id] = r.corrected_effective;
  }
  std::unordered_map<Uuid, Date, UuidHash> date_of;
  for (const auto& r : records) {
    if (r.position > p) break;
    if (IsCorrection(r.type)) continue;
    auto it = corrected.find(r.id);
    date_of[r.id] = it == corrected.end() ? r.effective : it->second;
  }
  std::unordered_map<std::string, OrderKey> out;
  for (const auto& r : records) {
    if (r.position > p) break;
    OrderKey k{r.effective, r.position, r.position};
    if (IsCorrection(r.type)) {
      auto d = date_of.find(r.fact.target_id);
      auto a = position_of.find(r.fact.target_id);
      if (d != date_of.end() && a != position_of.end()) k = {d->second, a->second, r.position};
    } else {
      k.date = date_of[r.id];
    }
    out.emplace(FormatUuid(r.id), k);
  }
  return out;
}

}  // namespace

bool MayReadHouseholdFile(const Caller& caller) {
  switch (caller.role) {
    case Role::kAdmin:
    case Role::kAuditor:
    case Role::kCoordinator:
    case Role::kSocialWorker:
      return true;
    case Role::kTenancyStaff:
    case Role::kEvaluator:
      return false;
  }
  return false;  // a role added later reads nothing until it is listed here
}

Result<std::string> HouseholdFileJson(Engine& engine, const HouseholdFileInput& in) {
  ViewTime t;
  t.known_at = in.known_at;
  ASSIGN_OR_RETURN(Position p, KnownAtPosition(engine, t));
  std::vector<EventRecord> records;
  RETURN_IF_ERROR(engine.ReadStream(in.subject, [&](const std::vector<EventRecord>& r) {
    records = r;  // copied: the work below runs without holding the stream
  }));
  if (records.empty() || records.front().position > p)
    return Status::NotFound("no event of " + in.subject.text + " is known at that time");
  ASSIGN_OR_RETURN(std::string hash, engine.HashAt(p));
  auto order = EffectiveOrder(records, p);

  simdjson::dom::parser parser;
  simdjson::dom::element history;
  if (parser.parse(in.history_json).get(history))
    return Status::Internal("the history view is not JSON");
  simdjson::dom::array events;
  if (history["events"].get_array().get(events))
    return Status::Internal("the history view has no events array");
  struct Row {
    OrderKey key;
    std::string json;
  };
  std::vector<Row> rows;
  for (simdjson::dom::element e : events) {
    std::string_view id;
    if (e["id"].get_string().get(id)) return Status::Internal("a history event has no id");
    auto it = order.find(std::string(id));
    // An event the records do not know (appended after p, between the
    // views): after everything else, in position order.
    OrderKey k = it != order.end() ? it->second : OrderKey{Date{INT32_MAX}, UINT64_MAX, UINT64_MAX};
    rows.push_back({k, simdjson::minify(e)});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.key < b.key; });

  JsonWriter w;
  w.BeginObject();
  w.Key("subject").String(in.subject.text);
  w.Key("knownAt");
  if (in.known_at) {
    w.String(FormatTimestamp(*in.known_at));
  } else {
    w.Null();
  }
  w.Key("logPosition").Uint(p);
  w.Key("logHash").String(hash);
  w.Key("status").Raw(in.status_json);
  w.Key("events").BeginArray();
  for (const Row& r : rows) w.Raw(r.json);
  w.EndArray();
  w.Key("accessLog").BeginArray();
  size_t first = in.access_log.size() > kFileAccessLogMax ? in.access_log.size() - kFileAccessLogMax : 0;
  for (size_t i = first; i < in.access_log.size(); ++i) {
    const AccessLogEntry& a = in.access_log[i];
    w.BeginObject();
    w.Key("at").String(FormatTimestamp(a.at));
    w.Key("role").String(a.role);
    w.Key("org").String(a.org);
    w.Key("endpoint").String(a.endpoint);
    w.Key("allowed").Bool(a.allowed);
    w.EndObject();
  }
  w.EndArray();
  if (first > 0) w.Key("accessLogOmitted").Uint(first);
  w.EndObject();
  return w.Take();
}

namespace {

// ---------------------------------------------------------------------------
// The HTML page.

constexpr uint64_t kDateAnnotation = 0xb0c1a7e4d2f30006ull;

std::string Escape(std::string_view s) { return HtmlEscape(s); }

bool GetBool(simdjson::dom::element e, std::string_view key) {
  bool b = false;
  if (e[key].get_bool().get(b) != simdjson::SUCCESS) return false;
  return b;
}

int64_t GetInt(simdjson::dom::element e, std::string_view key) {
  int64_t n = 0;
  if (e[key].get_int64().get(n) != simdjson::SUCCESS) return 0;
  return n;
}

std::string_view Str(simdjson::dom::element e, std::string_view key) {
  std::string_view v;
  if (e[key].get_string().get(v)) return {};
  return v;
}

// The schema's struct of an event type ("HouseholdRegistered" ->
// HouseholdRegistered), to know which fields are dates, enums, money.
std::optional<capnp::StructSchema> TypeStruct(std::string_view type) {
  if (type.empty()) return std::nullopt;
  std::string member(type);
  member[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(member[0])));
  auto data = capnp::Schema::from<schema::EventData>();
  KJ_IF_MAYBE(f, data.findFieldByName(member)) {
    if (f->getType().isStruct()) return f->getType().asStruct();
  }
  return std::nullopt;
}

std::optional<capnp::StructSchema::Field> FindField(std::optional<capnp::StructSchema> s,
                                                    std::string_view name) {
  if (!s) return std::nullopt;
  std::string n(name);
  KJ_IF_MAYBE(f, s->findFieldByName(n)) { return *f; }
  return std::nullopt;
}

bool IsDateField(const capnp::StructSchema::Field& f) {
  for (auto a : f.getProto().getAnnotations())
    if (a.getId() == kDateAnnotation) return true;
  return false;
}

class PageWriter {
 public:
  // One value of an event's data, in words. `field` (when the schema knows
  // it) tells dates, enums and nested structs apart.
  std::string Value(simdjson::dom::element v, std::optional<capnp::StructSchema::Field> field,
                    std::string_view name) {
    using T = simdjson::dom::element_type;
    switch (v.type()) {
      case T::STRING: {
        std::string_view s = v.get_string().value_unsafe();
        if (field) {
          capnp::Type t = field->getType();
          if (t.isList()) t = t.asList().getElementType();
          if (t.isEnum()) return Escape(labels::Value(t.asEnum().getShortDisplayName().cStr(), s));
          if (IsDateField(*field)) return Escape(labels::FrenchDate(s));
        }
        if (name == "effectiveDate") return Escape(labels::FrenchDate(s));
        return Escape(s);
      }
      case T::BOOL: return std::string(labels::Bool(v.get_bool().value_unsafe()));
      case T::INT64:
      case T::UINT64: {
        int64_t n = 0;
        if (v.get_int64().get(n)) return "?";
        if (name.size() > 5 && name.substr(name.size() - 5) == "Cents") return Escape(labels::Money(n));
        return std::to_string(n);
      }
      case T::DOUBLE: return std::to_string(v.get_double().value_unsafe());
      case T::NULL_VALUE: return "—";
      case T::ARRAY: {
        std::string out;
        std::optional<capnp::StructSchema> inner;
        if (field && field->getType().isList() && field->getType().asList().getElementType().isStruct())
          inner = field->getType().asList().getElementType().asStruct();
        simdjson::dom::array items = v.get_array().value_unsafe();
        for (simdjson::dom::element item : items) {
          if (!out.empty()) out += inner ? "<br>" : ", ";
          if (item.type() == T::OBJECT) {
            out += Object(item, inner, "");
          } else {
            out += Value(item, field, name);
          }
        }
        return out.empty() ? "—" : out;
      }
      case T::OBJECT: {
        std::optional<capnp::StructSchema> inner;
        if (field && field->getType().isStruct()) inner = field->getType().asStruct();
        return Object(v, inner, "");
      }
    }
    return "";
  }

  // "label : value ; label : value" for a struct's fields.
  std::string Object(simdjson::dom::element o, std::optional<capnp::StructSchema> s,
                     std::string_view type) {
    std::string out;
    simdjson::dom::object fields = o.get_object().value_unsafe();
    for (auto [key, value] : fields) {
      if (!out.empty()) out += " ; ";
      out += Escape(labels::Field(type, key)) + " : " + Value(value, FindField(s, key), key);
    }
    return out;
  }

  // An event's data, one field a line.
  std::string Data(simdjson::dom::element data, std::string_view type) {
    std::optional<capnp::StructSchema> s = TypeStruct(type);
    std::string out;
    simdjson::dom::object obj;
    if (data.get_object().get(obj)) return out;
    for (auto [key, value] : obj) {
      out += "<div>" + Escape(labels::Field(type, key)) + " : " +
             Value(value, FindField(s, key), key) + "</div>";
    }
    return out;
  }

  std::string& html() { return html_; }

 private:
  std::string html_;
};

// An actor in words: "travailleur social, Association X".
std::string Actor(simdjson::dom::element e) {
  simdjson::dom::element a;
  if (e["actor"].get(a)) return "";
  std::string out(labels::Role(Str(a, "role")));
  std::string_view org = Str(a, "org");
  if (!org.empty() && org != "-") out += ", " + std::string(org);
  return Escape(out);
}

constexpr std::string_view kStyle = R"css(
@page { size: A4; margin: 14mm 12mm 16mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 9.5pt;
       color: #111; margin: 0; line-height: 1.35; }
h1 { font-size: 17pt; margin: 0 0 4pt 0; }
h2 { font-size: 12.5pt; margin: 14pt 0 5pt 0; border-bottom: 1.5pt solid #333;
     break-after: avoid; page-break-after: avoid; }
p { margin: 3pt 0; }
table { width: 100%; border-collapse: collapse; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 0.6pt solid #888; padding: 3pt 4pt; vertical-align: top; text-align: left; }
th { background: #e6e6e6; }
th::first-letter { text-transform: uppercase; }
table.facts th { width: 34%; background: #f2f2f2; font-weight: normal; }
tr.change td { background: #f4f4f4; font-size: 9pt; }
tr.change td.what { padding-left: 12pt; }
tr.retracted td { color: #555; }
.tag { font-weight: bold; }
.note { color: #333; font-size: 8.5pt; }
footer { margin-top: 12pt; font-size: 8pt; color: #333; word-break: break-all; }
)css";

void Fact(std::string& h, std::string_view label, const std::string& value_html) {
  h += "<tr><th>" + Escape(label) + "</th><td>" + value_html + "</td></tr>\n";
}

// The status block (events.md §5 keys) in words.
void StatusSection(std::string& h, simdjson::dom::element st) {
  using T = simdjson::dom::element_type;
  h += "<h2>Votre situation</h2>\n<table class=\"facts\"><tbody>\n";
  simdjson::dom::object keys = st.get_object().value_unsafe();
  for (auto [key, value] : keys) {
    std::string text;
    if (key == "subject") continue;
    if (key == "territory") {
      text = value.type() == T::STRING ? Escape(labels::Value("Territory", value.get_string().value_unsafe()))
                                       : "—";
    } else if (key == "referrals") {
      simdjson::dom::array list = value.get_array().value_unsafe();
      for (simdjson::dom::element r : list) {
        text += "<div>" + Escape(labels::Field("", "referralId")) + " " + Escape(Str(r, "referralId")) +
                " : " + Escape(labels::Value("Track", Str(r, "track"))) + " ; " +
                Escape(labels::Field("", "source")) + " : " +
                Escape(labels::Value("ReferralSource", Str(r, "source"))) + " ; " +
                Escape(labels::Value("ReferralStatus", Str(r, "status"))) + "</div>";
      }
      if (text.empty()) text = "aucune";
    } else if (key == "occupancy") {
      if (value.type() != T::OBJECT) {
        text = "aucun";
      } else {
        text = Escape(labels::Field("", "dwellingId")) + " " + Escape(Str(value, "dwellingId")) + " ; " +
               Escape(labels::Value("Contract", Str(value, "contract"))) + " ; " +
               Escape(labels::Field("", "since")) + " " + Escape(labels::FrenchDate(Str(value, "since")));
      }
    } else if (key == "episodes") {
      simdjson::dom::array list = value.get_array().value_unsafe();
      for (simdjson::dom::element e : list) {
        text += "<div>" + Escape(labels::Value("SupportKind", Str(e, "kind"))) + " (" +
                Escape(Str(e, "association")) + ") : " +
                Escape(labels::Value("EpisodeStatus", Str(e, "status"))) + " ; " +
                Escape(labels::Field("", "startedOn")) + " " +
                Escape(labels::FrenchDate(Str(e, "startedOn")));
        std::string_view closed = Str(e, "closedOn");
        if (!closed.empty())
          text += " ; " + Escape(labels::Field("", "closedOn")) + " " + Escape(labels::FrenchDate(closed));
        simdjson::dom::array objectives;
        if (!e["objectives"].get_array().get(objectives)) {
          std::string list;
          for (simdjson::dom::element o : objectives) {
            if (!list.empty()) list += ", ";
            list += Escape(Str(o, "objectiveId")) + " " +
                    Escape(labels::Value("ObjectiveStatus", Str(o, "status")));
          }
          if (!list.empty()) text += " ; " + Escape(labels::Field("", "objectives")) + " : " + list;
        }
        text += "</div>";
      }
      if (text.empty()) text = "aucun";
    } else if (key == "arrears") {
      if (value.type() != T::OBJECT) {
        text = "aucune";
      } else {
        bool open = GetBool(value, "open");
        int64_t cents = GetInt(value, "amountCents");
        text = std::string(open ? "en cours" : "remboursée") + " ; " + Escape(labels::Field("", "amountCents")) +
               " " + Escape(labels::Money(cents)) + " ; " + Escape(labels::Field("", "since")) + " " +
               Escape(labels::FrenchDate(Str(value, "since")));
      }
    } else if (key == "procedureStage") {
      text = Escape(labels::Value("ProcedureStage", value.get_string().value_unsafe()));
    } else if (key == "consents") {
      simdjson::dom::object consents = value.get_object().value_unsafe();
      for (auto [c, given] : consents) {
        bool b = false;
        if (given.get_bool().get(b) != simdjson::SUCCESS) b = false;
        text += "<div>" + Escape(labels::Field("", c)) + " : " + std::string(labels::Bool(b)) + "</div>";
      }
    } else {
      PageWriter p;
      text = p.Value(value, std::nullopt, key);
    }
    Fact(h, labels::Field("", key), text);
  }
  h += "</tbody></table>\n";
}

// What changed with one correction: "field : before → after" lines, from the
// running state of the target (its data, then each earlier correction).
struct Target {
  std::string type;
  std::string effective;
  std::map<std::string, std::string> shown;  // field -> its words
};

}  // namespace

Result<std::string> RenderHouseholdFileHtml(std::string_view file_json) {
  simdjson::dom::parser parser;
  simdjson::dom::element file;
  if (parser.parse(file_json).get(file)) return Status::InvalidArgument("not a household file");
  simdjson::dom::element status;
  simdjson::dom::array events, access;
  if (file["status"].get(status) || file["events"].get_array().get(events) ||
      file["accessLog"].get_array().get(access))
    return Status::InvalidArgument("not a household file");
  std::string subject(Str(file, "subject"));
  std::string id = subject.substr(subject.find('/') + 1);
  std::string_view known_at = Str(file, "knownAt");
  PageWriter pw;
  std::string& h = pw.html();
  h += "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n<title>Dossier du ménage " +
       Escape(id) + "</title>\n<style>" + std::string(kStyle) + "</style>\n</head>\n<body>\n";
  h += "<header>\n<h1>Votre dossier</h1>\n<p><strong>Ménage " + Escape(id) +
       "</strong> : tout ce qui est enregistré à votre sujet dans relais, l'outil de suivi de "
       "l'accompagnement vers et dans le logement.</p>\n";
  h += "<p>Ce document vous est remis au titre de votre droit d'accès à vos données (article 15 "
       "du règlement général sur la protection des données) et de votre droit de consulter tout "
       "document sur votre accompagnement (loi du 2 janvier 2002, article L311-3 du code de "
       "l'action sociale et des familles). Vous pouvez demander qu'une information inexacte soit "
       "corrigée.</p>\n";
  h += "<p>Informations connues ";
  h += known_at.empty() ? std::string("au moment où ce document a été établi")
                        : "le " + Escape(labels::FrenchDate(known_at));
  h += ".</p>\n</header>\n";

  StatusSection(h, status);

  // Personal data as recorded: the registration's head of household, and
  // whether the personal data was erased.
  h += "<h2>Vos données personnelles</h2>\n";
  bool erased = false;
  erased = GetBool(status, "erased");
  std::string personal;
  for (simdjson::dom::element e : events) {
    if (Str(e, "type") != "HouseholdRegistered") continue;
    simdjson::dom::element head;
    if (e["data"]["headOfHousehold"].get(head)) continue;
    std::optional<capnp::StructSchema> person;
    if (auto f = FindField(TypeStruct("HouseholdRegistered"), "headOfHousehold"))
      person = f->getType().asStruct();
    personal += "<p>" + Escape(labels::Field("", "headOfHousehold")) + " : " +
                pw.Object(head, person, "") + ".</p>\n";
  }
  if (erased) {
    h += "<p>Vos données personnelles (nom, date de naissance, motifs et notes écrits à votre "
         "sujet) ont été effacées. Les autres informations restent, sans elles.</p>\n";
  } else if (personal.empty()) {
    h += "<p>Aucune donnée personnelle n'apparaît dans ce document.</p>\n";
  } else {
    h += personal;
    h += "<p class=\"note\">Les motifs, conditions et notes écrits à votre sujet figurent avec "
         "chaque information ci-dessous.</p>\n";
  }

  // Every event, in effective order, corrections and retractions beside
  // their original.
  h += "<h2>Tout ce qui a été enregistré</h2>\n";
  h += "<p class=\"note\">Dans l'ordre des dates des faits. Une correction ou une annulation "
       "figure juste sous l'information qu'elle concerne, avec l'ancienne et la nouvelle version "
       "et son motif.</p>\n";
  h += "<table class=\"events\">\n<thead><tr><th style=\"width:15%\">Date des faits</th>"
       "<th style=\"width:24%\">Ce qui a été enregistré</th><th>Détails</th>"
       "<th style=\"width:20%\">Enregistré le, par</th></tr></thead>\n<tbody>\n";
  std::unordered_map<std::string, Target> targets;
  for (simdjson::dom::element e : events) {
    std::string type(Str(e, "type"));
    std::string ev_id(Str(e, "id"));
    std::string_view effective = Str(e, "effectiveDate");
    simdjson::dom::element data;
    bool has_data = !e["data"].get(data);
    bool personal_erased = GetBool(e, "personalDataErased");
    std::string recorded = Escape(labels::FrenchDate(Str(e, "recordedAt"))) + "<br>" + Actor(e);
    if (type == "EventCorrected" || type == "EventRetracted") {
      bool retraction = type == "EventRetracted";
      std::string target_id(has_data ? Str(data, "targetId") : "");
      Target* t = nullptr;
      if (auto it = targets.find(target_id); it != targets.end()) t = &it->second;
      std::string what = "<span class=\"tag\">" + Escape(labels::EventType(type)) + "</span>";
      if (t) what += "<br>de : " + Escape(labels::EventType(t->type));
      std::string details;
      if (!retraction && has_data) {
        std::string_view new_date = Str(data, "effectiveDate");
        if (!new_date.empty()) {
          details += "<div>" + Escape(labels::Field(type, "effectiveDate")) + " : avant, " +
                     (t ? Escape(labels::FrenchDate(t->effective)) : "—") + " ; maintenant, " +
                     Escape(labels::FrenchDate(new_date)) + "</div>";
          if (t) t->effective = std::string(new_date);
        }
        simdjson::dom::object changed;
        if (!data["data"].get_object().get(changed)) {
          std::optional<capnp::StructSchema> s = t ? TypeStruct(t->type) : std::nullopt;
          std::string_view ttype = t ? std::string_view(t->type) : std::string_view();
          for (auto [key, value] : changed) {
            std::string now = pw.Value(value, FindField(s, key), key);
            std::string before = "—";
            if (t) {
              auto b = t->shown.find(std::string(key));
              if (b != t->shown.end()) before = b->second;
              t->shown[std::string(key)] = now;
            }
            details += "<div>" + Escape(labels::Field(ttype, key)) + " : avant, " + before +
                       " ; maintenant, " + now + "</div>";
          }
        }
      }
      std::string_view reason = has_data ? Str(data, "reason") : "";
      if (!reason.empty())
        details += "<div>" + Escape(labels::Field(type, "reason")) + " : " + Escape(reason) + "</div>";
      if (personal_erased) details += "<div>Le motif a été effacé avec vos données personnelles.</div>";
      h += "<tr class=\"event change\"><td>" + Escape(labels::FrenchDate(effective)) +
           "</td><td class=\"what\">" + what + "</td><td>" + details + "</td><td>" + recorded +
           "</td></tr>\n";
      continue;
    }
    bool retracted = e["retractedBy"].type() == simdjson::dom::element_type::STRING;
    Target& t = targets[ev_id];
    t.type = type;
    t.effective = std::string(effective);
    std::string details;
    if (has_data) {
      std::optional<capnp::StructSchema> s = TypeStruct(type);
      simdjson::dom::object obj;
      if (!data.get_object().get(obj)) {
        for (auto [key, value] : obj) {
          std::string words = pw.Value(value, FindField(s, key), key);
          t.shown[std::string(key)] = words;
          details += "<div>" + Escape(labels::Field(type, key)) + " : " + words + "</div>";
        }
      }
    }
    if (personal_erased) details += "<div>Les données personnelles de cette information ont été effacées.</div>";
    std::string what = "<span class=\"tag\">" + Escape(labels::EventType(type)) + "</span>";
    if (retracted) what += "<br>(annulée : voir dessous)";
    h += std::string("<tr class=\"event") + (retracted ? " retracted" : "") + "\"><td>" +
         Escape(labels::FrenchDate(effective)) + "</td><td>" + what + "</td><td>" + details +
         "</td><td>" + recorded + "</td></tr>\n";
  }
  h += "</tbody>\n</table>\n";

  // Who read it.
  h += "<h2>Qui a consulté votre dossier</h2>\n";
  if (access.size() == 0) {
    h += "<p>Personne n'a consulté votre dossier par le service en ligne de relais avant ce "
         "document.</p>\n";
  } else {
    h += "<table class=\"access\">\n<thead><tr><th style=\"width:24%\">Quand</th><th>Fonction</th>"
         "<th>Organisme</th><th>Ce qui a été consulté</th><th style=\"width:12%\">Accès accordé</th>"
         "</tr></thead>\n<tbody>\n";
    for (simdjson::dom::element a : access) {
      bool allowed = GetBool(a, "allowed");
      std::string_view org = Str(a, "org");
      h += "<tr><td>" + Escape(labels::FrenchDate(Str(a, "at"))) + "</td><td>" +
           Escape(labels::Role(Str(a, "role"))) + "</td><td>" +
           (org.empty() || org == "-" ? std::string("—") : Escape(org)) + "</td><td>" +
           Escape(labels::Endpoint(Str(a, "endpoint"))) + "</td><td>" +
           std::string(labels::Bool(allowed)) + "</td></tr>\n";
    }
    h += "</tbody>\n</table>\n";
    uint64_t omitted = 0;
    if (!file["accessLogOmitted"].get_uint64().get(omitted))
      h += "<p class=\"note\">Et " + std::to_string(omitted) + " consultations plus anciennes.</p>\n";
  }

  int64_t position = GetInt(file, "logPosition");
  h += "<footer>Document établi à partir du journal de relais arrêté à l'enregistrement numéro " +
       std::to_string(position) + " (empreinte de contrôle " + Escape(Str(file, "logHash")) +
       "), qui permet de vérifier qu'aucune information n'a été modifiée depuis.</footer>\n";
  h += "</body>\n</html>\n";
  return std::move(h);
}

}  // namespace relais::projections
