// A thin libpq client for the sink: one connection, statements with text
// parameters, and COPY FROM STDIN in text format. No exceptions; every error
// is a Status whose message carries PostgreSQL's own.
//
// Not thread-safe: one PgConnection belongs to one thread (the sink's).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/projections/sink_rows.h"
#include "relais/status.h"

struct pg_conn;

namespace relais::sink {

using PgValue = std::optional<std::string>;
using PgRow = std::vector<PgValue>;

class PgConnection {
 public:
  // Connects (blocking); Unavailable-like IoError when the server cannot be
  // reached, with libpq's message.
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& dsn);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one or several statements without parameters.
  Status Exec(const std::string& sql);
  // One statement with text parameters ($1...); the rows it returns.
  Result<std::vector<PgRow>> Query(const std::string& sql, const std::vector<PgValue>& params = {});
  // COPY table (columns) FROM STDIN with the rows in text format.
  Status Copy(const std::string& qualified_table, const std::vector<std::string_view>& columns,
              const std::vector<projections::SinkRow>& rows);
  // Whether the connection is still usable (false after the server went away).
  bool Ok() const;

 private:
  explicit PgConnection(pg_conn* c) : conn_(c) {}
  Status Error(std::string_view what) const;
  pg_conn* conn_;
};

// A PostgreSQL identifier in double quotes ("my schema" -> "\"my schema\"").
std::string QuoteIdent(std::string_view name);
// Appends a value in COPY text format (\N for NULL; \\, \t, \n, \r escaped).
void AppendCopyValue(std::string& out, const PgValue& v);

}  // namespace relais::sink
