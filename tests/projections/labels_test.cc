// The French label catalogue is complete: every name a French page may show
// (event types, data fields, enum values, refusal codes, roles, indicators)
// has a label of its own, found by walking the schema and the report rather
// than by a list kept beside the catalogue.
#include "relais/projections/labels.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <capnp/schema.h>

#include "relais.capnp.h"
#include "relais/event.h"
#include "relais/projections/report.h"
#include "relais/role.h"

namespace relais {
namespace {

constexpr uint64_t kHiddenId = 0xb0c1a7e4d2f3000cull;

std::string SnakeCase(std::string_view camel) {
  std::string out;
  for (char c : camel) {
    if (std::isupper(static_cast<unsigned char>(c))) {
      out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

bool IsHidden(const capnp::StructSchema::Field& f) {
  for (auto a : f.getProto().getAnnotations())
    if (a.getId() == kHiddenId) return true;
  return false;
}

// Walks a struct's fields (and the structs and enums they reach), recording
// what the catalogue lacks.
class SchemaWalk {
 public:
  void Struct(capnp::StructSchema s, std::string_view type) {
    // EventData's members are event types, walked by the caller (a
    // correction's `data` reaches EventData again).
    if (s == capnp::Schema::from<schema::EventData>()) return;
    if (!seen_.insert(s.getProto().getId()).second) return;
    for (auto f : s.getFields()) {
      if (IsHidden(f)) continue;
      // The stored ciphertext is storage, never shown.
      if (s == capnp::Schema::from<schema::StoredEvent>() && f.getProto().getName() == "sealed")
        continue;
      std::string name = f.getProto().getName();
      if (!labels::HasField(name)) missing_.insert("field " + name);
      Type(f.getType());
    }
    (void)type;
  }
  void Type(capnp::Type t) {
    if (t.isStruct()) Struct(t.asStruct(), "");
    if (t.isList()) Type(t.asList().getElementType());
    if (t.isEnum()) Enum(t.asEnum());
  }
  // `codec_names`: the enum is one the JSON codec knows (the others, used
  // only in annotations, have no $Json.name: their snake_case is computed).
  void Enum(capnp::EnumSchema e, bool codec_names = true) {
    if (!seen_.insert(e.getProto().getId()).second) return;
    std::string name(e.getShortDisplayName().cStr());
    enums_.insert(name);
    for (auto v : e.getEnumerants()) {
      std::string json = codec_names ? std::string(EnumJsonName(e, v.getOrdinal()))
                                     : SnakeCase(v.getProto().getName().cStr());
      if (!labels::HasValue(name, json)) missing_.insert("value " + name + "." + std::string(json));
    }
  }
  std::set<std::string> missing_;
  std::set<std::string> enums_;

 private:
  std::set<uint64_t> seen_;
};

TEST(LabelsTest, EveryEventTypeFieldAndEnumValueOfTheSchemaHasAFrenchLabel) {
  SchemaWalk walk;
  auto data = capnp::Schema::from<schema::EventData>();
  int types = 0;
  for (auto member : data.getUnionFields()) {
    std::string type = member.getProto().getName();
    type[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(type[0])));
    ++types;
    if (!labels::HasEventType(type)) walk.missing_.insert("event type " + type);
    walk.Type(member.getType());
  }
  // The envelope (actor, role) and the enums used only in annotations.
  walk.Struct(capnp::Schema::from<schema::StoredEvent>(), "");
  walk.Enum(capnp::Schema::from<schema::StreamKind>(), false);
  walk.Enum(capnp::Schema::from<schema::Visibility>(), false);
  EXPECT_GE(types, kEventTypeCount);
  EXPECT_GE(walk.enums_.size(), 25u) << "the walk did not reach the schema's enums";
  EXPECT_TRUE(walk.missing_.empty()) << [&] {
    std::string s = "no French label for:";
    for (const auto& m : walk.missing_) s += "\n  " + m;
    return s;
  }();
}

TEST(LabelsTest, EveryEventTypeNameOfTheEngineHasALabel) {
  for (int i = 0; i < kEventTypeCount; ++i) {
    std::string_view name = EventTypeName(static_cast<EventType>(i));
    EXPECT_TRUE(labels::HasEventType(name)) << name;
    EXPECT_NE(labels::EventType(name), name);
  }
}

TEST(LabelsTest, StatusValuesOutsideTheSchemaHaveLabels) {
  for (auto v : {"open", "accepted", "refused", "expired"})
    EXPECT_TRUE(labels::HasValue("ReferralStatus", v)) << v;
  for (auto v : {"active", "paused", "closed"}) EXPECT_TRUE(labels::HasValue("EpisodeStatus", v)) << v;
  for (int i = 0; i <= static_cast<int>(ProcedureStage::kClosed); ++i) {
    std::string_view v = ProcedureStageName(static_cast<ProcedureStage>(i));
    EXPECT_TRUE(labels::HasValue("ProcedureStage", v)) << v;
  }
  // Household status and file keys a page shows as words.
  for (auto k : {"registered", "occupancy", "episodes", "arrears", "procedureStage", "consents",
                 "referrals", "since", "startedOn", "closedOn", "open", "keepHistory",
                 "dataSharing", "support", "erased"})
    EXPECT_TRUE(labels::HasField(k)) << k;
}

// Every refusal code the engine can produce (its sources, read here) and
// every code of the contract.
TEST(LabelsTest, EveryRefusalCodeHasALabel) {
  std::set<std::string> codes = {
      "malformed", "id_conflict", "version_conflict", "recorded_at_regression",
      "recorded_at_in_future", "effective_date_in_future", "household_erased"};
  std::regex code_re(R"re((?:Fail|MakeRefusal|RuleFailure\{|Refuse)\(?"([a-z_]+)")re");
  int files = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::string(RELAIS_SOURCE_DIR) + "/engine/src")) {
    if (entry.path().extension() != ".cc") continue;
    ++files;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    for (auto it = std::sregex_iterator(s.begin(), s.end(), code_re); it != std::sregex_iterator();
         ++it)
      codes.insert((*it)[1]);
  }
  ASSERT_GT(files, 10);
  EXPECT_GT(codes.size(), 40u) << "the source scan found too few codes";
  for (const auto& c : codes) {
    EXPECT_TRUE(labels::HasRefusalCode(c)) << c;
    EXPECT_EQ(labels::RefusalCode(c).find('_'), std::string_view::npos) << c;
  }
}

TEST(LabelsTest, EveryRoleHasALabel) {
  for (size_t i = 0; i < kRoleCount; ++i) {
    std::string_view r = RoleName(static_cast<relais::Role>(i));
    EXPECT_TRUE(labels::HasRole(r)) << r;
    EXPECT_EQ(labels::Role(r), labels::Value("Role", r)) << "actor and token roles agree";
  }
  EXPECT_TRUE(labels::HasRole("metrics"));
}

// Every endpoint the server journals (its sources, read here) reads as words
// in the household's file.
TEST(LabelsTest, EveryJournaledEndpointHasALabel) {
  std::regex endpoint_re(R"re("(/v1/[a-z/]+)")re");
  std::set<std::string> endpoints;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(RELAIS_SOURCE_DIR) + "/tools/server")) {
    std::string name = entry.path().filename().string();
    if (name.rfind("handler_", 0) != 0) continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    if (s.find("Journal") == std::string::npos) continue;
    for (auto it = std::sregex_iterator(s.begin(), s.end(), endpoint_re); it != std::sregex_iterator();
         ++it)
      endpoints.insert((*it)[1]);
  }
  EXPECT_GE(endpoints.size(), 4u);
  for (const auto& e : endpoints) {
    // Route prefixes in comments ("/v1/streams/") are not endpoints.
    if (e.back() == '/') continue;
    EXPECT_TRUE(labels::HasEndpoint(e)) << e;
  }
  EXPECT_EQ(labels::Endpoint("/v1/unknown"), "autre consultation");
}

TEST(LabelsTest, EveryIndicatorOfTheReportHasALabelAndEveryRowADefinition) {
  projections::TerritoryFigures f;
  auto keys = projections::FlattenFigures(f);
  ASSERT_GT(keys.size(), 50u);
  std::set<std::string> tops;
  for (const auto& [key, value] : keys) {
    EXPECT_TRUE(labels::HasIndicator(key)) << key;
    tops.insert(key.substr(0, key.find('.')));
  }
  // The rows of time-and-indicators.md §4, each with its sentence.
  for (auto row : {"householdsRegistered", "referralsReceived", "householdsSupported",
                   "activeSupportAtDate", "calDecisions", "moveIns", "medianDaysReferralToMoveIn",
                   "leaseSwitches", "medianDaysToSwitch", "retention12m", "exits", "arrears",
                   "evictions", "support", "support.closed", "support.medianDays",
                   "support.resumption", "support.reviewCompliance", "support.objectives",
                   "platform"}) {
    EXPECT_TRUE(labels::HasIndicatorDefinition(row)) << row;
    std::string_view def = labels::IndicatorLabel(row).definition;
    EXPECT_EQ(def.back(), '.') << row << ": one sentence";
  }
  for (const auto& t : tops) EXPECT_TRUE(labels::HasIndicatorDefinition(t)) << t;
  EXPECT_EQ(labels::IndicatorLabel("calDecisions.inadmissible").label,
            labels::Value("CalDecision", "inadmissible"));
  EXPECT_FALSE(labels::HasIndicator("calDecisions.nonsense"));
}

// The report page's own words (sections, units, targets, charts, footer):
// every catalogue key report_html.cc names has a French text, and every
// figure of the report is shown in exactly one of its sections.
TEST(LabelsTest, EveryWordOfTheReportPageHasAFrenchText) {
  std::ifstream in(std::string(RELAIS_SOURCE_DIR) + "/projections/src/report_html.cc");
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  std::regex key_re(
      R"re("((?:title|intro|section|column|territory|unit|value|rate|target|chart|series|axis|month|footer)(?:\.[A-Za-z0-9.]+)?)")re");
  std::set<std::string> keys;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), key_re); it != std::sregex_iterator(); ++it)
    keys.insert((*it)[1]);
  EXPECT_GE(keys.size(), 50u) << "the scan of report_html.cc found too few keys";
  for (const auto& k : keys) EXPECT_TRUE(labels::HasReportText(k)) << k;
  EXPECT_EQ(labels::ReportText("no.such.key"), "no.such.key");

  projections::TerritoryFigures f;
  std::map<std::string, int> shown;
  for (const auto& [key, value] : projections::FlattenFigures(f)) shown[key] = 0;
  for (const auto& section : projections::ReportSections()) {
    EXPECT_TRUE(labels::HasReportText(section.title_key)) << section.title_key;
    for (std::string_view row : section.rows) {
      if (row.size() > 2 && row.substr(row.size() - 2) == ".*") {
        std::string prefix(row.substr(0, row.size() - 1));
        for (auto& [key, n] : shown) n += key.rfind(prefix, 0) == 0;
      } else {
        EXPECT_TRUE(labels::HasIndicator(row)) << row;
        if (shown.count(std::string(row))) ++shown[std::string(row)];
      }
    }
  }
  for (const auto& [key, n] : shown) EXPECT_EQ(n, 1) << key << " is shown " << n << " times";
}

TEST(LabelsTest, FrenchDates) {
  EXPECT_EQ(labels::FrenchDate("2016-03-12"), "12 mars 2016");
  EXPECT_EQ(labels::FrenchDate("2016-03-01"), "1er mars 2016");
  EXPECT_EQ(labels::FrenchDate("2016-02-29"), "29 février 2016");
  EXPECT_EQ(labels::FrenchDate("2015-08-31"), "31 août 2015");
  EXPECT_EQ(labels::FrenchDate("2016-12-01"), "1er décembre 2016");
  EXPECT_EQ(labels::FrenchDate("2016-03-12T08:30:00.000000Z"), "12 mars 2016 à 08 h 30 (UTC)");
  EXPECT_EQ(labels::FrenchDate("2016-03-12T23:59:59Z"), "12 mars 2016 à 23 h 59 (UTC)");
  EXPECT_EQ(labels::FrenchDate("1969-12-31T23:00:00Z"), "31 décembre 1969 à 23 h 00 (UTC)");
  // Not a date: unchanged.
  EXPECT_EQ(labels::FrenchDate("2015-02-30"), "2015-02-30");
  EXPECT_EQ(labels::FrenchDate("hello"), "hello");
  EXPECT_EQ(labels::FrenchDate(""), "");
  EXPECT_EQ(labels::FrenchDate("2016-03-12Tnonsense"), "2016-03-12Tnonsense");
}

TEST(LabelsTest, FallbacksAndHelpers) {
  EXPECT_EQ(labels::EventType("NoSuchEvent"), "NoSuchEvent");
  EXPECT_EQ(labels::Field("", "noSuchField"), "noSuchField");
  EXPECT_EQ(labels::Field("EventCorrected", "reason"), "motif de la correction");
  EXPECT_EQ(labels::Field("HouseholdReferred", "reason"), labels::Field("", "reason"));
  EXPECT_EQ(labels::Value("Contract", "sublease"),
            "sous-location par une association (bail glissant)");
  EXPECT_EQ(labels::Value("NoSuchEnum", "other"), labels::Value("ReferralSource", "other"));
  EXPECT_EQ(labels::Value("NoSuchEnum", "zzz"), "zzz");
  EXPECT_EQ(labels::Bool(true), "oui");
  EXPECT_EQ(labels::Bool(false), "non");
  EXPECT_EQ(labels::Money(123456), "1\u202f234,56\u00a0€");
  EXPECT_EQ(labels::Money(5), "0,05\u00a0€");
  EXPECT_EQ(labels::Money(-100), "-1,00\u00a0€");
  EXPECT_EQ(labels::Money(INT64_MIN).substr(0, 1), "-");
}

}  // namespace
}  // namespace relais
