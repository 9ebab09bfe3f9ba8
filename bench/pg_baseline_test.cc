// The PostgreSQL baseline's parts: COPY escaping, and, on a real private
// cluster (skipped when PostgreSQL is not installed), that the expected-version
// append refuses a stale expectation, that W1-W4's statements see every event,
// and that the cluster leaves nothing behind after Stop() or a SIGINT.
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "pg_baseline.h"
#include "pg_cluster.h"

namespace relais::bench {
namespace {

TEST(PgCopy, EscapesTextFormatSpecials) {
  std::string out;
  AppendCopyRow(7, "household/B1", 3, "{\"a\":\"x\\\"y\"}\tz\nw\r", &out);
  EXPECT_EQ(out, "7\thousehold/B1\t3\t{\"a\":\"x\\\\\"y\"}\\tz\\nw\\r\n");
}

TEST(PgSql, AppendChecksTheStreamsMaxVersion) {
  std::string sql = PgAppendSql("t", PgPayload::kJsonb);
  EXPECT_NE(sql.find("WHERE COALESCE((SELECT max(version) FROM t WHERE stream = $2::text), -1) = $3::int"),
            std::string::npos)
      << sql;
  EXPECT_NE(PgCreateTableSql("t", PgPayload::kText).find("payload text NOT NULL, UNIQUE (stream, version)"),
            std::string::npos);
}

class PgClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.bin_dir = DefaultPgBinDir();
    if (std::string why = PgUnavailableReason(options_.bin_dir); !why.empty()) GTEST_SKIP() << why;
  }
  PgClusterOptions options_;
};

// Runs `sql` with text parameters; returns the command's tuple count ("1", "0").
std::string Exec(PGconn* c, const std::string& sql, std::vector<std::string> params) {
  std::vector<const char*> p;
  for (auto& s : params) p.push_back(s.c_str());
  PGresult* r = PQexecParams(c, sql.c_str(), static_cast<int>(p.size()), nullptr, p.data(), nullptr, nullptr, 0);
  std::string out = PQresultStatus(r) == PGRES_COMMAND_OK ? PQcmdTuples(r) : std::string("error: ") + PQerrorMessage(c);
  PQclear(r);
  return out;
}

TEST_F(PgClusterTest, ExpectedVersionAppendRefusesAStaleExpectation) {
  PgCluster cluster;
  ASSERT_TRUE(cluster.Start(options_).ok());
  PGconn* c = PQconnectdb(cluster.ConnInfo().c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
  PGresult* r = PQexec(c, PgCreateTableSql("t", PgPayload::kJsonb).c_str());
  ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(c);
  PQclear(r);
  const std::string sql = PgAppendSql("t", PgPayload::kJsonb);
  EXPECT_EQ(Exec(c, sql, {"1", "s/a", "-1", "{}"}), "1");   // new stream: version 0
  EXPECT_EQ(Exec(c, sql, {"2", "s/a", "-1", "{}"}), "0");   // stale: the stream exists
  EXPECT_EQ(Exec(c, sql, {"3", "s/a", "0", "{}"}), "1");    // version 1
  EXPECT_EQ(Exec(c, sql, {"4", "s/a", "0", "{}"}), "0");    // stale again
  EXPECT_EQ(Exec(c, sql, {"5", "s/a", "5", "{}"}), "0");    // ahead of the stream
  EXPECT_EQ(Exec(c, sql, {"6", "s/b", "-1", "{}"}), "1");   // another stream is independent
  PQfinish(c);
  cluster.Stop();
}

TEST_F(PgClusterTest, WorkloadsSeeEveryEventAndStopRemovesTheCluster) {
  PgCluster cluster;
  ASSERT_TRUE(cluster.Start(options_).ok());
  const std::string dir = cluster.dir();
  ASSERT_TRUE(std::filesystem::exists(dir + "/.s.PGSQL.5432"));
  {
    auto pg = PgBaseline::Connect(cluster.ConnInfo(), PgPayload::kJsonb);
    ASSERT_TRUE(pg.ok()) << pg.status().message();
    // 3 lines, the second with two events; a backslash and a tab in the JSON.
    std::vector<Line> lines = {{"{\"k\":\"a\\\\b\"}", {"s/x"}},
                               {"[{\"k\":1},{\"k\":\"\\t\"}]", {"s/x", "s/y"}},
                               {"{\"k\":3}", {"s/x"}}};
    ASSERT_TRUE((*pg)->Import(lines, 2).ok());
    EXPECT_EQ((*pg)->loaded_events(), 4);
    int64_t events = 0;
    ASSERT_TRUE((*pg)->Scan(3, &events).ok());  // two pages, the last one short
    EXPECT_EQ(events, 4);
    auto reads = (*pg)->StreamReads({"s/x", "s/y"}, 5, 1);
    ASSERT_TRUE(reads.ok()) << reads.status().message();
    EXPECT_EQ(reads->ms.size(), 5u);
    auto appends = (*pg)->DurableAppends(
        3, 4, [](int w) { return std::string("{\"first\":") + std::to_string(w) + "}"; },
        [](int w, int i) { return "{\"w\":" + std::to_string(w) + ",\"i\":" + std::to_string(i) + "}"; });
    ASSERT_TRUE(appends.ok()) << appends.status().message();
    EXPECT_EQ(appends->ms.size(), 12u);
  }
  cluster.Stop();
  EXPECT_FALSE(cluster.running());
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST_F(PgClusterTest, SigintStopsAndRemovesTheCluster) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    PgCluster cluster;
    if (!cluster.Start(options_).ok()) ::_exit(3);
    std::string msg = cluster.dir() + "\n";
    if (::write(fds[1], msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) ::_exit(4);
    ::kill(::getpid(), SIGINT);  // as a Ctrl-C in the middle of a run
    ::pause();
    ::_exit(5);
  }
  ::close(fds[1]);
  std::string dir;
  char ch;
  while (::read(fds[0], &ch, 1) == 1 && ch != '\n') dir.push_back(ch);
  ::close(fds[0]);
  int st = 0;
  ASSERT_EQ(::waitpid(child, &st, 0), child);
  ASSERT_FALSE(dir.empty()) << "the child could not start a cluster (exit " << WEXITSTATUS(st) << ")";
  EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT) << "status " << st;
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
}

}  // namespace
}  // namespace relais::bench
