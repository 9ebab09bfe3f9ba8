#include "relais/projections/cloudevents.h"

#include <simdjson.h>

#include "relais/json_writer.h"

namespace relais::projections {

Result<std::string> ToCloudEvent(std::string_view envelope_json, std::string_view source) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element env;
  if (parser.parse(envelope_json.data(), envelope_json.size(), true).get(env) || !env.is_object())
    return Status::Internal("CloudEvents: the envelope is not a JSON object");
  auto str = [&](const char* key, std::string_view* out) {
    return !env[key].get_string().get(*out);
  };
  std::string_view id, type, subject, recorded_at;
  if (!str("id", &id) || !str("type", &type) || !str("subject", &subject) ||
      !str("recordedAt", &recorded_at))
    return Status::Internal("CloudEvents: the envelope lacks id, type, subject or recordedAt");
  JsonWriter w;
  w.BeginObject();
  w.Key("specversion").String("1.0");
  w.Key("id").String(id);
  w.Key("source").String(source);
  w.Key("type").String(std::string(kCloudEventTypePrefix) + std::string(type));
  w.Key("subject").String(subject);
  w.Key("time").String(recorded_at);
  w.Key("datacontenttype").String("application/json");
  uint64_t position = 0;
  if (!env["position"].get_uint64().get(position)) w.Key("position").Uint(position);
  int64_t version = 0;
  if (!env["version"].get_int64().get(version)) w.Key("streamversion").Int(version);
  std::string_view s;
  if (str("effectiveDate", &s)) w.Key("effectivedate").String(s);
  if (str("hash", &s)) w.Key("hash").String(s);
  simdjson::dom::object actor;
  if (!env["actor"].get_object().get(actor)) {
    if (!actor["role"].get_string().get(s)) w.Key("actorrole").String(s);
    if (!actor["id"].get_string().get(s)) w.Key("actorid").String(s);
    if (!actor["org"].get_string().get(s)) w.Key("actororg").String(s);
  }
  bool erased = false;
  if (!env["personalDataErased"].get_bool().get(erased) && erased)
    w.Key("personaldataerased").Bool(true);
  simdjson::dom::element data;
  w.Key("data");
  if (!env["data"].get(data)) {
    w.Raw(simdjson::minify(data));
  } else {
    w.BeginObject();
    w.EndObject();
  }
  w.EndObject();
  return w.Take();
}

std::string InstallationSource(Engine& engine) {
  auto key = engine.VerifierKey();
  if (!key.ok()) return "relais";
  return key->substr(0, key->find('+'));
}

}  // namespace relais::projections
