// What the sink's tests share: one private PostgreSQL cluster per test
// process (tests/support/pg_cluster.h), the relais binary run as a child
// (exit code, stdout, stderr), generated data sets, and the comparison of a
// sink schema with the engine's own answers (status, report --series).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "pg_cluster.h"
#include "relais/engine.h"
#include "sink/pg.h"

namespace relais::testing {

// The cluster, started by the first call (nullptr when PostgreSQL is absent:
// the caller skips, saying why in *why).
pg::PgCluster* Cluster(std::string* why);
std::unique_ptr<sink::PgConnection> Connect();

struct CliRun {
  int code = -1;
  std::string out, err;
};
// `relais ARGS...`, waited for; stdout and stderr in files under `scratch`.
CliRun Relais(const std::string& scratch, const std::vector<std::string>& args);
// The same, not waited for: its pid (stdout and stderr to scratch/bg.*).
pid_t RelaisInBackground(const std::string& scratch, const std::vector<std::string>& args);
// Waits for a child: its exit code, or -signal.
int WaitChild(pid_t pid);

// `relais generate --seed S --events N` into `path`: its lines.
std::vector<std::string> Generate(const std::string& scratch, int seed, int events);
void WriteLines(const std::string& path, const std::vector<std::string>& lines);
// Imports `lines` into `data` through `relais import` (asserting exit 0).
void ImportLines(const std::string& scratch, const std::string& data,
                 const std::vector<std::string>& lines);

// One value of a query, or "" with *failed set.
std::string QueryOne(sink::PgConnection& c, const std::string& sql);

// Checks that schema `schema` (admin scope) holds exactly the log of `data`
// at its head: sink_state, a status per stream rebuilt from the tables equal
// to `relais status`, monthly_indicators equal to `relais report --series`,
// and one events row per position. gtest failures name what differs.
void ExpectSchemaMatchesLog(sink::PgConnection& c, const std::string& schema,
                            const std::string& data, const std::string& scratch);

// The sink's DSN for the cluster.
std::string Dsn();

}  // namespace relais::testing
