#include "pg_baseline.h"

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace relais::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Owns one PGresult.
struct ResultPtr {
  explicit ResultPtr(PGresult* r) : r(r) {}
  ~ResultPtr() { PQclear(r); }
  ResultPtr(const ResultPtr&) = delete;
  ResultPtr& operator=(const ResultPtr&) = delete;
  PGresult* r;
};

Status PgError(PGconn* c, const std::string& what) {
  std::string m = PQerrorMessage(c);
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return Status::Internal("postgres: " + what + ": " + m);
}

// A command with no result rows; fails on anything but COMMAND_OK/TUPLES_OK.
Status Exec(PGconn* c, const std::string& sql) {
  ResultPtr r(PQexec(c, sql.c_str()));
  auto st = PQresultStatus(r.r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return PgError(c, sql);
  return Status::Ok();
}

Result<PGconn*> Open(const std::string& conninfo) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    Status s = PgError(c, "connect");
    PQfinish(c);
    return s;
  }
  // NOTICEs ("table does not exist, skipping") are not the bench's output.
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  return c;
}

Status Prepare(PGconn* c, const char* name, const std::string& sql) {
  ResultPtr r(PQprepare(c, name, sql.c_str(), 0, nullptr));
  if (PQresultStatus(r.r) != PGRES_COMMAND_OK) return PgError(c, "prepare " + sql);
  return Status::Ok();
}

const char* kTable = "events";        // W1, W3, W4
const char* kDurableTable = "events_w2";  // W2: its own table, as relais and raw get their own directory

std::string PayloadType(PgPayload p) { return p == PgPayload::kJsonb ? "jsonb" : "text"; }

}  // namespace

const char* PgPayloadName(PgPayload p) { return p == PgPayload::kJsonb ? "jsonb" : "text"; }

bool ParsePgPayload(std::string_view name, PgPayload* out) {
  if (name == "jsonb") *out = PgPayload::kJsonb;
  else if (name == "text") *out = PgPayload::kText;
  else return false;
  return true;
}

std::string PgCreateTableSql(const std::string& table, PgPayload payload) {
  return "DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table +
         " (position bigint PRIMARY KEY, stream text NOT NULL, version int NOT NULL, payload " +
         PayloadType(payload) + " NOT NULL, UNIQUE (stream, version))";
}

std::string PgCopySql(const std::string& table) {
  return "COPY " + table + " (position, stream, version, payload) FROM STDIN";
}

std::string PgAppendSql(const std::string& table, PgPayload payload) {
  return "INSERT INTO " + table +
         " (position, stream, version, payload) SELECT $1::bigint, $2::text, $3::int + 1, $4::" +
         PayloadType(payload) + " WHERE COALESCE((SELECT max(version) FROM " + table +
         " WHERE stream = $2::text), -1) = $3::int";
}

std::string PgScanSql(const std::string& table) {
  return "SELECT position, payload FROM " + table + " WHERE position > $1::bigint ORDER BY position LIMIT $2::bigint";
}

std::string PgStreamSql(const std::string& table) {
  return "SELECT version, payload FROM " + table + " WHERE stream = $1::text ORDER BY version";
}

void AppendCopyField(std::string_view field, std::string* out) {
  for (char ch : field) {
    switch (ch) {
      case '\\': out->append("\\\\"); break;
      case '\t': out->append("\\t"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      default: out->push_back(ch);
    }
  }
}

void AppendCopyRow(int64_t position, std::string_view stream, int64_t version, std::string_view payload,
                   std::string* out) {
  out->append(std::to_string(position));
  out->push_back('\t');
  AppendCopyField(stream, out);
  out->push_back('\t');
  out->append(std::to_string(version));
  out->push_back('\t');
  AppendCopyField(payload, out);
  out->push_back('\n');
}

Result<std::unique_ptr<PgBaseline>> PgBaseline::Connect(const std::string& conninfo, PgPayload payload) {
  auto c = Open(conninfo);
  if (!c.ok()) return c.status();
  return std::unique_ptr<PgBaseline>(new PgBaseline(*c, conninfo, payload));
}

PgBaseline::~PgBaseline() { PQfinish(conn_); }

Result<double> PgBaseline::Import(const std::vector<Line>& lines, size_t batch_lines) {
  if (Status s = Exec(conn_, PgCreateTableSql(kTable, payload_)); !s.ok()) return s;
  // As relais's W1 (AppendManyAsync, sync = false, then Sync()) and raw's
  // (WriteBatch per line, sync = false, then FlushWAL(true)): every batch is
  // committed but not waited for; the last batch's commit is durable, which
  // flushes the WAL of every batch before it.
  if (Status s = Exec(conn_, "SET synchronous_commit = off"); !s.ok()) return s;
  const std::string copy = PgCopySql(kTable);
  std::map<std::string, int64_t, std::less<>> versions;
  int64_t position = 0;
  std::string buf;
  auto t0 = Clock::now();
  for (size_t i = 0; i < lines.size(); i += batch_lines) {
    const size_t end = std::min(lines.size(), i + batch_lines);
    buf.clear();
    for (size_t k = i; k < end; ++k)
      for (const std::string& subject : lines[k].subjects) {
        auto it = versions.try_emplace(subject, 0).first;
        AppendCopyRow(++position, subject, it->second++, lines[k].json, &buf);
      }
    if (end == lines.size())
      if (Status s = Exec(conn_, "SET synchronous_commit = on"); !s.ok()) return s;
    {
      ResultPtr r(PQexec(conn_, copy.c_str()));
      if (PQresultStatus(r.r) != PGRES_COPY_IN) return PgError(conn_, copy);
    }
    if (PQputCopyData(conn_, buf.data(), static_cast<int>(buf.size())) != 1 || PQputCopyEnd(conn_, nullptr) != 1)
      return PgError(conn_, "COPY data");
    bool ok = true;
    while (PGresult* r = PQgetResult(conn_)) {
      if (PQresultStatus(r) != PGRES_COMMAND_OK) ok = false;
      PQclear(r);
    }
    if (!ok) return PgError(conn_, "COPY batch at line " + std::to_string(i));
  }
  auto t1 = Clock::now();
  loaded_events_ = position;
  // Statistics for the planner, as a production table would have (untimed).
  if (Status s = Exec(conn_, "ANALYZE " + std::string(kTable)); !s.ok()) return s;
  return static_cast<double>(position) / Seconds(t0, t1);
}

Result<int64_t> PgBaseline::TableBytes() {
  ResultPtr r(PQexec(conn_, ("SELECT pg_total_relation_size('" + std::string(kTable) + "')").c_str()));
  if (PQresultStatus(r.r) != PGRES_TUPLES_OK || PQntuples(r.r) != 1) return PgError(conn_, "table size");
  return static_cast<int64_t>(std::stoll(PQgetvalue(r.r, 0, 0)));
}

Result<PgLatencies> PgBaseline::DurableAppends(int writers, int per_writer,
                                               const std::function<std::string(int)>& first,
                                               const std::function<std::string(int, int)>& next) {
  if (Status s = Exec(conn_, PgCreateTableSql(kDurableTable, payload_)); !s.ok()) return s;
  const std::string sql = PgAppendSql(kDurableTable, payload_);
  // Connections, prepared statements and each stream's first event before
  // the clock starts, as relais registers its households first.
  std::vector<PGconn*> conns;
  auto close_all = [&] {
    for (PGconn* c : conns) PQfinish(c);
  };
  std::atomic<int64_t> position{0};
  for (int w = 0; w < writers; ++w) {
    auto c = Open(conninfo_);
    if (!c.ok()) {
      close_all();
      return c.status();
    }
    conns.push_back(*c);
    Status s = Prepare(*c, "append", sql);
    std::string stream = "household/B" + std::to_string(w), pos = std::to_string(++position), payload = first(w);
    const char* params[4] = {pos.c_str(), stream.c_str(), "-1", payload.c_str()};
    if (s.ok()) {
      ResultPtr r(PQexecPrepared(*c, "append", 4, params, nullptr, nullptr, 0));
      if (PQresultStatus(r.r) != PGRES_COMMAND_OK || std::string(PQcmdTuples(r.r)) != "1")
        s = PgError(*c, "first append of " + stream);
    }
    if (!s.ok()) {
      close_all();
      return s;
    }
  }
  std::vector<std::vector<double>> lats(writers);
  std::mutex error_mu;
  Status error;
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      PGconn* c = conns[w];
      const std::string stream = "household/B" + std::to_string(w);
      lats[w].reserve(per_writer);
      for (int i = 0; i < per_writer; ++i) {
        std::string pos = std::to_string(++position), expected = std::to_string(i), payload = next(w, i);
        const char* params[4] = {pos.c_str(), stream.c_str(), expected.c_str(), payload.c_str()};
        auto a = Clock::now();
        ResultPtr r(PQexecPrepared(c, "append", 4, params, nullptr, nullptr, 0));
        lats[w].push_back(Seconds(a, Clock::now()) * 1000);
        if (PQresultStatus(r.r) != PGRES_COMMAND_OK || std::string(PQcmdTuples(r.r)) != "1") {
          std::lock_guard<std::mutex> l(error_mu);
          error = PgError(c, "append " + std::to_string(i) + " of " + stream + " (" + PQcmdStatus(r.r) + ")");
          return;
        }
      }
    });
  for (auto& t : threads) t.join();
  auto t1 = Clock::now();
  close_all();
  if (!error.ok()) return error;
  PgLatencies out;
  out.ops_per_second = static_cast<double>(writers) * per_writer / Seconds(t0, t1);
  for (auto& v : lats) out.ms.insert(out.ms.end(), v.begin(), v.end());
  return out;
}

Result<double> PgBaseline::Scan(int64_t page, int64_t* events) {
  if (Status s = Prepare(conn_, "scan", PgScanSql(kTable)); !s.ok()) return s;
  const std::string limit = std::to_string(page);
  std::string after = "0";
  int64_t n = 0, bytes = 0;
  auto t0 = Clock::now();
  for (;;) {
    const char* params[2] = {after.c_str(), limit.c_str()};
    ResultPtr r(PQexecPrepared(conn_, "scan", 2, params, nullptr, nullptr, 0));
    if (PQresultStatus(r.r) != PGRES_TUPLES_OK) return PgError(conn_, "scan after " + after);
    const int rows = PQntuples(r.r);
    for (int k = 0; k < rows; ++k) bytes += PQgetlength(r.r, k, 1);
    n += rows;
    if (rows < page) break;
    after = PQgetvalue(r.r, rows - 1, 0);
  }
  auto t1 = Clock::now();
  (void)Exec(conn_, "DEALLOCATE scan");  // a failure here changes no figure
  if (bytes == 0 && n > 0) return Status::Internal("postgres: scan read empty payloads");
  *events = n;
  return static_cast<double>(n) / Seconds(t0, t1);
}

Result<PgLatencies> PgBaseline::StreamReads(const std::vector<std::string>& streams, int n, uint64_t seed) {
  if (streams.empty()) return Status::InvalidArgument("no streams to read");
  if (Status s = Prepare(conn_, "stream", PgStreamSql(kTable)); !s.ok()) return s;
  std::mt19937_64 rng(seed);
  PgLatencies out;
  out.ms.reserve(n);
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    const std::string& s = streams[rng() % streams.size()];
    const char* params[1] = {s.c_str()};
    auto a = Clock::now();
    ResultPtr r(PQexecPrepared(conn_, "stream", 1, params, nullptr, nullptr, 0));
    if (PQresultStatus(r.r) != PGRES_TUPLES_OK || PQntuples(r.r) == 0) return PgError(conn_, "read of " + s);
    int64_t bytes = 0;
    for (int k = 0; k < PQntuples(r.r); ++k) bytes += PQgetlength(r.r, k, 1);
    out.ms.push_back(Seconds(a, Clock::now()) * 1000);
    if (bytes == 0) return Status::Internal("postgres: empty payloads in " + s);
  }
  out.ops_per_second = n / Seconds(t0, Clock::now());
  (void)Exec(conn_, "DEALLOCATE stream");
  return out;
}

}  // namespace relais::bench
