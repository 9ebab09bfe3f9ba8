// `relais tenancy` and GET /v1/streams/dwelling%2F<id>/tenancy on the worked
// example (tests/data/examples/journey.ndjson): what each role reads, the
// 403s and 404s of history, the journal, the usage errors, and the French
// HTML dispute file. HTTP through HandleRequest (no socket); the command
// line through the real binary.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "server/router.h"
#include "server/server_harness.h"
#include "server/state.h"
#include "server/token_store.h"
#include "support/test_support.h"

namespace relais::server {
namespace {

using relais::testing::TempDir;

const std::string kJourney = std::string(RELAIS_SPEC_DIR) + "/examples/journey.ndjson";
constexpr const char* kTenancy = "/v1/streams/dwelling%2FD-RBX-001/tenancy";

// D-RBX-001's record in the worked example, by position: its registration
// and reservation, H-0001's CAL application, decision and answer (class S),
// its occupancy and lease switch, and the correction of the switch's date.
const std::vector<uint64_t> kAll = {1, 3, 8, 9, 10, 11, 16, 32};
const std::vector<uint64_t> kManagement = {1, 3, 11, 16, 32};

std::vector<uint64_t> Positions(const std::string& json) {
  simdjson::dom::parser p;
  simdjson::dom::element root;
  std::vector<uint64_t> out;
  if (p.parse(json).get(root)) {
    ADD_FAILURE() << "not JSON: " << json.substr(0, 200);
    return out;
  }
  simdjson::dom::array events;
  if (root["events"].get_array().get(events)) return out;
  for (auto e : events) out.push_back(e["position"].get_uint64().value());
  return out;
}

// `word` in `text` with no letter, digit or '_' right before or after it
// ("admin" is not in "administration").
bool HasWord(const std::string& text, std::string_view word) {
  auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    bool before = at > 0 && ident(text[at - 1]);
    bool after = at + word.size() < text.size() && ident(text[at + word.size()]);
    if (!before && !after) return true;
  }
  return false;
}

class TenancyHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      Options o;
      o.data_dir = dir_.path();
      auto e = Engine::Open(o);
      ASSERT_TRUE(e.ok()) << e.status().message();
      std::istringstream in(relais::testing::ReadFile(kJourney));
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) relais::testing::Import(**e, line);
      (*e)->Close();
    }
    auto add = [&](const std::string& name, Role role, const std::string& territory,
                   const std::string& org) {
      TokenEntry t;
      t.name = name;
      t.role = role;
      t.territory = territory;
      t.org = org;
      auto secret = AddToken(dir_.path(), t);
      EXPECT_TRUE(secret.ok()) << secret.status().message();
      tokens_[name] = secret.ok() ? *secret : "";
    };
    add("admin", Role::kAdmin, "", "");
    add("auditor", Role::kAuditor, "", "");
    add("coord-lille", Role::kCoordinator, "lille", "");
    add("coord-sud", Role::kCoordinator, "sud", "");
    add("staff-lille", Role::kTenancyStaff, "lille", "");
    add("staff-sud", Role::kTenancyStaff, "sud", "");
    add("worker", Role::kSocialWorker, "", "AES du Nord");
    add("evaluator", Role::kEvaluator, "", "");
    ServerOptions o;
    o.data_dir = dir_.path();
    auto s = OpenState(o);
    ASSERT_TRUE(s.ok()) << s.status().message();
    s_ = std::move(*s);
  }
  Response Get(const std::string& who, const std::string& target) {
    Request req;
    req.method = http::verb::get;
    req.target = target;
    req.headers = {{"Authorization", "Bearer " + tokens_[who]}};
    return HandleRequest(*s_, std::move(req));
  }

  TempDir dir_;
  std::map<std::string, std::string> tokens_;
  std::unique_ptr<State> s_;
};

TEST_F(TenancyHttpTest, EachRoleReadsWhatHistoryWouldShowIt) {
  for (const char* who : {"admin", "auditor", "coord-lille"}) {
    Response r = Get(who, kTenancy);
    ASSERT_EQ(r.status, http::status::ok) << who << " " << r.body;
    EXPECT_EQ(Positions(r.body), kAll) << who;
    EXPECT_NE(r.body.find("\"filtered\":false"), std::string::npos) << who;
    EXPECT_NE(r.body.find("Date du bail erron"), std::string::npos) << who;
  }
  // Tenancy staff of the territory: class M only, and the correction of the
  // lease switch without its free-text reason.
  Response r = Get("staff-lille", kTenancy);
  ASSERT_EQ(r.status, http::status::ok) << r.body;
  EXPECT_EQ(Positions(r.body), kManagement);
  EXPECT_NE(r.body.find("\"filtered\":true"), std::string::npos);
  EXPECT_EQ(r.body.find("Date du bail erron"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("CalDecisionRecorded"), std::string::npos);
  // The correction is linked from the switch it corrects.
  EXPECT_NE(r.body.find("\"correctedBy\":[\"005e1a15-0000-0040-0080-000000000026\"]"),
            std::string::npos)
      << r.body;
  // Others may not read the dwelling at all, whether or not it exists.
  for (const char* who : {"coord-sud", "staff-sud", "worker", "evaluator"}) {
    EXPECT_EQ(Get(who, kTenancy).status, http::status::forbidden) << who;
    EXPECT_EQ(Get(who, "/v1/streams/dwelling%2FNOPE/tenancy").status, http::status::forbidden)
        << who;
  }
  EXPECT_EQ(Get("admin", "/v1/streams/dwelling%2FNOPE/tenancy").status, http::status::not_found);
}

TEST_F(TenancyHttpTest, KnownAtAndBadParameters) {
  // Known between the offer's answer and the move-in (both on 2015-03-20): the
  // CAL events and the dwelling's own only.
  Response r = Get("admin", std::string(kTenancy) + "?knownAt=2015-03-20T09:45:00Z");
  ASSERT_EQ(r.status, http::status::ok) << r.body;
  EXPECT_EQ(Positions(r.body), (std::vector<uint64_t>{1, 3, 8, 9, 10}));
  EXPECT_NE(r.body.find("\"knownAt\":\"2015-03-20T09:45:00.000000Z\""), std::string::npos)
      << r.body;
  EXPECT_EQ(Get("admin", std::string(kTenancy) + "?knownAt=2014-01-01T00:00:00Z").status,
            http::status::not_found);
  EXPECT_EQ(Get("admin", std::string(kTenancy) + "?knownAt=yesterday").status,
            http::status::bad_request);
  EXPECT_EQ(Get("admin", std::string(kTenancy) + "?format=pdf").status, http::status::bad_request);
  EXPECT_EQ(Get("admin", "/v1/streams/household%2FH-0001/tenancy").status,
            http::status::bad_request);
}

TEST_F(TenancyHttpTest, ReadsAreJournaledWithTheHouseholdsShown) {
  ASSERT_EQ(Get("staff-lille", kTenancy).status, http::status::ok);
  ASSERT_EQ(Get("coord-sud", kTenancy).status, http::status::forbidden);
  std::string journal = relais::testing::ReadFile(dir_.path() + "/access-journal.ndjson");
  std::vector<std::string> lines;
  std::istringstream in(journal);
  for (std::string l; std::getline(in, l);)
    if (l.find("/v1/streams/tenancy") != std::string::npos) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u) << journal;
  EXPECT_NE(lines[0].find("dwelling/D-RBX-001"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("staff-lille"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("household/H-0001"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("coord-sud"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("false"), std::string::npos) << lines[2];
}

TEST_F(TenancyHttpTest, TheCommandLineReadsTheWholeRecord) {
  s_.reset();  // the command line opens the directory read-only; no server holds it here
  std::string out;
  ASSERT_EQ(relais::testing::RunRelais({"--data", dir_.path(), "tenancy", "dwelling/D-RBX-001"}, &out),
            0);
  EXPECT_EQ(Positions(out), kAll);
  EXPECT_NE(out.find("\"occupancies\":[{\"household\":\"H-0001\""), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(relais::testing::RunRelais(
                {"--data", dir_.path(), "tenancy", "dwelling/NOPE"}, &out),
            5);
  EXPECT_NE(out.find("not_found"), std::string::npos);
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"tenancy", "household/H-0001"},
        std::vector<std::string>{"tenancy", "dwelling/D-RBX-001", "--format", "csv"},
        std::vector<std::string>{"tenancy", "dwelling/D-RBX-001", "--known-at", "2015-13-01"},
        std::vector<std::string>{"tenancy", "not-a-subject"}}) {
    bad.insert(bad.begin(), {"--data", dir_.path()});
    out.clear();
    EXPECT_EQ(relais::testing::RunRelais(bad, &out), 2) << bad[3] << " " << bad.back();
  }
  out.clear();
  ASSERT_EQ(relais::testing::RunRelais({"--data", dir_.path(), "tenancy", "dwelling/D-RBX-001",
                                        "--known-at", "2015-03-20T09:45:00Z"},
                                       &out),
            0);
  EXPECT_EQ(Positions(out), (std::vector<uint64_t>{1, 3, 8, 9, 10}));
}

// `relais evidence dwelling/<id>` bundles the tenancy record's events, and the
// bundle checks offline.
TEST_F(TenancyHttpTest, TheEvidenceOfADwellingIsItsTenancyRecord) {
  s_.reset();
  std::string bundle, key;
  ASSERT_EQ(relais::testing::RunRelais({"--data", dir_.path(), "evidence", "dwelling/D-RBX-001"},
                                       &bundle),
            0);
  std::vector<uint64_t> positions;
  {
    simdjson::dom::parser p;
    simdjson::dom::element root = p.parse(bundle);
    for (auto e : root["events"].get_array()) positions.push_back(e["event"]["position"].get_uint64());
  }
  EXPECT_EQ(positions, kAll);
  ASSERT_EQ(relais::testing::RunRelais({"--data", dir_.path(), "checkpoint", "--verifier-key"}, &key),
            0);
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  std::string file = dir_.path() + "/tenancy-bundle.json";  // check-evidence reads no data directory
  {
    std::ofstream f(file, std::ios::binary);
    f << bundle;
  }
  std::string out;
  EXPECT_EQ(relais::testing::RunRelais({"check-evidence", file, "--verifier-key", key}, &out), 0)
      << out;
  EXPECT_NE(out.find("\"ok\":true"), std::string::npos) << out;
}

// GET /v1/streams/dwelling%2F<id>/evidence bundles the tenancy record
// (evidence.md §3), as `relais evidence` does, filtered for the caller: not
// the dwelling's own stream only. Its reads journal the households shown.
TEST_F(TenancyHttpTest, TheHttpEvidenceOfADwellingIsItsTenancyRecord) {
  auto bundled = [](const std::string& json) {
    std::vector<uint64_t> out;
    simdjson::dom::parser p;
    simdjson::dom::element root;
    if (p.parse(json).get(root)) return out;
    for (auto e : root["events"].get_array()) out.push_back(e["event"]["position"].get_uint64());
    return out;
  };
  const std::string kEvidence = "/v1/streams/dwelling%2FD-RBX-001/evidence";
  Response admin = Get("admin", kEvidence);
  ASSERT_EQ(admin.status, http::status::ok) << admin.body;
  EXPECT_EQ(bundled(admin.body), kAll) << admin.body.substr(0, 400);
  Response staff = Get("staff-lille", kEvidence);
  ASSERT_EQ(staff.status, http::status::ok) << staff.body;
  EXPECT_EQ(bundled(staff.body), kManagement);
  EXPECT_EQ(staff.body.find("Date du bail erron"), std::string::npos);
  EXPECT_NE(staff.body.find("\"filtered\":true"), std::string::npos);
  for (const char* who : {"coord-sud", "staff-sud", "worker", "evaluator"})
    EXPECT_EQ(Get(who, kEvidence).status, http::status::forbidden) << who;
  EXPECT_EQ(Get("admin", "/v1/streams/dwelling%2FNOPE/evidence").status, http::status::not_found);
  std::string journal = relais::testing::ReadFile(dir_.path() + "/access-journal.ndjson");
  bool household_journaled = false;
  std::istringstream in(journal);
  for (std::string l; std::getline(in, l);)
    if (l.find("/v1/streams/evidence") != std::string::npos &&
        l.find("household/H-0001") != std::string::npos && l.find("staff-lille") != std::string::npos)
      household_journaled = true;
  EXPECT_TRUE(household_journaled) << journal;
  // The filtered bundle still checks offline (the correction's reason is
  // sealed in `stored`, and absent from its `event`).
  Response key = Get("staff-lille", "/v1/checkpoint/key");
  ASSERT_EQ(key.status, http::status::ok);
  std::string k = key.body;
  while (!k.empty() && k.back() == '\n') k.pop_back();
  std::string file = dir_.path() + "/staff-bundle.json";
  {
    std::ofstream f(file, std::ios::binary);
    f << staff.body;
  }
  std::string out;
  EXPECT_EQ(relais::testing::RunRelais({"check-evidence", file, "--verifier-key", k}, &out), 0) << out;
}

// A field named like a personal one but stored in clear (an enum `reason`:
// SupportClosed's, OccupancyEnded's) is checked like any other field: only a
// sealed field, absent from what `stored` decodes to without the key, may
// differ (evidence.md §3).
TEST_F(TenancyHttpTest, AnAlteredClearReasonIsRefused) {
  s_.reset();
  std::string bundle, key, out;
  ASSERT_EQ(relais::testing::RunRelais({"--data", dir_.path(), "evidence", "household/H-0001"}, &bundle), 0);
  ASSERT_EQ(relais::testing::RunRelais({"--data", dir_.path(), "checkpoint", "--verifier-key"}, &key), 0);
  while (!key.empty() && key.back() == '\n') key.pop_back();
  size_t at = bundle.find("\"reason\":\"objectives_met\"");
  ASSERT_NE(at, std::string::npos);
  bundle.replace(at, std::strlen("\"reason\":\"objectives_met\""), "\"reason\":\"non_engagement\"");
  std::string file = dir_.path() + "/altered.json";
  {
    std::ofstream f(file, std::ios::binary);
    f << bundle;
  }
  EXPECT_EQ(relais::testing::RunRelais({"check-evidence", file, "--verifier-key", key}, &out), 4) << out;
  EXPECT_NE(out.find("reason"), std::string::npos) << out;
}

// The dispute file: one A4 page layout, a header repeated on each page, no
// script or outside resource, a section per occupancy, the correction beside
// the switch with its reason, and none of the JSON keys of the record.
TEST_F(TenancyHttpTest, TheHtmlDisputeFileIsFrenchAndSelfContained) {
  Response r = Get("admin", std::string(kTenancy) + "?format=html");
  ASSERT_EQ(r.status, http::status::ok) << r.body;
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  const std::string& h = r.body;
  EXPECT_NE(h.find("<html lang=\"fr\">"), std::string::npos);
  EXPECT_NE(h.find("@page{size:A4"), std::string::npos);
  EXPECT_NE(h.find("thead{display:table-header-group}"), std::string::npos);
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_EQ(h.find("http://"), std::string::npos);
  EXPECT_EQ(h.find("https://"), std::string::npos);
  EXPECT_NE(h.find("Occupation 1 : ménage H-0001"), std::string::npos);
  EXPECT_NE(h.find("Date du bail erronée"), std::string::npos);
  // The signed checkpoint of the record's head (position 33), in the note format.
  EXPECT_EQ(h.find("checkpoint-placeholder"), std::string::npos);
  size_t pre = h.find("<pre>");
  ASSERT_NE(pre, std::string::npos);
  size_t pre_end = h.find("</pre>", pre);
  ASSERT_NE(pre_end, std::string::npos);
  std::string note = h.substr(pre + 5, pre_end - pre - 5);
  EXPECT_NE(note.find("\n33\n"), std::string::npos) << note;
  EXPECT_NE(note.find("\n\n\u2014 "), std::string::npos) << note;
  // Tenancy staff: the reason is not in their file either.
  Response staff = Get("staff-lille", std::string(kTenancy) + "?format=html");
  ASSERT_EQ(staff.status, http::status::ok);
  EXPECT_EQ(staff.body.find("Date du bail erron"), std::string::npos);
  EXPECT_NE(staff.body.find("Dossier filtré"), std::string::npos);

  // The text outside tags (attribute quotes are HTML's own).
  std::string text;
  bool in_tag = false;
  // Outside the checkpoint (base64 is not words).
  for (char c : h.substr(0, pre) + h.substr(pre_end)) {
    if (c == '<') in_tag = true;
    if (!in_tag) text.push_back(c);
    if (c == '>') {
      in_tag = false;
      text.push_back(' ');  // a tag separates words
    }
  }
  for (const char* key :
       {"dwellingId", "rentCents", "effectiveDate", "recordedAt", "correctedBy", "retractedBy",
        "targetId", "OccupancyStarted", "LeaseSwitched", "CalDecisionRecorded",
        "DwellingRegistered", "direct_lease", "sublease", "tenancy_staff", "admin", "2015-03-20",
        "T09:00:00"})
    EXPECT_FALSE(HasWord(text, key)) << key;
}

}  // namespace
}  // namespace relais::server
