// relais::Engine: the event log of one data directory.
//
//   auto engine = Engine::Open({.data_dir = "relais-data"});
//   AppendOutcome out = (*engine)->Append(json_text, AppendOptions{});
//
// Thread-safety: every method may be called from any thread. Appends go to a
// single writer thread that judges requests in arrival order and commits them
// in groups: one synced RocksDB write acknowledges every request of the group
// (group commit), so durable throughput grows with the number of concurrent
// appenders. Reads never block on the writer.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/event.h"
#include "relais/json_writer.h"
#include "relais/status.h"
#include "relais/types.h"

namespace relais {

// Internal storage hooks (engine/src/log/file_system.h): tests put a
// fault-injecting file system under the log and the key store through them.
struct StorageHooks;

// Limits (docs/limits.md). A request beyond them is refused, never truncated.
inline constexpr size_t kRequestBytesMax = 1 << 20;      // one import line / HTTP body
inline constexpr size_t kBatchEventsMax = 1000;          // events in one atomic batch
inline constexpr size_t kEventBytesMax = 64 << 10;       // one stored event
inline constexpr int64_t kStreamEventsMax = 100000;      // events in one stream
inline constexpr size_t kWriterQueueMax = 4096;          // requests waiting for the writer

// Injected clock: the engine stamps recordedAt from it (TigerBeetle-style
// injected time, so tests and replays are deterministic).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() = 0;
};
std::shared_ptr<Clock> SystemClock();

struct Options {
  std::string data_dir = "relais-data";
  // Open without the writer and without taking the directory's lock, to read
  // while another process (a server, an import) holds it. Default: false.
  bool read_only = false;
  // Create the directory if missing. Default: true (ignored when read_only).
  bool create_if_missing = true;
  std::shared_ptr<Clock> clock;  // Default: SystemClock()
  // Source of the per-household data keys; default: libsodium's CSPRNG.
  // Tests inject a deterministic one to pin stored bytes.
  std::function<void(uint8_t* key32)> key_generator;
  // Default: null (the OS's file system). Tests only.
  std::shared_ptr<StorageHooks> storage;
  // Whether a clean Close writes the record snapshot: every stream's records
  // in a compact form beside the log, so that the next cold process folds
  // reports without decoding the log (docs/on-disk-format.md, "records").
  // Default: true. Tests turn it off to leave a log tail after the point.
  bool write_record_snapshot = true;
  // Tests only: called by Erase between the event's sync and the key's
  // destruction, the window a crash leaves for the next open to complete.
  std::function<void()> after_erasure_event;
  // The installation's name (the checkpoints' origin and key name) when this
  // open creates the signing key; empty: relais/<random UUID>. Ignored once
  // the key exists (the name never changes).
  std::string origin;
  // Called now and then while a writable open builds the Merkle tree of a
  // log written before it existed (size reached, log size). May be empty.
  std::function<void(Position, Position)> tree_progress;
  // Keep the Merkle tree on append. Default: true. false only to measure
  // the tree's cost (bench/): the tree is then built at the next open with it.
  bool merkle_tree = true;
  // Memory for the log's uncompressed blocks, shared by its families: what
  // keeps warm reads (a history, an idempotency check) from decompressing a
  // block for each event. Only the reads a server repeats fill it (point
  // reads, a stream read for a view or a judgement); replay, verify, cold
  // reports and snapshots read past it. Default: 256 MiB.
  size_t block_cache_bytes = size_t{256} << 20;
};

// Who records an event (events.md §1).
struct ActorInfo {
  std::string id = "import";
  std::string role = "admin";
  std::string org = "-";
};

struct AppendOptions {
  // Import: the file may carry `actor` and `recordedAt` (admin migration).
  bool allow_actor_in_body = false;
  bool allow_recorded_at = false;
  // The actor to stamp when the body has none (server: the caller's token).
  ActorInfo actor;
  // Acknowledge only once synced to disk. Bulk imports set false and call
  // Engine::Sync() at the end.
  bool sync = true;
};

// A refusal: a verdict of the contract, not an engine error.
struct Refusal {
  std::string kind;  // "malformed" | "conflict" | "rule"
  std::string code;
  std::string message;
  std::optional<std::string> id;
  std::optional<StreamVersion> current_version;  // for version_conflict
};

struct AppendedEvent {
  std::string id;
  Position position = 0;
  StreamVersion version = 0;
  bool duplicate = false;
};

struct AppendOutcome {
  enum class Kind { kAccepted, kDuplicate, kRefused, kError };
  Kind kind = Kind::kError;
  std::vector<AppendedEvent> results;  // kAccepted / kDuplicate
  Refusal refusal;                     // kRefused
  Status error;                        // kError: the engine failed (I/O...)
};

struct Head {
  Position position = 0;  // 0 for an empty log
  std::string hash;       // hex; 64 zeros for an empty log
  Timestamp recorded_at;
};

// One stored event, decoded, with personal data (when its key still exists).
struct StoredEventView {
  EventRecord record;
  Subject subject;
  ActorInfo actor;
  std::string hash;       // hex
  std::string prev_hash;  // hex
  std::string data_json;  // the event's `data` object as recorded
  // The event had personal fields and they are gone: its household was
  // erased (lifecycle.md §1). `data_json` then holds none of them (absent,
  // never null), and views print `"personalDataErased": true`.
  bool personal_data_erased = false;
};

// Why a household's personal data is erased (PersonalDataErased.reason).
enum class ErasureReason { kSubjectRequest, kRetentionExpired, kLegalObligation, kOther };
// "subject_request", ... (the contract's names) and back; nullopt: unknown.
std::string_view ErasureReasonName(ErasureReason r);
std::optional<ErasureReason> ErasureReasonFromName(std::string_view name);

// One line of the erasure register (`relais erasures`, lifecycle.md §1).
struct ErasureEntry {
  Subject subject;
  std::string id;  // the PersonalDataErased event's id
  Position position = 0;
  Timestamp recorded_at;
  ErasureReason reason = ErasureReason::kOther;
};

// Where a backup stands: the last position it holds and that event's hash.
struct BackupPoint {
  Position position = 0;
  std::string head;  // hex; 64 zeros for an empty log
};

// RocksDB's own figures for the log's store (DIR/log), summed over its
// column families: what an operator watches (GET /metrics). Counters count
// since the open.
struct StorageStats {
  int64_t wal_syncs = 0;                 // write-ahead log fsyncs (WAL_FILE_SYNCED)
  int64_t wal_bytes = 0;                 // bytes written to the WAL (WAL_FILE_BYTES)
  int64_t write_stall_micros = 0;        // writes held by RocksDB's stalls (STALL_MICROS)
  int64_t write_stopped = 0;             // 1 while writes are stopped (rocksdb.is-write-stopped)
  int64_t compaction_pending = 0;        // families with a compaction pending
  int64_t pending_compaction_bytes = 0;  // estimate of bytes compaction must rewrite
  int64_t running_compactions = 0;
  int64_t sst_bytes = 0;       // every SST file, obsolete ones awaiting deletion included
  int64_t live_sst_bytes = 0;  // the SST files of the current version
  int64_t memtable_bytes = 0;
  int64_t flushed_bytes = 0;    // bytes written by flushes (FLUSH_WRITE_BYTES)
  int64_t compacted_bytes = 0;  // bytes written by compactions (COMPACT_WRITE_BYTES)
  int64_t block_cache_bytes = 0;  // blocks held in the block cache (rocksdb.block-cache-usage)
};

// What the engine holds in memory (tests, metrics).
struct EngineStats {
  int64_t cached_streams = 0;
  int64_t cached_events = 0;
  int64_t cached_keys = 0;
  int64_t interned_bytes = 0;
  // Streams read from the store into the stream cache since the open.
  int64_t stream_loads = 0;
  StorageStats storage;
};

// RFC 9162 proofs over the log's Merkle tree (evidence.md §1), hex hashes.
struct InclusionProof {
  Position position = 0;  // 1-based: leaf position - 1
  Position size = 0;
  std::string leaf_hash;  // SHA-256(0x00 || the event's hash)
  std::vector<std::string> hashes;
};
struct ConsistencyProof {
  Position from = 0;
  Position size = 0;
  std::vector<std::string> hashes;
};

struct VerifyReport {
  bool ok = true;
  int64_t events = 0;
  std::string head;
  Position first_bad_position = 0;
  std::string problem;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> Open(const Options& options);
  virtual ~Engine() = default;

  // Parses, judges and (if accepted) durably appends one request: a JSON
  // object or an array (atomic batch). Blocks until acknowledged.
  virtual AppendOutcome Append(std::string_view request, const AppendOptions& options) = 0;
  // The same, returning at once; results come in submission order.
  virtual std::future<AppendOutcome> AppendAsync(std::string request,
                                                 const AppendOptions& options) = 0;
  // Several requests at once: parsed here, queued together with one wake-up
  // of the writer (bulk imports). Results in order, one future per request.
  virtual std::vector<std::future<AppendOutcome>> AppendManyAsync(std::vector<std::string> requests,
                                                                  const AppendOptions& options) = 0;
  // Erases a household's personal data (lifecycle.md §1): appends a
  // PersonalDataErased (new id, synced) recorded by `actor`, whose
  // effectiveDate is `effective_date` or else the UTC date of its
  // recordedAt, then destroys the household's key so that, when this
  // returns, no file of the data directory holds it. A refusal (not
  // registered, already erased: `household_erased`) comes back as one, like
  // any append's. A failure after the event is durable is an error; the
  // next writable open completes the destruction.
  // `expected_version`, when given, is the erasure's expectedVersion: it is
  // refused version_conflict when the stream has moved on since the caller
  // judged it (retention's view).
  virtual AppendOutcome Erase(const Subject& household, ErasureReason reason, const ActorInfo& actor,
                              std::optional<Date> effective_date = std::nullopt,
                              std::optional<StreamVersion> expected_version = std::nullopt) = 0;
  // The erasure register: every PersonalDataErased of the log, in position order.
  virtual Result<std::vector<ErasureEntry>> Erasures() = 0;
  // Whether the household's stream holds a PersonalDataErased.
  virtual Result<bool> IsErased(const Subject& household) = 0;

  // Makes every acknowledged append durable (after non-synced appends).
  virtual Status Sync() = 0;

  virtual Head GetHead() = 0;
  // Blocks until the log's head is past `after` (an append committed) or
  // `timeout_ms` passed; returns the head position then. For live feeds.
  virtual Position WaitForHead(Position after, int64_t timeout_ms) = 0;
  // The last position whose recordedAt <= t (0 if none).
  virtual Result<Position> PositionAt(Timestamp t) = 0;
  // The chain hash at a position (hex).
  virtual Result<std::string> HashAt(Position p) = 0;

  // Calls `fn` with the committed records of a stream in position order
  // (corrections carry their merged target fact; empty when the stream has no
  // event). The records are only valid during the call; appends to the stream
  // wait until it returns, so keep `fn` short.
  virtual Status ReadStream(const Subject& subject,
                            const std::function<void(const std::vector<EventRecord>&)>& fn) = 0;
  // Bare ids of the households whose events reference a dwelling.
  virtual Result<std::vector<std::string>> HouseholdsReferencing(std::string_view dwelling_id) = 0;
  // Full decoded events of a stream, in position order.
  virtual Result<std::vector<StoredEventView>> ReadStreamEvents(const Subject& subject) = 0;
  // Every stream subject with at least one event, optionally of one kind.
  virtual Result<std::vector<Subject>> ListStreams() = 0;
  // Loads every stream into the cache in one sequential scan of the log (a
  // report or a server start); much faster than loading streams one by one.
  // `progress` (may be empty) gets the position reached now and then.
  virtual Status WarmAll(const std::function<void(Position, Position)>& progress) = 0;
  // Visits every stream of `kind` (from the warm cache, else from the record
  // snapshot one stream at a time, else after a WarmAll) with its
  // records, in no particular order. Streams are split into `shards` by index
  // and this call visits shard `shard`, so that several threads can fold the
  // log in parallel without meeting on a lock.
  virtual Status VisitStreams(
      StreamKind kind, int shard, int shards,
      const std::function<void(const Subject&, const std::vector<EventRecord>&)>& fn) = 0;
  // Visits events in position order, from `from` (>= 1) while `fn` returns true.
  virtual Status Scan(Position from, const std::function<bool(const StoredEventView&)>& fn) = 0;

  // Forgets the record snapshot (it is a cache of the log): the next clean
  // Close rebuilds it from the log. The repair for a snapshot that verify
  // found wrong. Writable engines only.
  virtual Status DropRecordSnapshot() = 0;

  // Recomputes the hash chain and cross-checks every index against the log.
  // `progress` (may be empty) is called now and then with the position reached.
  virtual VerifyReport Verify(const std::function<void(Position, Position)>& progress) = 0;

  // A consistent copy of the log and the key store, taken while writers run:
  // `dest`/log and `dest`/keys (RocksDB checkpoints: hard links to the
  // immutable files, copies of the rest). `dest` must not exist. The key
  // store is copied after the log, so it holds every key the copied events
  // need. Files the tools keep beside them (tokens, journal) are theirs to copy.
  virtual Result<BackupPoint> Backup(const std::string& dest) = 0;

  virtual EngineStats Stats() = 0;

  // ---- evidence (evidence.md): the Merkle tree, checkpoints and proofs.
  // A size, position or from outside [1, head] (or from > size) is
  // InvalidArgument. Without a tree (a directory written before it, opened
  // read-only) or a signing key, FailedPrecondition.
  // The root of the tree of size `size` (0: the empty tree), 32 raw bytes.
  virtual Result<std::string> TreeRoot(Position size) = 0;
  // The signed checkpoint (C2SP tlog-checkpoint) of the tree of size
  // `size`, kept in the list of issued checkpoints.
  virtual Result<std::string> Checkpoint(Position size) = 0;
  // The last checkpoint issued (nullopt: none yet).
  virtual Result<std::optional<std::string>> LatestCheckpoint() = 0;
  // The verifier key line: <name>+<key ID hex>+<base64(0x01 || public key)>.
  virtual Result<std::string> VerifierKey() = 0;
  virtual Result<InclusionProof> ProveInclusion(Position position, Position size) = 0;
  virtual Result<ConsistencyProof> ProveConsistency(Position from, Position size) = 0;
  // The log's value at a position: hash (32 bytes) || the stored bytes.
  virtual Result<std::string> StoredValue(Position position) = 0;

  // Stops the writer after the requests already queued. Idempotent.
  virtual void Close() = 0;
};

}  // namespace relais
