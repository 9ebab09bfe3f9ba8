#include "tools/sink_harness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "relais/json_writer.h"
#include "relais/projections/views.h"
#include "server/server_harness.h"

extern char** environ;

namespace relais::testing {

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

pid_t Spawn(const std::string& out, const std::string& err, const std::vector<std::string>& args) {
  std::vector<std::string> full = {RelaisBin()};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

// Rows of a query, asserting success.
std::vector<sink::PgRow> Rows(sink::PgConnection& c, const std::string& sql) {
  auto r = c.Query(sql);
  EXPECT_TRUE(r.ok()) << sql << ": " << r.status().message();
  return r.ok() ? *r : std::vector<sink::PgRow>{};
}

void Str(JsonWriter& w, const sink::PgValue& v) {
  if (v) {
    w.String(*v);
  } else {
    w.Null();
  }
}
void Bool(JsonWriter& w, const sink::PgValue& v) { w.Bool(v && *v == "t"); }

// rows grouped by their first column.
std::map<std::string, std::vector<sink::PgRow>> ByOwner(std::vector<sink::PgRow> rows) {
  std::map<std::string, std::vector<sink::PgRow>> m;
  for (auto& r : rows) m[*r[0]].push_back(std::move(r));
  return m;
}

}  // namespace

pg::PgCluster* Cluster(std::string* why) {
  static pg::PgCluster* cluster = nullptr;
  static std::string failure;
  if (cluster == nullptr && failure.empty()) {
    pg::PgClusterOptions o;
    o.bin_dir = pg::DefaultPgBinDir();
    failure = pg::PgUnavailableReason(o.bin_dir);
    if (failure.empty()) {
      auto* c = new pg::PgCluster();  // lives for the process (PgCluster stops it at exit)
      Status st = c->Start(o);
      if (st.ok()) {
        cluster = c;
      } else {
        failure = st.message();
        delete c;
      }
    }
  }
  *why = failure;
  return cluster;
}

std::string Dsn() {
  std::string why;
  pg::PgCluster* c = Cluster(&why);
  return c ? c->ConnInfo() : "";
}

std::unique_ptr<sink::PgConnection> Connect() {
  auto c = sink::PgConnection::Connect(Dsn());
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(*c) : nullptr;
}

CliRun Relais(const std::string& scratch, const std::vector<std::string>& args) {
  CliRun r;
  pid_t pid = Spawn(scratch + "/stdout", scratch + "/stderr", args);
  if (pid < 0) return r;
  r.code = WaitChild(pid);
  r.out = Slurp(scratch + "/stdout");
  r.err = Slurp(scratch + "/stderr");
  return r;
}

pid_t RelaisInBackground(const std::string& scratch, const std::vector<std::string>& args) {
  return Spawn(scratch + "/bg.stdout", scratch + "/bg.stderr", args);
}

int WaitChild(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? -WTERMSIG(status) : -1000;
}

std::vector<std::string> Generate(const std::string& scratch, int seed, int events) {
  const std::string path = scratch + "/gen-" + std::to_string(seed) + ".ndjson";
  CliRun r = Relais(scratch, {"generate", "--seed", std::to_string(seed), "--events",
                              std::to_string(events), "--out", path});
  EXPECT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  for (const auto& l : lines) f << l << "\n";
}

void ImportLines(const std::string& scratch, const std::string& data,
                 const std::vector<std::string>& lines) {
  static int n = 0;
  const std::string path = scratch + "/import-" + std::to_string(++n) + ".ndjson";
  WriteLines(path, lines);
  CliRun r = Relais(scratch, {"--data", data, "import", path});
  ASSERT_EQ(r.code, 0) << r.out << r.err.substr(0, 2000);
}

std::string QueryOne(sink::PgConnection& c, const std::string& sql) {
  auto rows = Rows(c, sql);
  if (rows.empty() || rows[0].empty() || !rows[0][0]) return "";
  return *rows[0][0];
}

void ExpectSchemaMatchesLog(sink::PgConnection& c, const std::string& s, const std::string& data,
                            const std::string& scratch) {
  Options o;
  o.data_dir = data;
  o.read_only = true;
  auto opened = Engine::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  Engine& engine = **opened;
  const Head head = engine.GetHead();
  auto state = Rows(c, "SELECT position, hash, series_from, series_to FROM " + s + ".sink_state");
  ASSERT_EQ(state.size(), 1u);
  ASSERT_EQ(*state[0][0], std::to_string(head.position));
  EXPECT_EQ(*state[0][1], head.hash);

  // events: one row per position, none twice, none missing.
  auto ev =
      Rows(c, "SELECT count(*), count(DISTINCT position), min(position), max(position) FROM " + s +
                  ".events");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(*ev[0][0], std::to_string(head.position));
  EXPECT_EQ(*ev[0][1], std::to_string(head.position));
  EXPECT_EQ(*ev[0][3], std::to_string(head.position));

  auto households = ByOwner(
      Rows(c,
           "SELECT household_id, registered, territory, occupancy_dwelling_id, occupancy_contract, "
           "occupancy_since, arrears_open, arrears_amount_cents, arrears_since, procedure_stage, "
           "consent_support, consent_data_sharing, consent_keep_history, erased FROM " +
               s + ".households"));
  auto referrals = ByOwner(Rows(c, "SELECT household_id, referral_id, track, source, status FROM " +
                                       s + ".referrals ORDER BY household_id, seq"));
  auto episodes = ByOwner(Rows(
      c, "SELECT household_id, episode_id, kind, association, status, started_on, closed_on FROM " +
             s + ".support_episodes ORDER BY household_id, seq"));
  std::map<std::pair<std::string, std::string>, std::vector<sink::PgRow>> objectives;
  for (auto& r : Rows(c, "SELECT household_id, episode_id, objective_id, status FROM " + s +
                             ".objectives ORDER BY household_id, episode_id, seq"))
    objectives[{*r[0], *r[1]}].push_back(r);
  auto dwellings = ByOwner(Rows(
      c, "SELECT dwelling_id, registered, territory, typology, reserved FROM " + s + ".dwellings"));
  std::map<std::string, std::vector<sink::PgRow>> occupancies;  // by dwelling
  for (auto& r :
       Rows(c,
            "SELECT o.dwelling_id, o.household_id, o.start_date, o.end_date, o.end_reason, o.seq "
            "FROM " +
                s + ".occupancies o ORDER BY o.dwelling_id, o.start_date, o.household_id"))
    occupancies[*r[0]].push_back(r);
  std::map<std::pair<std::string, std::string>, std::vector<sink::PgRow>>
      contracts;  // (household, occupancy seq)
  for (auto& r : Rows(c, "SELECT household_id, occupancy_seq, contract, from_date FROM " + s +
                             ".contract_periods ORDER BY household_id, occupancy_seq, seq"))
    contracts[{*r[0], *r[1]}].push_back(r);

  auto streams = engine.ListStreams();
  ASSERT_TRUE(streams.ok());
  const Date today = UtcDate(SystemClock()->Now());
  size_t nh = 0, nd = 0;
  for (const Subject& subject : *streams) {
    if (subject.kind == StreamKind::kTerritory) continue;
    auto expected = projections::StatusJsonAt(engine, subject, head.position, today, false);
    ASSERT_TRUE(expected.ok()) << subject.text;
    const std::string id(subject.id());
    JsonWriter w;
    w.BeginObject();
    w.Key("subject").String(subject.text);
    if (subject.kind == StreamKind::kHousehold) {
      ++nh;
      auto it = households.find(id);
      ASSERT_NE(it, households.end()) << subject.text << " has no households row";
      const sink::PgRow& h = it->second[0];
      Bool(w.Key("registered"), h[1]);
      Str(w.Key("territory"), h[2]);
      w.Key("referrals").BeginArray();
      for (const auto& r : referrals[id]) {
        w.BeginObject();
        Str(w.Key("referralId"), r[1]);
        Str(w.Key("track"), r[2]);
        Str(w.Key("source"), r[3]);
        Str(w.Key("status"), r[4]);
        w.EndObject();
      }
      w.EndArray();
      w.Key("occupancy");
      if (h[3]) {
        w.BeginObject();
        Str(w.Key("dwellingId"), h[3]);
        Str(w.Key("contract"), h[4]);
        Str(w.Key("since"), h[5]);
        w.EndObject();
      } else {
        w.Null();
      }
      w.Key("episodes").BeginArray();
      for (const auto& e : episodes[id]) {
        w.BeginObject();
        Str(w.Key("episodeId"), e[1]);
        Str(w.Key("kind"), e[2]);
        Str(w.Key("association"), e[3]);
        Str(w.Key("status"), e[4]);
        Str(w.Key("startedOn"), e[5]);
        Str(w.Key("closedOn"), e[6]);
        w.Key("objectives").BeginArray();
        for (const auto& ob : objectives[{id, *e[1]}]) {
          w.BeginObject();
          Str(w.Key("objectiveId"), ob[2]);
          Str(w.Key("status"), ob[3]);
          w.EndObject();
        }
        w.EndArray();
        w.EndObject();
      }
      w.EndArray();
      w.Key("arrears");
      if (h[6]) {
        w.BeginObject();
        Bool(w.Key("open"), h[6]);
        w.Key("amountCents").Int(std::stoll(*h[7]));
        Str(w.Key("since"), h[8]);
        w.EndObject();
      } else {
        w.Null();
      }
      Str(w.Key("procedureStage"), h[9]);
      w.Key("consents").BeginObject();
      Bool(w.Key("support"), h[10]);
      Bool(w.Key("dataSharing"), h[11]);
      Bool(w.Key("keepHistory"), h[12]);
      w.EndObject();
      Bool(w.Key("erased"), h[13]);
    } else {
      ++nd;
      auto it = dwellings.find(id);
      ASSERT_NE(it, dwellings.end()) << subject.text << " has no dwellings row";
      const sink::PgRow& d = it->second[0];
      Bool(w.Key("registered"), d[1]);
      Str(w.Key("territory"), d[2]);
      Str(w.Key("typology"), d[3]);
      Bool(w.Key("reserved"), d[4]);
      w.Key("occupancies").BeginArray();
      for (const auto& o : occupancies[id]) {
        w.BeginObject();
        Str(w.Key("household"), o[1]);
        Str(w.Key("start"), o[2]);
        Str(w.Key("end"), o[3]);
        w.Key("contracts").BeginArray();
        for (const auto& k : contracts[{*o[1], *o[5]}]) {
          w.BeginObject();
          Str(w.Key("contract"), k[2]);
          Str(w.Key("from"), k[3]);
          w.EndObject();
        }
        w.EndArray();
        Str(w.Key("endReason"), o[4]);
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndObject();
    EXPECT_EQ(w.Take(), *expected) << subject.text;
    if (::testing::Test::HasFailure()) return;  // one difference says enough
  }
  EXPECT_EQ(households.size(), nh);
  EXPECT_EQ(dwellings.size(), nd);

  // monthly_indicators against `relais report --series` through the binary.
  CliRun series = Relais(scratch, {"--data", data, "report", "--series", "--from", *state[0][2],
                                   "--to", *state[0][3]});
  ASSERT_EQ(series.code, 0) << series.err;
  std::string csv =
      "month,territory,supported.access,supported.maintien,supported.unreferred,arrearsOpen,"
      "moveIns,"
      "leaseSwitches,evictions.carriedOut,evictions.avoided\n";
  for (const auto& r :
       Rows(c, "SELECT * FROM " + s +
                   ".monthly_indicators ORDER BY month, "
                   "array_position(ARRAY['all','lille','sud','flandres'], territory)")) {
    for (size_t i = 0; i < r.size(); ++i) csv += (i ? "," : "") + *r[i];
    csv += "\n";
  }
  EXPECT_EQ(csv, series.out);
}

}  // namespace relais::testing
