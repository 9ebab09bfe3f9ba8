#include "tools/cloudevents_check.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <regex>
#include <set>

namespace relais::testing {

namespace {

// A validator for the keywords the CloudEvents schema uses: type, minLength,
// format (uri-reference, uri, date-time), $ref to #/definitions, required.
class SchemaCheck {
 public:
  explicit SchemaCheck(simdjson::dom::element schema) : schema_(schema) {}
  std::string Check(simdjson::dom::element event) const {
    if (!event.is_object()) return "not an object";
    simdjson::dom::array required = schema_["required"].get_array();
    for (auto k : required) {
      std::string_view key = k.get_string();
      if (event[key].error()) return "missing " + std::string(key);
    }
    simdjson::dom::object props = schema_["properties"].get_object();
    for (auto [key, prop] : props) {
      simdjson::dom::element v;
      if (event[key].get(v)) continue;
      simdjson::dom::element def = Resolve(prop);
      if (std::string why = CheckValue(def, v); !why.empty()) return std::string(key) + ": " + why;
    }
    return "";
  }

 private:
  simdjson::dom::element Resolve(simdjson::dom::element prop) const {
    std::string_view ref;
    if (prop["$ref"].get_string().get(ref)) return prop;
    std::string name(ref.substr(ref.rfind('/') + 1));
    return schema_["definitions"][name];
  }
  static std::string TypeOf(simdjson::dom::element v) {
    switch (v.type()) {
      case simdjson::dom::element_type::OBJECT:
        return "object";
      case simdjson::dom::element_type::ARRAY:
        return "array";
      case simdjson::dom::element_type::STRING:
        return "string";
      case simdjson::dom::element_type::BOOL:
        return "boolean";
      case simdjson::dom::element_type::NULL_VALUE:
        return "null";
      default:
        return "number";
    }
  }
  static std::string CheckValue(simdjson::dom::element def, simdjson::dom::element v) {
    std::set<std::string> types;
    std::string_view one;
    simdjson::dom::array many;
    if (!def["type"].get_string().get(one)) types.insert(std::string(one));
    if (!def["type"].get_array().get(many))
      for (auto t : many) types.insert(std::string(std::string_view(t.get_string())));
    if (!types.count(TypeOf(v))) return "type " + TypeOf(v) + " not allowed";
    std::string_view s;
    if (v.get_string().get(s)) return "";
    int64_t min = 0;
    if (!def["minLength"].get_int64().get(min) && static_cast<int64_t>(s.size()) < min)
      return "too short";
    std::string_view format;
    if (!def["format"].get_string().get(format)) {
      static const std::regex kDateTime(
          R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))");
      static const std::regex kUriRef(R"([A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)");
      const std::string str(s);
      if (format == "date-time" && !std::regex_match(str, kDateTime))
        return "not an RFC 3339 date-time";
      if ((format == "uri-reference" || format == "uri") && !std::regex_match(str, kUriRef))
        return "not a URI reference";
    }
    return "";
  }
  simdjson::dom::element schema_;
};

// The CloudEvents core rules the schema leaves out: extension names are
// [a-z0-9]{1,20}, their values strings, integers or booleans.
std::string CheckExtensions(simdjson::dom::object event) {
  static const std::set<std::string_view> kCore = {
      "id",         "source",  "specversion", "type", "datacontenttype",
      "dataschema", "subject", "time",        "data", "data_base64"};
  static const std::regex kName("[a-z0-9]{1,20}");
  for (auto [key, value] : event) {
    if (kCore.count(key)) continue;
    if (!std::regex_match(std::string(key), kName)) return "extension name " + std::string(key);
    auto t = value.type();
    if (t == simdjson::dom::element_type::OBJECT || t == simdjson::dom::element_type::ARRAY ||
        t == simdjson::dom::element_type::NULL_VALUE)
      return "extension " + std::string(key) + " is not a string, integer or boolean";
  }
  return "";
}

}  // namespace

void ExpectCloudEvents(const std::vector<std::string>& events, size_t expected_count) {
  simdjson::dom::parser schema_parser;
  simdjson::dom::element schema =
      schema_parser.load(std::string(RELAIS_SPEC_DIR) + "/cloudevents/cloudevents.json");
  SchemaCheck check(schema);
  EXPECT_EQ(events.size(), expected_count);
  simdjson::dom::parser parser;
  std::set<std::string> ids;
  for (const std::string& text : events) {
    simdjson::dom::element e;
    ASSERT_FALSE(parser.parse(text).get(e)) << text;
    EXPECT_EQ(check.Check(e), "") << text;
    EXPECT_EQ(CheckExtensions(e.get_object()), "") << text;
    EXPECT_EQ(std::string_view(e["specversion"].get_string()), "1.0");
    EXPECT_EQ(std::string_view(e["type"].get_string()).rfind("fr.relais.", 0), 0u);
    EXPECT_EQ(std::string_view(e["datacontenttype"].get_string()), "application/json");
    EXPECT_FALSE(e["position"].get_uint64().error()) << text;
    EXPECT_FALSE(e["effectivedate"].get_string().error()) << text;
    ids.insert(std::string(std::string_view(e["id"].get_string())));
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_EQ(ids.size(), events.size()) << "ids are unique within the source";
}

}  // namespace relais::testing
