// The PostgreSQL baseline: bench/'s own events in one PostgreSQL event table,
// with the statements an event store on PostgreSQL would use. Runs against a
// PgCluster (pg_cluster.h) started by the bench; relais_bench.cc times it in
// the same runs as relais and raw RocksDB (the mapping is in
// docs/performance.md, "PostgreSQL baseline").
//
//   table  events(position bigint primary key, stream text not null,
//                 version int not null, payload jsonb|text, unique(stream, version))
//   W1     COPY of batches of lines, one transaction per batch, commits not
//          waited for (synchronous_commit=off for the session) except the last
//          one, whose durable commit flushes the WAL of all before it
//   W2     one INSERT ... SELECT ... WHERE <max version = expected> per append,
//          autocommit, synchronous_commit=on, one connection per writer
//   W3     keyset scan: WHERE position > $1 ORDER BY position LIMIT n
//   W4     stream read: WHERE stream = $1 ORDER BY version
//
// The SQL text builders are pure functions; bench/pg_baseline_test.cc tests
// them and the workloads on a real private cluster. A PgBaseline holds one
// connection (used from one thread); DurableAppends opens one per writer.
#pragma once

#include "pg_cluster.h"
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench_line.h"
#include "relais/status.h"

struct pg_conn;

namespace relais::bench {

// The private cluster moved to tests/support (the sink's tests use it too).
using pg::DefaultPgBinDir;
using pg::PgCluster;
using pg::PgClusterOptions;
using pg::PgUnavailableReason;


enum class PgPayload { kJsonb, kText };

// "jsonb" / "text"; ParsePgPayload returns false on anything else.
const char* PgPayloadName(PgPayload p);
bool ParsePgPayload(std::string_view name, PgPayload* out);

// ----------------------------------------------------------------- SQL text

std::string PgCreateTableSql(const std::string& table, PgPayload payload);
std::string PgCopySql(const std::string& table);
// $1 position, $2 stream, $3 expected version (the stream's current max,
// -1 for a new stream), $4 payload. Inserts version $3 + 1 only if the
// stream's max version is $3; a stale expectation inserts nothing ("INSERT 0 0").
std::string PgAppendSql(const std::string& table, PgPayload payload);
// $1 after position, $2 limit.
std::string PgScanSql(const std::string& table);
// $1 stream.
std::string PgStreamSql(const std::string& table);

// Appends `field` escaped for COPY's text format (backslash, tab, newline,
// carriage return).
void AppendCopyField(std::string_view field, std::string* out);
// One COPY text row: position \t stream \t version \t payload \n.
void AppendCopyRow(int64_t position, std::string_view stream, int64_t version, std::string_view payload,
                   std::string* out);

// ---------------------------------------------------------------- workloads

struct PgLatencies {
  double ops_per_second = 0;
  std::vector<double> ms;  // one per operation
};

class PgBaseline {
 public:
  static Result<std::unique_ptr<PgBaseline>> Connect(const std::string& conninfo, PgPayload payload);
  ~PgBaseline();
  PgBaseline(const PgBaseline&) = delete;
  PgBaseline& operator=(const PgBaseline&) = delete;

  // W1: (re)creates `events` and COPYs every line's events in batches of
  // `batch_lines` lines (see the header comment). Returns events/s, the time
  // from the first COPY to the last durable commit.
  Result<double> Import(const std::vector<Line>& lines, size_t batch_lines);
  bool loaded() const { return loaded_events_ > 0; }
  int64_t loaded_events() const { return loaded_events_; }
  // Table + indexes + TOAST of `events`, in bytes (pg_total_relation_size).
  Result<int64_t> TableBytes();

  // W2: `writers` threads, one connection each, on distinct streams
  // household/B<w>: each stream gets `first(w)` (version 0, untimed), then
  // `per_writer` timed expected-version appends of `next(w, i)`. A refused
  // append (stale version) is an error: the streams are distinct.
  Result<PgLatencies> DurableAppends(int writers, int per_writer, const std::function<std::string(int)>& first,
                                     const std::function<std::string(int, int)>& next);

  // W3: the whole of `events` by keyset pages of `page` rows, every payload
  // read. Returns events/s; *events gets the number of rows.
  Result<double> Scan(int64_t page, int64_t* events);

  // W4: `n` stream reads of streams picked from `streams` by a seeded RNG.
  Result<PgLatencies> StreamReads(const std::vector<std::string>& streams, int n, uint64_t seed);

 private:
  PgBaseline(pg_conn* conn, std::string conninfo, PgPayload payload)
      : conn_(conn), conninfo_(std::move(conninfo)), payload_(payload) {}
  pg_conn* conn_;
  std::string conninfo_;
  PgPayload payload_;
  int64_t loaded_events_ = 0;
};

}  // namespace relais::bench
