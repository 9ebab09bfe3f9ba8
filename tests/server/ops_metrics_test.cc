// GET /metrics for an operator (docs/server.md "Metrics"): `promtool check
// metrics` finds nothing in a scrape, the process, build and RocksDB
// families are there, the `metrics` role reads /metrics and /healthz and
// gets 403 on every other route family, and --metrics-listen serves only
// those two without a token. The real binary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/server_harness.h"
#include "support/test_support.h"

namespace relais::testing {
namespace {

std::string Registered() {
  return R"({"territory":"lille","commune":"Lille","adults":1,"children":0,"headOfHousehold":{"name":"N","birthDate":"1980-05-01"}})";
}

// The value of the first sample of `name` (exact, no labels), or -1.
double Sample(const std::string& body, const std::string& name) {
  size_t at = body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(body.c_str() + at + name.size() + 2, nullptr);
}

std::string Promtool() {
  for (const char* p : {"/usr/bin/promtool", "/usr/local/bin/promtool"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

class OpsMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    admin_ = AddToken(dir_.path(), "ops-admin", "admin");
    scrape_ = AddToken(dir_.path(), "prometheus", "metrics");
    ASSERT_FALSE(admin_.empty());
    ASSERT_FALSE(scrape_.empty());
  }
  TempDir dir_;
  std::string admin_, scrape_;
};

TEST_F(OpsMetricsTest, PromtoolFindsNothingAndOperatorFamiliesArePresent) {
  ServerProcess server(dir_.path(), {"--log-level", "warn"});
  ASSERT_TRUE(server.Start());
  const uint16_t port = server.port();
  ASSERT_EQ(Http(port, "POST", "/v1/events",
                 Event(Uuid(1), "HouseholdRegistered", "household/M1", "2024-01-10", Registered()),
                 admin_)
                .status,
            201);
  ASSERT_EQ(Http(port, "POST", "/v1/events",
                 Event(Uuid(1), "HouseholdRegistered", "household/M2", "2024-01-10", Registered()),
                 admin_)
                .status,
            409);  // a refusal: relais_refusals_total has a sample
  ASSERT_EQ(Http(port, "GET", "/v1/streams/household%2FM1/status", "", admin_).status, 200);
  HttpResult r = Http(port, "GET", "/metrics", "", scrape_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4");
  const std::string& body = r.body;

  // Every sample's family has HELP and TYPE (promtool's first complaint).
  std::set<std::string> help, type, sampled;
  size_t start = 0;
  while (start < body.size()) {
    size_t nl = body.find('\n', start);
    std::string line = body.substr(start, nl - start);
    start = nl == std::string::npos ? body.size() : nl + 1;
    if (line.rfind("# HELP ", 0) == 0) help.insert(line.substr(7, line.find(' ', 7) - 7));
    else if (line.rfind("# TYPE ", 0) == 0) type.insert(line.substr(7, line.find(' ', 7) - 7));
    else if (!line.empty()) sampled.insert(line.substr(0, line.find_first_of("{ ")));
  }
  for (const std::string& name : sampled) {
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (family.ends_with(suffix) && !type.count(family)) family.resize(family.size() - std::strlen(suffix));
    EXPECT_TRUE(help.count(family)) << name << " has no HELP";
    EXPECT_TRUE(type.count(family)) << name << " has no TYPE";
  }
  EXPECT_NE(body.find("relais_build_info{version=\""), std::string::npos) << body;
  EXPECT_GT(Sample(body, "process_cpu_seconds_total"), 0) << body;
  EXPECT_GT(Sample(body, "process_resident_memory_bytes"), 1 << 20) << body;
  EXPECT_GT(Sample(body, "process_open_fds"), 3) << body;
  EXPECT_GT(Sample(body, "process_max_fds"), 0) << body;
  double started = Sample(body, "process_start_time_seconds");
  double now = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
  EXPECT_GT(started, now - 600) << body;
  EXPECT_LE(started, now + 2) << body;
  // The append synced the write-ahead log.
  EXPECT_GE(Sample(body, "relais_rocksdb_wal_syncs_total"), 1) << body;
  EXPECT_GT(Sample(body, "relais_rocksdb_wal_written_bytes_total"), 0) << body;
  for (const char* name :
       {"relais_rocksdb_write_stall_seconds_total", "relais_rocksdb_write_stopped",
        "relais_rocksdb_compaction_pending", "relais_rocksdb_compaction_pending_bytes",
        "relais_rocksdb_sst_bytes", "relais_rocksdb_live_sst_bytes",
        "relais_rocksdb_memtable_bytes", "relais_log_lines_dropped_total",
        "relais_access_journal_rotations_total"})
    EXPECT_GE(Sample(body, name), 0) << name << "\n" << body;
  EXPECT_GT(Sample(body, "relais_access_journal_bytes"), 0) << body;

  std::string tool = Promtool();
  if (tool.empty())
    GTEST_SKIP() << "promtool is not installed (Debian package prometheus, "
                    "scripts/install-deps.sh): the scrape was not checked by it";
  const std::string file = dir_.path() + "/../scrape-" + std::to_string(::getpid()) + ".txt";
  {
    std::ofstream f(file, std::ios::binary);
    f << body;
  }
  const std::string out = file + ".out";
  int rc = std::system((tool + " check metrics < " + file + " > " + out + " 2>&1").c_str());
  std::string findings = ReadFile(out);
  std::remove(file.c_str());
  std::remove(out.c_str());
  EXPECT_EQ(rc, 0) << findings;
  EXPECT_EQ(findings, "") << findings;
}

TEST_F(OpsMetricsTest, MetricsRoleReadsMetricsAndHealthzOnlyAndCaseRolesCannotScrape) {
  std::map<std::string, std::string> roles = {
      {"coordinator", AddToken(dir_.path(), "coord", "coordinator", "lille")},
      {"social_worker", AddToken(dir_.path(), "sw", "social_worker", "", "asso-a")},
      {"tenancy_staff", AddToken(dir_.path(), "ts", "tenancy_staff", "lille")},
      {"evaluator", AddToken(dir_.path(), "eval", "evaluator")},
      {"auditor", AddToken(dir_.path(), "audit", "auditor")}};
  ServerProcess server(dir_.path(), {"--log-level", "warn"});
  ASSERT_TRUE(server.Start());
  const uint16_t port = server.port();
  ASSERT_EQ(Http(port, "POST", "/v1/events",
                 Event(Uuid(1), "HouseholdRegistered", "household/M1", "2024-01-10", Registered()),
                 admin_)
                .status,
            201);
  EXPECT_EQ(Http(port, "GET", "/metrics", "", scrape_).status, 200);
  EXPECT_EQ(Http(port, "GET", "/healthz", "", scrape_).status, 200);
  EXPECT_EQ(Http(port, "GET", "/metrics", "", admin_).status, 200);
  for (const auto& [role, token] : roles) {
    HttpResult r = Http(port, "GET", "/metrics", "", token);
    EXPECT_EQ(r.status, 403) << role << " " << r.body;
  }
  // Every route family of the table, and paths that do not exist.
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"POST", "/v1/events"},
      {"GET", "/v1/reports/indicators"},
      {"GET", "/v1/checkpoint"},
      {"GET", "/v1/checkpoint/key"},
      {"GET", "/v1/proofs/inclusion?position=1"},
      {"GET", "/v1/proofs/consistency?from=1&size=1"},
      {"GET", "/v1/verify"},
      {"POST", "/v1/backup"},
      {"GET", "/v1/audit/access"},
      {"GET", "/v1/retention"},
      {"POST", "/v1/retention"},
      {"GET", "/v1/feed"},
      {"GET", "/v1/export"},
      {"GET", "/v1/streams/household%2FM1/status"},
      {"GET", "/v1/streams/household%2FM1/events"},
      {"GET", "/v1/streams/household%2FM1/file"},
      {"GET", "/v1/streams/household%2FM1/evidence"},
      {"GET", "/v1/streams/dwelling%2FD1/tenancy"},
      {"POST", "/v1/streams/household%2FM1/erasure"},
      {"GET", "/v1/nowhere"},
      {"GET", "/v1/session"},
      {"DELETE", "/v1/session"},
      {"GET", "/v1/schema"},
      {"GET", "/v1/caseload?territory=lille"},
  };
  std::string journal_before = ReadFile(dir_.path() + "/access-journal.ndjson");
  for (const auto& [method, target] : routes) {
    std::string body = method == "POST" ? "{}" : "";
    HttpResult r = Http(port, method, target, body, scrape_);
    EXPECT_EQ(r.status, 403) << method << " " << target << " " << r.body;
    EXPECT_NE(r.body.find("\"forbidden\""), std::string::npos) << target << " " << r.body;
  }
  // The console's static pages need no token (interfaces.md §3), and a
  // metrics token cannot open a console session.
  EXPECT_EQ(Http(port, "GET", "/", "", scrape_).status, 302);
  HttpResult signin = Http(port, "POST", "/v1/session", "{\"token\":\"" + scrape_ + "\"}", "",
                           {{"Content-Type", "application/json"}});
  EXPECT_EQ(signin.status, 403) << signin.body;
  // No handler ran: no read was journaled, no event appended.
  EXPECT_EQ(ReadFile(dir_.path() + "/access-journal.ndjson"), journal_before);
  HttpResult m = Http(port, "GET", "/metrics", "", scrape_);
  EXPECT_EQ(Sample(m.body, "relais_log_position"), 1) << m.body;
  EXPECT_EQ(server.Stop(), 0);

  std::string out;
  EXPECT_EQ(RunRelais({"--data", dir_.path(), "token", "list"}, &out), 0);
  EXPECT_NE(out.find("\"name\":\"prometheus\",\"role\":\"metrics\",\"territory\":null,\"org\":null"),
            std::string::npos)
      << out;
  EXPECT_EQ(RunRelais({"--data", dir_.path(), "token", "add", "--name", "m2", "--role", "metrics",
                       "--territory", "lille"},
                      &out),
            2);
  EXPECT_EQ(RunRelais({"--data", dir_.path(), "token", "add", "--name", "m3", "--role", "metrics",
                       "--org", "asso-a"},
                      &out),
            2);
}

TEST_F(OpsMetricsTest, MetricsListenServesOnlyMetricsAndHealthzWithoutAToken) {
  TempDir logs;
  const std::string log_path = logs.path() + "/stderr.log";
  ServerProcess server(dir_.path(), {"--metrics-listen", "127.0.0.1:0"});
  server.set_stderr_path(log_path);
  ASSERT_TRUE(server.Start());
  // The chosen port is in the startup line.
  uint16_t mport = 0;
  for (int i = 0; i < 100 && mport == 0; ++i) {
    std::string text = ReadFile(log_path);
    size_t at = text.find("\"metricsListen\":\"127.0.0.1:");
    if (at != std::string::npos) mport = static_cast<uint16_t>(std::atoi(text.c_str() + at + 27));
    if (mport == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(mport, 0) << ReadFile(log_path);
  ASSERT_NE(mport, server.port());
  HttpResult r = Http(mport, "GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("relais_build_info"), std::string::npos);
  EXPECT_EQ(Http(mport, "GET", "/healthz").status, 200);
  EXPECT_EQ(Http(mport, "POST", "/metrics", "{}").status, 405);
  for (const char* target : {"/v1/verify", "/v1/streams/household%2FM1/status", "/v1/audit/access",
                             "/", "/v1/events"}) {
    EXPECT_EQ(Http(mport, "GET", target, "", admin_).status, 404) << target;
    EXPECT_EQ(Http(mport, "POST", target, "{}", admin_).status, 404) << target;
  }
  // The main address still needs a token for /metrics.
  EXPECT_EQ(Http(server.port(), "GET", "/metrics").status, 401);
  EXPECT_EQ(server.Stop(), 0);
  std::string out;
  EXPECT_EQ(RunRelais({"--data", dir_.path(), "serve", "--listen", "127.0.0.1:0",
                       "--metrics-listen", "nowhere"},
                      &out),
            2);
}

}  // namespace
}  // namespace relais::testing
