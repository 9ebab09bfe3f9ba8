// The PostgreSQL sink (docs/sink.md): keeps the tables of
// projections/sink_rows.h, monthly_indicators and an events table exactly in
// step with a relais log, catching up and then following it live.
//
//   auto source = sink::DirectorySource("relais-data", 500);
//   sink::Sink s(**source, options);
//   sink::SinkResult r = s.Run(stop);
//
// Exactly once: each transaction replaces the rows of every stream its events
// touched (re-folded from the stream's records known at the transaction's
// last position), the events rows, the whole monthly_indicators, and the
// sink_state row (position, chain hash at that position) together; a sink
// killed anywhere restarts from sink_state's position, and what is committed
// is always the state at exactly that position. A database whose sink_state
// names a position beyond the log, or a hash that is not the log's at that
// position (a database built from another log), or another scope or events
// format, is refused (SinkExit::kMismatch) before anything is written.
//
// Ownership and threads: a Sink and its PostgreSQL connection belong to the
// thread that calls Run(); `applied()` and `stats()` may be read from any
// thread. The LogSource is borrowed and must outlive Run().
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/engine.h"
#include "relais/status.h"

namespace relais::sink {

enum class Scope : uint8_t { kEvaluator, kAdmin };
std::optional<Scope> ScopeFromName(std::string_view name);  // "evaluator" | "admin"
std::string_view ScopeName(Scope s);

enum class EventsFormat : uint8_t { kEnvelope, kCloudEvents };
std::optional<EventsFormat> EventsFormatFromName(
    std::string_view name);  // "envelope" | "cloudevents"
std::string_view EventsFormatName(EventsFormat f);

// Limits (docs/limits.md).
inline constexpr size_t kBatchEventsMax = 1'000'000;
// A transaction also ends after the event whose body takes its events rows
// past this: the rows are built in memory before they are sent.
inline constexpr size_t kBatchBytesMax = 256 << 20;
inline constexpr size_t kSchemaNameBytesMax = 63;  // PostgreSQL's NAMEDATALEN - 1

// Whether `name` may be a schema name: [a-z_][a-z0-9_]{0,62} (no quoting
// games: dashboards type it unquoted).
bool ValidSchemaName(std::string_view name);

// Where the sink reads the log.
class LogSource {
 public:
  virtual ~LogSource() = default;
  // The engine to read from; valid until the next WaitForHead.
  virtual Engine& engine() = 0;
  // Returns the head once it is past `after`, or after about `timeout_ms`.
  // An error ends the sink (FailedPrecondition: the source belongs to
  // another log, SinkExit::kMismatch).
  virtual Result<Position> WaitForHead(Position after, int64_t timeout_ms) = 0;
  // The last position the sink may apply (a replica's events whose origin
  // hash is known).
  virtual Position Head() { return engine().GetHead().position; }
  // The chain hash at `p` that sink_state and the events rows record: the
  // log's own, or for a replica the origin server's.
  virtual Result<std::string> HashAt(Position p) { return engine().HashAt(p); }
  // The origin's event id at `p` when it is not the stored one (a replica's
  // erasure, which its engine records under an id of its own).
  virtual std::optional<std::string> OriginIdAt(Position) { return std::nullopt; }
};

// A running server's own engine (`relais serve --sink-dsn`): borrowed.
std::unique_ptr<LogSource> SharedEngineSource(Engine& engine);
// A data directory no server holds: opened read-only (no lock) and opened
// again every `poll_ms` while caught up, to see what writers appended since.
Result<std::unique_ptr<LogSource>> DirectorySource(const std::string& data_dir, int64_t poll_ms);
// A running server followed through GET /v1/feed (sink/feed_source.h).

struct SinkProgress {
  Position applied = 0;
  Position head = 0;
};

// One committed transaction: its positions and when it committed.
struct BatchCommitted {
  Position from = 0, to = 0;
  std::vector<Timestamp> recorded_at;  // of each event from..to
  Timestamp committed_at;
};

struct SinkOptions {
  std::string dsn;
  Scope scope = Scope::kEvaluator;
  // Default: "relais" (ValidSchemaName).
  std::string schema = "relais";
  EventsFormat events_format = EventsFormat::kEnvelope;
  // Evaluator scope: the installation's pseudonym key (DIR/pseudonym.key),
  // so that the tables join with GET /v1/export. Unused for admin.
  std::string pseudonym_key;
  // The CloudEvents `source`: the installation's name (checkpoint origin).
  std::string source_name;
  // Events per transaction while catching up (and kBatchBytesMax of
  // bodies). Fewer transactions rewrite fewer rows: a stream touched by k
  // transactions is re-folded k times. Default: 500000.
  size_t batch_events = 500000;
  // Stop once caught up (the head when Run started, or later). Default: follow forever.
  bool once = false;
  // Reconnection backoff after a PostgreSQL failure: from 100 ms, doubling, at most this.
  int64_t backoff_max_ms = 5000;
  // Give up (SinkExit::kFailed) after this many PostgreSQL failures in a row;
  // 0: never (a daemon waits for its database). Default: 0.
  int failures_max = 0;
  // How long one wait for new events lasts before `stop` is looked at again.
  int64_t wait_ms = 200;
  // Called on the sink's thread (may be empty).
  std::function<void(const SinkProgress&)> progress;
  std::function<void(const BatchCommitted&)> committed;
  // Messages (reconnections, ...) for stderr or the server's log; default: stderr.
  std::function<void(const std::string&)> log;
};

enum class SinkExit : uint8_t {
  kStopped,   // `stop` was set
  kCaughtUp,  // options.once and the head is applied
  kMismatch,  // the database belongs to another log, scope or format
  kFailed,    // the log could not be read, or another sink holds the schema
};

struct SinkResult {
  SinkExit exit = SinkExit::kFailed;
  Status status;  // why, for kMismatch and kFailed
  Position applied = 0;
};

struct SinkStats {
  int64_t transactions = 0;
  int64_t events = 0;
  int64_t reconnections = 0;
  // Where the time went (bench/sink_bench): rendering and folding a batch
  // from the engine, and its transaction.
  double build_ms = 0, apply_ms = 0;
  int64_t full_series = 0;  // transactions that rebuilt monthly_indicators whole
};

class Sink {
 public:
  Sink(LogSource& source, SinkOptions options);
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  SinkResult Run(const std::atomic<bool>& stop);

  Position applied() const { return applied_.load(); }
  SinkStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<Position> applied_{0};
};

}  // namespace relais::sink
