#include "sink/pg.h"

#include <libpq-fe.h>

namespace relais::sink {

namespace {

// COPY data is sent in pieces of about this size.
constexpr size_t kCopyChunkBytes = 1 << 20;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

}  // namespace

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

void AppendCopyValue(std::string& out, const PgValue& v) {
  if (!v) {
    out += "\\N";
    return;
  }
  for (char c : *v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
}

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& dsn) {
  PGconn* c = PQconnectdb(dsn.c_str());
  if (c == nullptr) return Status::IoError("postgres: out of memory for a connection");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Status::IoError("postgres: cannot connect: " + msg);
  }
  // Quiet NOTICEs (CREATE ... IF NOT EXISTS says "already exists" each time).
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(c));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::Ok() const { return PQstatus(conn_) == CONNECTION_OK; }

Status PgConnection::Error(std::string_view what) const {
  std::string msg = PQerrorMessage(conn_);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return Status::IoError("postgres: " + std::string(what) + ": " + msg);
}

Status PgConnection::Exec(const std::string& sql) {
  PgResult r(PQexec(conn_, sql.c_str()));
  ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Error("statement failed");
  return Status::Ok();
}

Result<std::vector<PgRow>> PgConnection::Query(const std::string& sql,
                                               const std::vector<PgValue>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PgResult r(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                          values.data(), nullptr, nullptr, 0));
  ExecStatusType st = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return Error("query failed");
  std::vector<PgRow> rows;
  const int n = PQntuples(r.get()), m = PQnfields(r.get());
  rows.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    PgRow row;
    row.reserve(static_cast<size_t>(m));
    for (int j = 0; j < m; ++j) {
      if (PQgetisnull(r.get(), i, j)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(r.get(), i, j),
                                     static_cast<size_t>(PQgetlength(r.get(), i, j))));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Status PgConnection::Copy(const std::string& qualified_table,
                          const std::vector<std::string_view>& columns,
                          const std::vector<projections::SinkRow>& rows) {
  if (rows.empty()) return Status::Ok();
  std::string sql = "COPY " + qualified_table + " (";
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) sql += ", ";
    sql += QuoteIdent(columns[i]);
  }
  sql += ") FROM STDIN";
  {
    PgResult r(PQexec(conn_, sql.c_str()));
    if (!r || PQresultStatus(r.get()) != PGRES_COPY_IN) return Error("COPY " + qualified_table);
  }
  std::string buf;
  buf.reserve(kCopyChunkBytes + 4096);
  auto flush = [&]() -> bool {
    if (buf.empty()) return true;
    bool ok = PQputCopyData(conn_, buf.data(), static_cast<int>(buf.size())) == 1;
    buf.clear();
    return ok;
  };
  bool ok = true;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i) buf += '\t';
      AppendCopyValue(buf, row[i]);
    }
    buf += '\n';
    if (buf.size() >= kCopyChunkBytes && !(ok = flush())) break;
  }
  if (ok) ok = flush();
  if (PQputCopyEnd(conn_, ok ? nullptr : "sink: sending the rows failed") != 1)
    return Error("COPY end");
  PgResult r(PQgetResult(conn_));
  Status st = Status::Ok();
  if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) st = Error("COPY " + qualified_table);
  // Drain: libpq wants every result read before the next command.
  while (PGresult* more = PQgetResult(conn_)) PQclear(more);
  return st;
}

}  // namespace relais::sink
