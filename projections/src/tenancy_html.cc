// The tenancy record as a printable dispute file in French (tenancy.h
// RenderTenancyHtml): one page per A4 sheet with the table header repeated,
// no script, no external resource. Every contract name (event type, field,
// enum value, role) goes through the label catalogue (labels.h), and every
// date through FrenchDate, so that the page shows no JSON key.
#include <simdjson.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "relais/domain.h"
#include "relais/projections/labels.h"
#include "relais/projections/tenancy.h"
#include "html_escape.h"

namespace relais::projections {

namespace {

std::string Esc(std::string_view s) { return HtmlEscape(s); }

// The schema enum a data field's values belong to (labels::Value's key).
std::string_view EnumOf(std::string_view type, std::string_view field) {
  static const std::map<std::string_view, std::string_view> kByField = {
      {"contract", "Contract"},     {"to", "LeaseTarget"},         {"destination", "Destination"},
      {"step", "EvictionStep"},     {"decision", "CalDecision"},   {"answer", "OfferAnswer"},
      {"territory", "Territory"},   {"typology", "Typology"},      {"adaptations", "Adaptation"},
      {"category", "DifficultyCategory"}, {"outcome", "SlideOutcome"},
  };
  // `reason` is an enum only where the schema says so; elsewhere it is text.
  if (field == "reason") return type == "OccupancyEnded" ? "EndReason" : "";
  auto it = kByField.find(field);
  return it == kByField.end() ? std::string_view() : it->second;
}

std::string ValueText(std::string_view type, std::string_view field, simdjson::dom::element v) {
  switch (v.type()) {
    case simdjson::dom::element_type::STRING: {
      std::string_view s = v.get_string().value_unsafe();
      std::string_view e = EnumOf(type, field);
      if (!e.empty()) return Esc(labels::Value(e, s));
      return Esc(labels::FrenchDate(s));
    }
    case simdjson::dom::element_type::BOOL:
      return std::string(labels::Bool(v.get_bool().value_unsafe()));
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64: {
      int64_t n = 0;
      if (v.get_int64().get(n)) return Esc(simdjson::minify(v));
      if (field.size() > 5 && field.substr(field.size() - 5) == "Cents") return Esc(labels::Money(n));
      return std::to_string(n);
    }
    case simdjson::dom::element_type::ARRAY: {
      std::string out;
      simdjson::dom::array arr;
      if (v.get_array().get(arr)) return "";
      for (auto x : arr) {
        if (!out.empty()) out += ", ";
        out += ValueText(type, field, x);
      }
      return out.empty() ? "—" : out;
    }
    case simdjson::dom::element_type::OBJECT: {
      std::string out;
      simdjson::dom::object obj;
      if (v.get_object().get(obj)) return "";
      for (auto f : obj) {
        if (!out.empty()) out += " ; ";
        out += Esc(labels::Field(type, f.key)) + " : " + ValueText(type, f.key, f.value);
      }
      return out;
    }
    default:
      return Esc(simdjson::minify(v));
  }
}

// "field : value" lines of an event's data (`skip`: fields the row already says).
std::string DataText(std::string_view type, std::string_view data_json,
                     const std::vector<std::string_view>& skip) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object obj;
  if (parser.parse(data_json.data(), data_json.size(), true).get(root) ||
      root.get_object().get(obj))
    return "";
  std::string out;
  for (auto f : obj) {
    if (std::find(skip.begin(), skip.end(), f.key) != skip.end()) continue;
    out += "<div>" + Esc(labels::Field(type, f.key)) + " : " + ValueText(type, f.key, f.value) +
           "</div>";
  }
  return out;
}

std::string Who(const StoredEventView& v) {
  std::string who = Esc(labels::Role(v.actor.role));
  if (!v.actor.org.empty() && v.actor.org != "-") who += " (" + Esc(v.actor.org) + ")";
  return who;
}

// What a correction or a retraction says, beside its target.
std::string CorrectionText(const StoredEventView& c, std::string_view data_json,
                           std::string_view target_type) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string out = "<div class=\"correction\"><strong>";
  out += c.record.type == EventType::kEventRetracted ? "Retiré" : "Corrigé";
  out += "</strong> le " + Esc(labels::FrenchDate(FormatTimestamp(c.record.recorded))) + " par " +
         Who(c) + " (position " + std::to_string(c.record.position) + ")";
  if (!parser.parse(data_json.data(), data_json.size(), true).get(root)) {
    std::string_view s;
    if (!root["effectiveDate"].get_string().get(s))
      out += "<div>" + Esc(labels::Field("", "effectiveDate")) + " : " +
             Esc(labels::FrenchDate(s)) + "</div>";
    simdjson::dom::object inner;
    if (!root["data"].get_object().get(inner))
      for (auto f : inner)
        out += "<div>" + Esc(labels::Field(target_type, f.key)) + " : " +
               ValueText(target_type, f.key, f.value) + "</div>";
    if (!root["reason"].get_string().get(s))
      out += "<div>" + Esc(labels::Field(EventTypeName(c.record.type), "reason")) + " : « " +
             Esc(s) + " »</div>";
  }
  return out + "</div>";
}

struct Row {
  size_t index;            // into the record's events
  Date effective;          // corrected, for the order of the timeline
  std::vector<size_t> corrections;  // shown corrections / retractions, position order
  bool retracted = false;
};

struct Occupancy {
  std::string household;
  std::string start, end, end_reason;
  std::vector<std::pair<std::string, std::string>> contracts;  // (contract, from)
  std::vector<Row> rows;
};

void Table(std::string& h, const TenancyRecord& r, const TenancyShown& s,
           std::vector<Row> rows) {
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) {
    if (a.effective != b.effective) return a.effective < b.effective;
    return r.events[a.index].view.record.position < r.events[b.index].view.record.position;
  });
  if (rows.empty()) {
    h += "<p class=\"empty\">Aucun fait visible.</p>\n";
    return;
  }
  h += "<table><thead><tr><th>" + Esc(labels::Field("", "effectiveDate")) + "</th><th>" +
       Esc(labels::Field("", "type")) + "</th><th>Détail</th><th>" +
       Esc(labels::Field("", "actor")) + "</th><th>" + Esc(labels::Field("", "recordedAt")) +
       "</th><th>Corrections et retraits</th></tr></thead>\n<tbody>\n";
  for (const Row& row : rows) {
    const StoredEventView& v = r.events[row.index].view;
    std::string_view type = EventTypeName(v.record.type);
    h += row.retracted ? "<tr class=\"retracted\">" : "<tr>";
    h += "<td>" + Esc(labels::FrenchDate(FormatDate(v.record.effective))) + "</td>";
    h += "<td>" + Esc(labels::EventType(type)) + "<div class=\"pos\">position " +
         std::to_string(v.record.position) + "</div></td>";
    h += "<td>" + DataText(type, s.data[row.index], {"dwellingId"}) + "</td>";
    h += "<td>" + Who(v) + "</td>";
    h += "<td>" + Esc(labels::FrenchDate(FormatTimestamp(v.record.recorded))) + "</td><td>";
    for (size_t c : row.corrections)
      h += CorrectionText(r.events[c].view, s.data[c], type);
    h += "</td></tr>\n";
  }
  h += "</tbody></table>\n";
}

}  // namespace

std::string RenderTenancyHtml(const TenancyRecord& r, const TenancyShown& s, bool filtered,
                              const std::string& checkpoint_note) {
  // Each shown correction beside its shown target; corrections of one
  // target in position order (the record is in position order).
  std::unordered_map<Uuid, size_t, UuidHash> row_of;  // target id -> index into rows
  std::vector<Row> rows;
  for (size_t i = 0; i < r.events.size(); ++i) {
    if (!s.shown[i] || IsCorrection(r.events[i].view.record.type)) continue;
    row_of[r.events[i].view.record.id] = rows.size();
    rows.push_back({i, r.events[i].view.record.effective, {}, false});
  }
  for (size_t i = 0; i < r.events.size(); ++i) {
    const StoredEventView& v = r.events[i].view;
    if (!s.shown[i] || !IsCorrection(v.record.type)) continue;
    auto it = row_of.find(v.record.fact.target_id);
    if (it == row_of.end()) continue;  // a target hidden from this reader
    Row& row = rows[it->second];
    row.corrections.push_back(i);
    if (v.record.type == EventType::kEventRetracted) row.retracted = true;
  }
  // The corrected effective date orders the timeline (events.md §2).
  for (const auto& [subject, records] : r.records)
    for (const EventRecord& rec : records)
      if (rec.type == EventType::kEventCorrected)
        if (auto it = row_of.find(rec.fact.target_id); it != row_of.end())
          rows[it->second].effective = rec.corrected_effective;

  // The occupancies of the dwelling (its status), each household's rows
  // under the occupancy that had begun by then, or its first one.
  std::vector<Occupancy> occupancies;
  {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (!parser.parse(r.occupancies_json).get(root)) {
      simdjson::dom::array arr;
      if (!root.get_array().get(arr))
        for (auto o : arr) {
          Occupancy oc;
          std::string_view x;
          if (!o["household"].get_string().get(x)) oc.household = std::string(x);
          if (!o["start"].get_string().get(x)) oc.start = std::string(x);
          if (!o["end"].get_string().get(x)) oc.end = std::string(x);
          if (!o["endReason"].get_string().get(x)) oc.end_reason = std::string(x);
          simdjson::dom::array cs;
          if (!o["contracts"].get_array().get(cs))
            for (auto c : cs) {
              std::string_view k, f;
              if (!c["contract"].get_string().get(k) && !c["from"].get_string().get(f))
                oc.contracts.emplace_back(std::string(k), std::string(f));
            }
          occupancies.push_back(std::move(oc));
        }
    }
  }
  std::vector<Row> own;
  std::map<std::string, std::vector<Row>> without_occupancy;  // by household id
  for (const Row& row : rows) {
    const StoredEventView& v = r.events[row.index].view;
    if (v.subject.kind != StreamKind::kHousehold) {
      own.push_back(row);
      continue;
    }
    std::string household(v.subject.id());
    Occupancy* into = nullptr;
    for (Occupancy& o : occupancies) {
      if (o.household != household) continue;
      auto start = ParseDate(o.start);
      if (!into || (start && *start <= row.effective)) into = &o;
    }
    if (into) {
      into->rows.push_back(row);
    } else {
      without_occupancy[household].push_back(row);
    }
  }

  std::string id(r.subject.id());
  std::string h;
  h.reserve(8192 + r.events.size() * 600);
  h += "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Dossier locatif du "
       "logement " + Esc(id) + "</title>\n<style>\n"
       "@page{size:A4;margin:15mm 12mm}\n"
       "body{font-family:serif;font-size:10pt;color:#000}\n"
       "h1{font-size:16pt}h2{font-size:12pt;margin-top:1.5em;break-after:avoid}\n"
       "table{width:100%;border-collapse:collapse;margin:.5em 0}\n"
       "thead{display:table-header-group}\n"
       "tr{break-inside:avoid;page-break-inside:avoid}\n"
       "th,td{border:1px solid #777;padding:2px 4px;vertical-align:top;text-align:left}\n"
       "th{background:#eee}\n"
       ".pos{font-size:8pt;color:#444}\n"
       ".retracted>td:nth-child(-n+3){text-decoration:line-through}\n"
       ".correction{font-style:italic;margin-bottom:.3em}\n"
       ".placeholder{border:2px dashed #a00;padding:.5em}\n"
       "pre{white-space:pre-wrap;word-break:break-all;font-size:9pt}\n"
       "</style></head><body>\n";
  h += "<h1>Dossier locatif du logement " + Esc(id) + "</h1>\n";
  h += "<p>";
  if (r.known_at) {
    h += "État du journal connu le " + Esc(labels::FrenchDate(FormatTimestamp(*r.known_at)));
  } else {
    h += "État complet du journal";
  }
  h += ", jusqu'à la position " + std::to_string(r.known_position) +
       ". Chaque ligne donne la date d'effet du fait, qui l'a enregistré et quand ; les "
       "corrections et retraits figurent à côté du fait d'origine, avec leur motif.</p>\n";
  if (filtered)
    h += "<p><strong>Dossier filtré :</strong> certains faits ou certaines informations ne sont "
         "pas visibles avec le rôle du lecteur.</p>\n";

  h += "<h2>Le logement</h2>\n";
  Table(h, r, s, own);

  int n = 0;
  for (const Occupancy& o : occupancies) {
    h += "<h2>Occupation " + std::to_string(++n) + " : ménage " + Esc(o.household) + ", du " +
         Esc(labels::FrenchDate(o.start));
    h += o.end.empty() ? ", en cours" : " au " + Esc(labels::FrenchDate(o.end));
    h += "</h2>\n<p>";
    for (size_t i = 0; i < o.contracts.size(); ++i) {
      if (i > 0) h += " ; ";
      h += Esc(labels::Value("Contract", o.contracts[i].first)) + " depuis le " +
           Esc(labels::FrenchDate(o.contracts[i].second));
    }
    if (!o.end_reason.empty())
      h += ". " + Esc(labels::Field("OccupancyEnded", "reason")) + " : " +
           Esc(labels::Value("EndReason", o.end_reason));
    h += ".</p>\n";
    Table(h, r, s, o.rows);
  }
  for (const auto& [household, hrows] : without_occupancy) {
    h += "<h2>Ménage " + Esc(household) + " (sans occupation de ce logement)</h2>\n";
    Table(h, r, s, hrows);
  }

  h += "<h2>Point de contrôle</h2>\n";
  if (checkpoint_note.empty()) {
    h += "<div class=\"placeholder\" id=\"checkpoint-placeholder\"><strong>À compléter :</strong> "
         "le point de contrôle signé du journal (taille " +
         std::to_string(r.known_position) +
         ") contre lequel ce dossier se vérifie n'est pas encore joint.</div>\n";
  } else {
    h += "<p>Ce dossier se vérifie contre le point de contrôle signé ci-dessous (journal de " +
         std::to_string(r.known_position) +
         " événements) : la preuve d'inclusion de chaque événement s'obtient avec "
         "<code>relais evidence</code> et se contrôle sans accès aux données avec "
         "<code>relais check-evidence</code>.</p>\n<pre>" +
         Esc(checkpoint_note) + "</pre>\n";
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace relais::projections
