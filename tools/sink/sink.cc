#include "sink/sink.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "sink/batch.h"
#include "sink/pg.h"

namespace relais::sink {

namespace {

using projections::SinkTable;
using projections::SinkTableId;
using projections::SinkTables;

const std::string kZeroHash(64, '0');

// The schema: every table of sink_rows.h, with its primary key, plus
// sink_state (one row). Idempotent.
std::string SchemaSql(const std::string& s) {
  const std::string q = QuoteIdent(s);
  std::string sql = "CREATE SCHEMA IF NOT EXISTS " + q + ";\n";
  sql +=
      "CREATE TABLE IF NOT EXISTS " + q +
      ".sink_state (id integer PRIMARY KEY CHECK (id = 1), scope text NOT NULL, "
      "events_format text NOT NULL, position bigint NOT NULL, hash text NOT NULL, "
      "first_effective date, series_from date, series_to date, updated_at timestamptz NOT NULL);\n";
  for (const SinkTable& t : SinkTables()) {
    sql += "CREATE TABLE IF NOT EXISTS " + q + "." + std::string(t.name) + " (";
    for (const auto& c : t.columns)
      sql += std::string(c.name) + " " + std::string(c.sql_type) + ", ";
    sql += "PRIMARY KEY (";
    for (size_t i = 0; i < t.key.size(); ++i) sql += (i ? ", " : "") + std::string(t.key[i]);
    sql += "));\n";
  }
  sql += "CREATE INDEX IF NOT EXISTS events_subject ON " + q + ".events (subject, position);\n";
  // The households a report as of d counts, with their territory and track
  // as of d (time-and-indicators.md §3-§4): what every household figure of
  // docs/sink.md starts from.
  sql += "CREATE OR REPLACE FUNCTION " + q +
         ".households_as_of(d date) RETURNS TABLE (household_id text, territory text, track text) "
         "LANGUAGE sql STABLE AS $f$ SELECT h.household_id, "
         "(SELECT t.territory FROM " +
         q +
         ".household_territories t WHERE t.household_id = h.household_id "
         "AND t.from_date <= d ORDER BY t.seq DESC LIMIT 1), "
         "COALESCE((SELECT r.track FROM " +
         q +
         ".referrals r WHERE r.household_id = h.household_id "
         "AND r.referred_on <= d ORDER BY r.seq DESC LIMIT 1), 'unreferred') "
         "FROM " +
         q + ".households h WHERE h.registered AND h.registered_on <= d $f$;\n";
  return sql;
}

// A text[] literal of simple values (ids: [A-Za-z0-9_-] or hex pseudonyms).
std::string ArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::vector<std::string_view> ColumnNames(const SinkTable& t) {
  std::vector<std::string_view> names;
  for (const auto& c : t.columns) names.push_back(c.name);
  return names;
}

// What sink_state holds.
struct StateRow {
  Position position = 0;
  std::string hash;
  SinkPoint point;
};

// monthly_indicators += sign * the household_months of `owners` (all
// households when `owners` is null), `all` being the sum of the three.
// `filter`: "" (every row), or a WHERE clause over household_months.
std::string MonthlyUpdateSql(const std::string& q, int sign, const std::string& filter) {
  static const char* kCounts[] = {
      "supported_access", "supported_maintien", "supported_unreferred",  "arrears_open",
      "move_ins",         "lease_switches",     "evictions_carried_out", "evictions_avoided"};
  std::string set, sums;
  for (const char* c : kCounts) {
    set +=
        std::string(set.empty() ? "" : ", ") + c + " = m." + c + (sign > 0 ? " + d." : " - d.") + c;
    sums += std::string(", sum(") + c + ") AS " + c;
  }
  return "UPDATE " + q + ".monthly_indicators m SET " + set +
         " FROM (SELECT month, coalesce(territory, 'all') AS territory" + sums + " FROM " + q +
         ".household_months" + (filter.empty() ? "" : " WHERE " + filter) +
         " GROUP BY GROUPING SETS ((month, territory), (month))) d WHERE m.month = d.month AND "
         "m.territory = d.territory";
}

}  // namespace

std::optional<Scope> ScopeFromName(std::string_view name) {
  if (name == "evaluator") return Scope::kEvaluator;
  if (name == "admin") return Scope::kAdmin;
  return std::nullopt;
}
std::string_view ScopeName(Scope s) { return s == Scope::kAdmin ? "admin" : "evaluator"; }

std::optional<EventsFormat> EventsFormatFromName(std::string_view name) {
  if (name == "envelope") return EventsFormat::kEnvelope;
  if (name == "cloudevents") return EventsFormat::kCloudEvents;
  return std::nullopt;
}
std::string_view EventsFormatName(EventsFormat f) {
  return f == EventsFormat::kCloudEvents ? "cloudevents" : "envelope";
}

bool ValidSchemaName(std::string_view name) {
  if (name.empty() || name.size() > kSchemaNameBytesMax) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

struct Sink::Impl {
  LogSource& source;
  SinkOptions options;
  BatchContext ctx;
  std::unique_ptr<PgConnection> conn;
  std::string q;  // the quoted schema
  mutable std::mutex stats_mu;
  SinkStats stats;

  void Log(const std::string& m) const {
    if (options.log) {
      options.log(m);
    } else {
      std::fprintf(stderr, "relais sink: %s\n", m.c_str());
    }
  }

  // Connects, creates the schema, takes the schema's advisory lock and reads
  // sink_state. A mismatch is FailedPrecondition (the caller's kMismatch).
  Result<StateRow> Open(Engine& engine) {
    ASSIGN_OR_RETURN(conn, PgConnection::Connect(options.dsn));
    // One sink per schema: two writing the same tables would each find the
    // other's position and refuse, or worse, interleave.
    ASSIGN_OR_RETURN(auto locked, conn->Query("SELECT pg_try_advisory_lock(hashtext($1))",
                                              {"relais.sink." + options.schema}));
    if (locked.empty() || locked[0][0] != "t")
      return Status::Busy("another relais sink is writing the schema " + options.schema);
    RETURN_IF_ERROR(conn->Exec(SchemaSql(options.schema)));
    RETURN_IF_ERROR(
        conn->Query("INSERT INTO " + q +
                        ".sink_state VALUES (1, $1, $2, 0, $3, NULL, NULL, NULL, now()) "
                        "ON CONFLICT (id) DO NOTHING",
                    {std::string(ScopeName(options.scope)),
                     std::string(EventsFormatName(options.events_format)), kZeroHash})
            .status());
    ASSIGN_OR_RETURN(auto rows,
                     conn->Query("SELECT scope, events_format, position, hash, first_effective, "
                                 "series_from, series_to FROM " +
                                 q + ".sink_state WHERE id = 1"));
    if (rows.size() != 1 || !rows[0][2] || !rows[0][3])
      return Status::Corruption("sink_state of schema " + options.schema + " is unreadable");
    const auto& r = rows[0];
    if (*r[0] != ScopeName(options.scope))
      return Status::FailedPrecondition("the schema " + options.schema + " holds the " + *r[0] +
                                        " scope, not " + std::string(ScopeName(options.scope)) +
                                        ": use another --schema");
    if (*r[1] != EventsFormatName(options.events_format))
      return Status::FailedPrecondition(
          "the schema " + options.schema + "'s events table is in the " + *r[1] + " format, not " +
          std::string(EventsFormatName(options.events_format)) + ": use another --schema");
    StateRow st;
    st.position = std::stoull(*r[2]);
    st.hash = *r[3];
    if (r[4]) st.point.first_effective = ParseDate(*r[4]);
    if (r[5]) st.point.series_from = ParseDate(*r[5]);
    if (r[6]) st.point.series_to = ParseDate(*r[6]);
    Position head = source.Head();
    if (st.position > head)
      return Status::FailedPrecondition("the database (schema " + options.schema +
                                        ") is at position " + std::to_string(st.position) +
                                        " but this log ends at " + std::to_string(head) +
                                        ": it was built from another log; use an empty schema");
    std::string hash = kZeroHash;
    if (st.position > 0) {
      ASSIGN_OR_RETURN(hash, source.HashAt(st.position));
    }
    if (hash != st.hash)
      return Status::FailedPrecondition(
          "the database (schema " + options.schema + ") was built from another log: at position " +
          std::to_string(st.position) + " it holds the chain hash " + st.hash + ", this log has " +
          hash + "; use an empty schema");
    return st;
  }

  // One transaction: the batch's rows replace its owners' rows, and
  // sink_state moves to batch.to, or nothing happens at all.
  Status Apply(const Batch& b, Position expected) {
    RETURN_IF_ERROR(conn->Exec("BEGIN"));
    auto fail = [&](Status st) {
      if (conn->Ok()) (void)conn->Exec("ROLLBACK");
      return st;
    };
    auto cur = conn->Query("SELECT position FROM " + q + ".sink_state WHERE id = 1 FOR UPDATE");
    if (!cur.ok()) return fail(cur.status());
    if (cur->size() != 1 || (*cur)[0][0] != std::to_string(expected))
      return fail(Status::IoError("sink_state moved under the sink (another writer?)"));
    // The touched households' old share of the series goes first...
    auto households = b.owners.find(StreamKind::kHousehold);
    const std::string owners =
        households == b.owners.end() ? std::string("{}") : ArrayLiteral(households->second);
    if (!b.full_series) {
      Status st =
          conn->Query(MonthlyUpdateSql(q, -1, "household_id = ANY($1::text[])"), {owners}).status();
      if (!st.ok()) return fail(st);
    } else if (Status st = conn->Exec("DELETE FROM " + q + ".household_months"); !st.ok()) {
      return fail(st);
    }
    for (const SinkTable& t : SinkTables()) {
      if (!t.owner) continue;
      if (t.id == SinkTableId::kHouseholdMonths && b.full_series) continue;  // emptied above
      auto it = b.owners.find(*t.owner);
      if (it == b.owners.end()) continue;
      Status st = conn->Query("DELETE FROM " + q + "." + std::string(t.name) + " WHERE " +
                                  std::string(t.columns[0].name) + " = ANY($1::text[])",
                              {ArrayLiteral(it->second)})
                      .status();
      if (!st.ok()) return fail(st);
    }
    if (!b.rerendered_subjects.empty()) {
      Status st = conn->Query("DELETE FROM " + q +
                                  ".events WHERE subject = ANY($1::text[]) AND position < $2",
                              {ArrayLiteral(b.rerendered_subjects), std::to_string(b.from)})
                      .status();
      if (!st.ok()) return fail(st);
    }
    for (const SinkTable& t : SinkTables()) {
      if (t.id == SinkTableId::kMonthlyIndicators) continue;
      Status st = conn->Copy(q + "." + std::string(t.name), ColumnNames(t), b.rows[t.id]);
      if (!st.ok()) return fail(st);
    }
    const SinkTable& ev = projections::SinkTableOf(SinkTableId::kEvents);
    if (Status st = conn->Copy(q + ".events", ColumnNames(ev), b.rerendered_events); !st.ok())
      return fail(st);
    // ...and their new share comes in; a new set of months starts from zeros
    // and every household's share.
    if (b.full_series) {
      if (Status st = conn->Exec("DELETE FROM " + q + ".monthly_indicators"); !st.ok())
        return fail(st);
    }
    const SinkTable& mi = projections::SinkTableOf(SinkTableId::kMonthlyIndicators);
    if (Status st = conn->Copy(q + ".monthly_indicators", ColumnNames(mi), b.monthly); !st.ok())
      return fail(st);
    if (b.full_series) {
      if (Status st = conn->Exec(MonthlyUpdateSql(q, +1, "")); !st.ok()) return fail(st);
    } else {
      // The touched households' rows (by the key's index: an OR with the
      // months would scan the table), then the others' rows of the added months.
      Status st =
          conn->Query(MonthlyUpdateSql(q, +1, "household_id = ANY($1::text[])"), {owners}).status();
      if (!st.ok()) return fail(st);
      if (!b.new_months.empty()) {
        st = conn->Query(
                     MonthlyUpdateSql(
                         q, +1, "month = ANY($2::text[]) AND NOT household_id = ANY($1::text[])"),
                     {owners, ArrayLiteral(b.new_months)})
                 .status();
        if (!st.ok()) return fail(st);
      }
    }
    Status st =
        conn->Query("UPDATE " + q +
                        ".sink_state SET position = $1, hash = $2, first_effective = $3, "
                        "series_from = $4, series_to = $5, updated_at = now() WHERE id = 1",
                    {std::to_string(b.to), b.hash,
                     b.first_effective ? std::optional<std::string>(FormatDate(*b.first_effective))
                                       : std::nullopt,
                     FormatDate(b.series_from), FormatDate(b.series_to)})
            .status();
    if (!st.ok()) return fail(st);
    return conn->Exec("COMMIT");
  }
};

Sink::Sink(LogSource& source, SinkOptions options)
    : impl_(new Impl{source, std::move(options), {}, {}, {}, {}, {}}) {
  impl_->ctx.scope = impl_->options.scope;
  impl_->ctx.events_format = impl_->options.events_format;
  impl_->ctx.pseudonym_key = impl_->options.pseudonym_key;
  impl_->ctx.source_name = impl_->options.source_name;
  impl_->ctx.source = &source;
  impl_->q = QuoteIdent(impl_->options.schema);
}

Sink::~Sink() = default;

SinkStats Sink::stats() const {
  std::lock_guard<std::mutex> l(impl_->stats_mu);
  return impl_->stats;
}

SinkResult Sink::Run(const std::atomic<bool>& stop) {
  Impl& s = *impl_;
  SinkResult result;
  if (!ValidSchemaName(s.options.schema)) {
    result.status =
        Status::InvalidArgument("--schema: '" + s.options.schema + "' is not [a-z_][a-z0-9_]*");
    return result;
  }
  const size_t batch_max = std::max<size_t>(1, std::min(s.options.batch_events, kBatchEventsMax));
  int64_t backoff_ms = 100;
  std::optional<StateRow> state;  // known while connected
  constexpr int kBusyAttemptsMax = 10;
  constexpr Position kWarmAfterEvents = 10000;
  const Engine* warmed = nullptr;
  int busy_attempts = 0;
  auto sleep_backoff = [&]() {
    for (int64_t waited = 0; waited < backoff_ms && !stop.load(); waited += 50)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    backoff_ms = std::min(backoff_ms * 2, s.options.backoff_max_ms);
  };
  int failures = 0;
  auto lost = [&](const Status& st) {
    ++failures;
    s.Log(st.message() + "; reconnecting in " + std::to_string(backoff_ms) + " ms");
    s.conn.reset();
    state.reset();
    {
      std::lock_guard<std::mutex> l(s.stats_mu);
      ++s.stats.reconnections;
    }
    sleep_backoff();
  };
  while (!stop.load()) {
    Engine& engine = s.source.engine();
    if (!state) {
      auto opened = s.Open(engine);
      if (!opened.ok()) {
        const Status& st = opened.status();
        if (st.code() == StatusCode::kFailedPrecondition || st.code() == StatusCode::kCorruption) {
          result.exit = SinkExit::kMismatch;
          result.status = st;
          result.applied = applied_.load();
          return result;
        }
        // Another sink's lock: a killed sink's session may take a moment to
        // go; a live one keeps it, and this sink gives up after a while.
        if (st.code() == StatusCode::kBusy && ++busy_attempts > kBusyAttemptsMax) {
          result.exit = SinkExit::kFailed;
          result.status = st;
          return result;
        }
        if (s.options.failures_max > 0 && failures + 1 >= s.options.failures_max) {
          result.exit = SinkExit::kFailed;
          result.status = st;
          return result;
        }
        lost(st);
        continue;
      }
      state = *opened;
      busy_attempts = 0;
      applied_.store(state->position);
    }
    const Position head = s.source.Head();
    if (state->position >= head) {
      if (s.options.progress) s.options.progress({state->position, head});
      if (s.options.once) {
        result.exit = SinkExit::kCaughtUp;
        result.applied = state->position;
        return result;
      }
      auto next = s.source.WaitForHead(state->position, s.options.wait_ms);
      if (!next.ok()) {
        if (next.status().code() == StatusCode::kFailedPrecondition)
          result.exit = SinkExit::kMismatch;
        result.status = next.status();
        result.applied = state->position;
        return result;
      }
      continue;
    }
    // Far behind (a catch-up): load every stream in one sequential scan of
    // the log rather than one stream at a time as batches touch them.
    if (head - state->position > kWarmAfterEvents && &engine != warmed) {
      if (Status st = engine.WarmAll({}); !st.ok()) {
        result.status = st;
        result.applied = state->position;
        return result;
      }
      warmed = &engine;
    }
    const Position from = state->position + 1;
    const Position to = std::min<Position>(head, state->position + batch_max);
    auto t0 = std::chrono::steady_clock::now();
    auto batch = BuildBatch(engine, s.ctx, from, to, state->point, kBatchBytesMax, stop);
    auto t1 = std::chrono::steady_clock::now();
    if (!batch.ok() && stop.load()) break;  // abandoned: nothing of it was sent
    if (!batch.ok()) {
      result.status = batch.status();
      result.applied = state->position;
      return result;
    }
    const Position to_applied = batch->to;
    Status st = s.Apply(*batch, state->position);
    auto t2 = std::chrono::steady_clock::now();
    if (!st.ok()) {
      if (s.options.failures_max > 0 && failures + 1 >= s.options.failures_max) {
        result.status = st;
        result.applied = state->position;
        return result;
      }
      lost(st);
      continue;
    }
    backoff_ms = 100;
    failures = 0;
    state->position = to_applied;
    state->hash = batch->hash;
    state->point = {batch->first_effective, batch->series_from, batch->series_to};
    applied_.store(to_applied);
    {
      std::lock_guard<std::mutex> l(s.stats_mu);
      ++s.stats.transactions;
      s.stats.events += static_cast<int64_t>(to_applied - from + 1);
      s.stats.build_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
      s.stats.apply_ms += std::chrono::duration<double, std::milli>(t2 - t1).count();
      s.stats.full_series += batch->full_series;
    }
    if (s.options.committed) {
      BatchCommitted c{from, to_applied, std::move(batch->recorded_at), SystemClock()->Now()};
      s.options.committed(c);
    }
    if (s.options.progress) s.options.progress({to_applied, head});
  }
  result.exit = SinkExit::kStopped;
  result.applied = applied_.load();
  return result;
}

}  // namespace relais::sink
