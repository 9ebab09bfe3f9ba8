// GET /v1/schema: every event type with its fields, types, enums and
// required flags as the engine reads them from schema/relais.capnp
// (relais/event.h EventSchema: the codec's own reflection, not a list kept by
// hand), each with its French label from the catalogue, plus the catalogue's
// refusal codes, roles and values: what the console builds its forms and
// renders its pages from. Any authenticated role: the schema is the public
// contract (events.md), no household's data.
#include "relais/json_writer.h"
#include "relais/projections/labels.h"
#include "server/handlers.h"

namespace relais::server {

namespace {

void WriteFields(JsonWriter& w, std::string_view type, const std::vector<SchemaField>& fields);

void WriteValues(JsonWriter& w, std::string_view enum_name, const std::vector<std::string>& values) {
  w.BeginArray();
  for (const auto& v : values) {
    w.BeginObject();
    w.Key("value").String(v);
    w.Key("label").String(labels::Value(enum_name, v));
    w.EndObject();
  }
  w.EndArray();
}

void WriteField(JsonWriter& w, std::string_view type, const SchemaField& f) {
  w.BeginObject();
  w.Key("name").String(f.name);
  w.Key("label").String(labels::Field(type, f.name));
  w.Key("type").String(f.type);
  w.Key("required").Bool(f.required);
  if (!f.required_if_field.empty()) {
    w.Key("requiredIf").BeginObject();
    w.Key("field").String(f.required_if_field);
    w.Key("value").String(f.required_if_value);
    w.EndObject();
  }
  if (f.min) w.Key("min").Int(*f.min);
  if (f.max) w.Key("max").Int(*f.max);
  if (f.min_items) w.Key("minItems").Int(*f.min_items);
  if (f.max_items) w.Key("maxItems").Int(*f.max_items);
  if (f.max_bytes) w.Key("maxBytes").Int(static_cast<int64_t>(f.max_bytes));
  if (f.personal) w.Key("personal").Bool(true);
  if (f.bare_id) w.Key("bareId").Bool(true);
  if (f.type == "enum") {
    w.Key("enum").String(f.enum_name);
    w.Key("values");
    WriteValues(w, f.enum_name, f.values);
  }
  if (f.type == "list") {
    w.Key("items").BeginObject();
    w.Key("type").String(f.item_type);
    if (f.item_type == "enum") {
      w.Key("enum").String(f.item_enum_name);
      w.Key("values");
      WriteValues(w, f.item_enum_name, f.item_values);
    }
    if (f.item_type == "object") {
      w.Key("fields");
      WriteFields(w, type, f.fields);
    }
    w.EndObject();
  } else if (f.type == "object") {
    w.Key("fields");
    WriteFields(w, type, f.fields);
  }
  w.EndObject();
}

void WriteFields(JsonWriter& w, std::string_view type, const std::vector<SchemaField>& fields) {
  w.BeginArray();
  for (const auto& f : fields) WriteField(w, type, f);
  w.EndArray();
}

void WriteEntries(JsonWriter& w, const labels::Entries& entries) {
  w.BeginObject();
  for (const auto& [key, fr] : entries) w.Key(key).String(fr);
  w.EndObject();
}

std::string Render() {
  JsonWriter w;
  w.BeginObject();
  w.Key("eventTypes").BeginArray();
  for (const SchemaEventType& e : EventSchema()) {
    w.BeginObject();
    w.Key("type").String(e.name);
    w.Key("label").String(labels::EventType(e.name));
    w.Key("stream").String(e.stream);
    w.Key("visibility").String(e.visibility);
    // PersonalDataErased is written only by the erasure endpoint, which
    // destroys the household's key with it (lifecycle.md §1).
    w.Key("recordable").Bool(e.type != EventType::kPersonalDataErased);
    w.Key("fields");
    WriteFields(w, e.name, e.fields);
    w.EndObject();
  }
  w.EndArray();
  w.Key("envelope").BeginArray();
  for (const char* k : {"id", "type", "subject", "effectiveDate", "expectedVersion", "recordedAt",
                        "position", "version", "actor"}) {
    w.BeginObject();
    w.Key("name").String(k);
    w.Key("label").String(labels::Field("", k));
    w.EndObject();
  }
  w.EndArray();
  w.Key("refusals");
  WriteEntries(w, labels::AllRefusalCodes());
  w.Key("roles");
  WriteEntries(w, labels::AllRoles());
  w.Key("values");
  WriteEntries(w, labels::AllValues());
  w.Key("fields");
  WriteEntries(w, labels::AllFields());
  w.EndObject();
  return w.Take();
}

}  // namespace

Response SchemaRead() {
  // The same bytes for every caller, for the life of the process.
  static const std::string body = Render();
  Response r = Json(body);
  r.headers.emplace_back("Cache-Control", "private, max-age=3600");
  return r;
}

}  // namespace relais::server
