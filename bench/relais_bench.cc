// relais_bench: relais against the limit of its own storage, in one run.
//
// In the spirit of LevelDB's db_bench: one binary, named workloads, a fixed
// seed, one result line per workload and a markdown table. Every workload
// runs relais and, in the same run, a raw RocksDB baseline writing the same
// events as plain key/values (an event key by position plus a (stream,
// version) index key, one WriteBatch per append, the same sync setting), with
// no validation, hashing or projections. relais / raw is the figure to track.
// W1-W4 also run, in the same runs, against a PostgreSQL 15 event table in a
// private cluster the bench starts and removes (pg_cluster.h, pg_baseline.h);
// without PostgreSQL (or libpq at build time) the bench says so and leaves
// the postgres column empty.
//
//   relais_bench [--quick] [--events N] [--runs R] [--json FILE] [--dir DIR]
//                [--workloads W1,W2a,W2b,W3,W4,W5,W6] [--no-postgres]
//                [--pg-payload jsonb|text]
//
// W6 runs the real `relais serve` (RELAIS_BIN, else tools/relais beside the
// bench's own build directory) on loopback and drives it with 32 keep-alive
// Beast connections: status reads, then durable appends.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "bench_line.h"
#include "generate/generator.h"
#include "relais/domain.h"
#include "relais/engine.h"
#include "relais/json_writer.h"
#include "relais/projections/report.h"
#include "relais/projections/views.h"
#ifdef RELAIS_BENCH_POSTGRES
#include "pg_baseline.h"
#include "pg_cluster.h"
#endif

extern char** environ;

namespace relais::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

int64_t PeakRssBytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<int64_t>(u.ru_maxrss) * 1024;
}

int64_t DirBytes(const std::string& dir) {
  int64_t total = 0;
  std::error_code ec;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) total += static_cast<int64_t>(e.file_size(ec));
  return total;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  return v[i];
}

double Median(std::vector<double> v) { return Percentile(std::move(v), 0.5); }

// The table-file bytes of each column family of the RocksDB in `dir`
// (rocksdb.total-sst-files-size; read-only open, after a clean close, so
// every family is flushed): where relais's bytes per event go.
std::map<std::string, int64_t> FamilySstBytes(const std::string& dir) {
  std::map<std::string, int64_t> out;
  std::vector<std::string> names;
  if (!rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names).ok()) return out;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir, cfs, &handles, &db).ok()) return out;
  for (size_t i = 0; i < handles.size(); ++i) {
    uint64_t v = 0;
    if (db->GetIntProperty(handles[i], "rocksdb.total-sst-files-size", &v))
      out[names[i]] = static_cast<int64_t>(v);
    db->DestroyColumnFamilyHandle(handles[i]);
  }
  delete db;
  return out;
}

struct Result {
  std::string name;
  double relais_ops = 0, raw_ops = 0;  // per second; raw 0 when none
  double p50_ms = 0, p99_ms = 0, raw_p99_ms = 0;
  double bytes_per_event = 0, raw_bytes_per_event = 0;
  // The record snapshot (the "records" family) is counted apart, like the
  // Merkle tree will be: it is a cache of the log, not the log.
  double records_bytes_per_event = 0;
  double tree_bytes_per_event = 0;  // the Merkle tree's family, apart from bytes_per_event
  std::map<std::string, double> family_bytes_per_event{};  // sst bytes per family / events
  int64_t peak_rss = 0;
  int64_t events = 0;
  std::string note;
  // The PostgreSQL baseline (W1-W4), when it ran: ops/s (0 = did not run).
  double pg_ops = 0, pg_p50_ms = 0, pg_p99_ms = 0, pg_bytes_per_event = 0;
};

std::vector<Line> Generate(int64_t events, uint64_t seed) {
  tools::GenOptions o;
  o.seed = seed;
  o.target_events = events;
  std::stringstream ss;
  tools::Generate(o, ss);
  std::vector<Line> lines;
  std::string l;
  while (std::getline(ss, l)) {
    Line line;
    size_t at = 0;
    while ((at = l.find("\"subject\":", at)) != std::string::npos) {
      size_t q1 = l.find('"', at + 10), q2 = l.find('"', q1 + 1);
      line.subjects.push_back(l.substr(q1 + 1, q2 - q1 - 1));
      at = q2;
    }
    line.json = std::move(l);
    lines.push_back(std::move(line));
  }
  return lines;
}

// ------------------------------------------------------------------- raw

class RawStore {
 public:
  explicit RawStore(const std::string& dir) {
    std::filesystem::remove_all(dir);
    rocksdb::Options o;
    o.create_if_missing = true;
    o.max_background_jobs = 2;
    o.write_buffer_size = 64 << 20;
    o.compression = rocksdb::kLZ4Compression;
    o.bottommost_compression = rocksdb::kZSTD;
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(o, dir, &db);
    if (!s.ok()) {
      std::fprintf(stderr, "raw open: %s\n", s.ToString().c_str());
      std::exit(1);
    }
    db_.reset(db);
  }
  // Appends one line's events: event keys by position, (stream, version) index.
  void Append(const Line& line, bool sync) {
    rocksdb::WriteBatch b;
    Put(line, &b);
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    db_->Write(wo, &b);
  }
  void Put(const Line& line, rocksdb::WriteBatch* b) {
    for (const std::string& subject : line.subjects) {
      uint64_t p = ++position_;
      char key[9] = {'e'};
      for (int i = 0; i < 8; ++i) key[1 + i] = static_cast<char>(p >> (56 - 8 * i));
      b->Put(rocksdb::Slice(key, 9), line.json);
      std::string skey = "s" + subject;
      skey.push_back('\0');
      uint64_t v = versions_[subject]++;
      for (int i = 0; i < 8; ++i) skey.push_back(static_cast<char>(v >> (56 - 8 * i)));
      b->Put(skey, rocksdb::Slice(key, 9));
    }
  }
  void Sync() { db_->FlushWAL(true); }
  rocksdb::DB* db() { return db_.get(); }
  uint64_t positions() const { return position_; }
  std::atomic<uint64_t> position_{0};

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::map<std::string, uint64_t> versions_;
};

// ------------------------------------------------------------- workloads

struct Context {
  std::string dir;
  std::vector<Line> lines;
  int64_t events = 0;
  int runs = 3;
  bool quick = false;
#ifdef RELAIS_BENCH_POSTGRES
  PgBaseline* pg = nullptr;  // null: the postgres column is skipped
#endif
};

#ifdef RELAIS_BENCH_POSTGRES
template <typename T>
T PgOrDie(relais::Result<T> r) {
  if (!r.ok()) {
    // std::exit runs the cluster's atexit hook: nothing is left behind.
    std::fprintf(stderr, "%s\n", r.status().message().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

// W3 and W4 read W1's table; when W1 is not in this run, load it untimed.
void PgEnsureLoaded(Context& c) {
  if (c.pg != nullptr && !c.pg->loaded()) (void)PgOrDie(c.pg->Import(c.lines, 256));
}
#endif

// --no-tree: appends without the Merkle tree, to measure what it costs.
bool g_merkle_tree = true;

std::unique_ptr<Engine> OpenRelais(const std::string& dir, bool fresh) {
  if (fresh) std::filesystem::remove_all(dir);
  Options o;
  o.data_dir = dir;
  o.merkle_tree = g_merkle_tree;
  auto e = Engine::Open(o);
  if (!e.ok()) {
    std::fprintf(stderr, "open: %s\n", e.status().message().c_str());
    std::exit(1);
  }
  return std::move(*e);
}

Result W1(Context& c) {
  Result r{"W1 bulk import"};
  std::vector<double> relais_rates, raw_rates, pg_rates;
  for (int run = 0; run < c.runs; ++run) {
    std::string dir = c.dir + "/relais-w1";
    auto engine = OpenRelais(dir, true);
    AppendOptions opt;
    opt.allow_recorded_at = opt.allow_actor_in_body = true;
    opt.sync = false;
    auto t0 = Clock::now();
    std::vector<std::future<AppendOutcome>> window;
    int64_t appended = 0;
    for (size_t i = 0; i < c.lines.size(); i += 256) {
      std::vector<std::string> chunk;
      for (size_t k = i; k < std::min(c.lines.size(), i + 256); ++k) chunk.push_back(c.lines[k].json);
      for (auto& f : engine->AppendManyAsync(std::move(chunk), opt)) window.push_back(std::move(f));
      if (window.size() > 8192) {
        for (auto& f : window) appended += static_cast<int64_t>(f.get().results.size());
        window.clear();
      }
    }
    for (auto& f : window) appended += static_cast<int64_t>(f.get().results.size());
    (void)engine->Sync();
    auto t1 = Clock::now();
    relais_rates.push_back(appended / Seconds(t0, t1));
    // Streams the writer read back from the store (each new one once, found
    // empty; more means it judged from the store what it had in memory).
    r.note = "stream loads " + std::to_string(engine->Stats().stream_loads);
    engine->Close();
    engine.reset();
    int64_t tree_bytes = 0;
    const int64_t records = [&] {
      auto fam = FamilySstBytes(dir + "/log");
      r.family_bytes_per_event.clear();
      for (const auto& [name, bytes] : fam)
        r.family_bytes_per_event[name] = static_cast<double>(bytes) / appended;
      tree_bytes = fam.count("tree") ? fam["tree"] : int64_t{0};
      return fam.count("records") ? fam["records"] : int64_t{0};
    }();
    // The Merkle tree is counted apart too (evidence), like the records cache.
    r.tree_bytes_per_event = static_cast<double>(tree_bytes) / appended;
    r.records_bytes_per_event = static_cast<double>(records) / appended;
    r.bytes_per_event = static_cast<double>(DirBytes(dir) - records - tree_bytes) / appended;
    r.events = appended;

    RawStore raw(c.dir + "/raw-w1");
    t0 = Clock::now();
    for (const Line& l : c.lines) raw.Append(l, false);
    raw.Sync();
    t1 = Clock::now();
    raw_rates.push_back(raw.positions() / Seconds(t0, t1));
    raw.db()->Flush(rocksdb::FlushOptions());
    r.raw_bytes_per_event = static_cast<double>(DirBytes(c.dir + "/raw-w1")) / raw.positions();
#ifdef RELAIS_BENCH_POSTGRES
    // The same lines in batches of 256 (relais's AppendManyAsync chunk), each
    // committed without waiting, the last one durable (pg_baseline.h).
    if (c.pg != nullptr) {
      pg_rates.push_back(PgOrDie(c.pg->Import(c.lines, 256)));
      r.pg_bytes_per_event = static_cast<double>(PgOrDie(c.pg->TableBytes())) / c.pg->loaded_events();
    }
#endif
  }
  r.relais_ops = Median(relais_rates);
  r.raw_ops = Median(raw_rates);
  r.pg_ops = Median(pg_rates);
  r.peak_rss = PeakRssBytes();
  return r;
}

// A durable append of a management event on household `h` (registered
// beforehand: a registration also creates the household's data key, which
// is not what W2 measures).
std::string Difficulty(int64_t n, int h) {
  char id[40];
  std::snprintf(id, sizeof id, "d0000000-0000-4000-8000-%012llx", static_cast<unsigned long long>(n));
  return std::string("{\"id\":\"") + id + "\",\"type\":\"DifficultyReported\",\"subject\":\"household/B" +
         std::to_string(h) + "\",\"effectiveDate\":\"2024-01-02\",\"data\":{\"category\":\"isolation\",\"severity\":2}}";
}

std::string NewHousehold(int64_t n) {
  char id[40];
  std::snprintf(id, sizeof id, "b0000000-0000-4000-8000-%012llx", static_cast<unsigned long long>(n));
  return std::string("{\"id\":\"") + id + "\",\"type\":\"HouseholdRegistered\",\"subject\":\"household/B" +
         std::to_string(n) +
         "\",\"effectiveDate\":\"2024-01-01\",\"data\":{\"territory\":\"lille\",\"commune\":\"Roubaix\","
         "\"adults\":1,\"children\":2,\"headOfHousehold\":{\"name\":\"Bench\",\"birthDate\":\"1980-01-01\"}}}";
}

Result Durable(Context& c, int writers) {
  Result r{writers == 1 ? "W2a durable appends, 1 writer" : "W2b durable appends, " + std::to_string(writers) + " writers"};
  const int per_writer = (c.quick ? 400 : 1500) / writers * (writers == 1 ? 1 : 4);
  std::vector<double> relais_rates, raw_rates, lat, pg_rates, pg_lat;
  std::atomic<int64_t> next{writers * 1000000};
  for (int run = 0; run < c.runs; ++run) {
    auto engine = OpenRelais(c.dir + "/relais-w2", true);
    for (int w = 0; w < writers; ++w) engine->Append(NewHousehold(w), AppendOptions{});
    std::vector<std::vector<double>> lats(writers);
    auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
      threads.emplace_back([&, w] {
        AppendOptions durable;
        for (int i = 0; i < per_writer; ++i) {
          auto a = Clock::now();
          auto o = engine->Append(Difficulty(next++, w), durable);
          lats[w].push_back(Seconds(a, Clock::now()) * 1000);
          if (o.kind != AppendOutcome::Kind::kAccepted) std::abort();
        }
      });
    for (auto& t : threads) t.join();
    auto t1 = Clock::now();
    relais_rates.push_back(writers * per_writer / Seconds(t0, t1));
    for (auto& v : lats) lat.insert(lat.end(), v.begin(), v.end());
    engine->Close();

    RawStore raw(c.dir + "/raw-w2");
    threads.clear();
    t0 = Clock::now();
    for (int w = 0; w < writers; ++w)
      threads.emplace_back([&, w] {
        for (int i = 0; i < per_writer; ++i) {
          Line l{Difficulty(w * 1000000 + i, w), {"household/B" + std::to_string(w)}};
          rocksdb::WriteBatch b;
          uint64_t p = ++raw.position_;
          char key[9] = {'e'};
          for (int k = 0; k < 8; ++k) key[1 + k] = static_cast<char>(p >> (56 - 8 * k));
          b.Put(rocksdb::Slice(key, 9), l.json);
          std::string skey = "s" + l.subjects[0];
          skey.push_back('\0');
          for (int k = 0; k < 8; ++k) skey.push_back(static_cast<char>(i >> (56 - 8 * k)));
          b.Put(skey, rocksdb::Slice(key, 9));
          rocksdb::WriteOptions wo;
          wo.sync = true;
          raw.db()->Write(wo, &b);
        }
      });
    for (auto& t : threads) t.join();
    t1 = Clock::now();
    raw_rates.push_back(writers * per_writer / Seconds(t0, t1));
#ifdef RELAIS_BENCH_POSTGRES
    // The same appends, one expected-version INSERT each, autocommit with
    // synchronous_commit=on, one connection per writer.
    if (c.pg != nullptr) {
      PgLatencies p = PgOrDie(c.pg->DurableAppends(
          writers, per_writer, [](int w) { return NewHousehold(w); },
          [](int w, int i) { return Difficulty(w * 1000000 + i, w); }));
      pg_rates.push_back(p.ops_per_second);
      pg_lat.insert(pg_lat.end(), p.ms.begin(), p.ms.end());
    }
#endif
  }
  r.relais_ops = Median(relais_rates);
  r.raw_ops = Median(raw_rates);
  r.pg_ops = Median(pg_rates);
  r.pg_p50_ms = Percentile(pg_lat, 0.5);
  r.pg_p99_ms = Percentile(pg_lat, 0.99);
  r.p50_ms = Percentile(lat, 0.5);
  r.p99_ms = Percentile(lat, 0.99);
  r.events = writers * per_writer;
  r.peak_rss = PeakRssBytes();
  return r;
}

// W3: open from cold and fold every stream into its status.
Result W3(Context& c) {
  Result r{"W3 replay into status"};
  std::vector<double> relais_rates, raw_rates, pg_rates;
#ifdef RELAIS_BENCH_POSTGRES
  PgEnsureLoaded(c);
#endif
  for (int run = 0; run < c.runs; ++run) {
    auto t0 = Clock::now();
    auto engine = OpenRelais(c.dir + "/relais-w1", false);
    (void)engine->WarmAll({});
    r.note = "of which loading " + std::to_string(Seconds(t0, Clock::now()) * 1000) + " ms";
    auto subjects = engine->ListStreams();
    int64_t events = 0, registered = 0;
    for (const Subject& s : *subjects) {
      (void)engine->ReadStream(s, [&](const std::vector<EventRecord>& records) {
        std::vector<const EventRecord*> ptrs;
        for (const auto& x : records) ptrs.push_back(&x);
        events += static_cast<int64_t>(records.size());
        if (s.kind != StreamKind::kHousehold) return;
        HouseholdState st;
        for (const auto& e : BuildTimeline(ptrs, UINT64_MAX, std::nullopt)) EvolveHousehold(st, *e.fact, e.effective);
        registered += st.registered;
      });
    }
    auto t1 = Clock::now();
    relais_rates.push_back(events / Seconds(t0, t1));
    r.events = events;
    engine.reset();

    rocksdb::DB* db = nullptr;
    rocksdb::Options o;
    rocksdb::DB::OpenForReadOnly(o, c.dir + "/raw-w1", &db);
    std::unique_ptr<rocksdb::DB> raw(db);
    t0 = Clock::now();
    int64_t n = 0, bytes = 0;
    std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek("e"); it->Valid() && it->key()[0] == 'e'; it->Next()) {
      ++n;
      bytes += static_cast<int64_t>(it->value().size());
    }
    t1 = Clock::now();
    raw_rates.push_back(n / Seconds(t0, t1));
#ifdef RELAIS_BENCH_POSTGRES
    // Keyset pages of 10,000 rows over the whole table, every payload read.
    if (c.pg != nullptr) {
      int64_t pg_events = 0;
      pg_rates.push_back(PgOrDie(c.pg->Scan(10000, &pg_events)));
    }
#endif
  }
  r.relais_ops = Median(relais_rates);
  r.raw_ops = Median(raw_rates);
  r.pg_ops = Median(pg_rates);
  r.peak_rss = PeakRssBytes();
  return r;
}

// W4: one household's status and one stream's history, warm. PostgreSQL's
// op is a bare stream read (its history): `history` gets relais's history
// alone against it, the like-for-like figure (docs/performance.md).
Result W4(Context& c, Result* history) {
  Result r{"W4 status + history read"};
  *history = Result{"W4h history read only"};
  auto engine = OpenRelais(c.dir + "/relais-w1", false);
  auto subjects = *engine->ListStreams();
  std::vector<Subject> households;
  for (auto& s : subjects)
    if (s.kind == StreamKind::kHousehold) households.push_back(s);
  std::mt19937_64 rng(7);
  const int n = c.quick ? 2000 : 10000;
  Date today = *ParseDate("2026-01-01");
  // Warm the cache once, as a running server is.
  for (auto& s : households) (void)engine->ReadStream(s, [](const std::vector<EventRecord>&) {});
  std::vector<double> status_lat, history_lat;
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    const Subject& s = households[rng() % households.size()];
    auto a = Clock::now();
    auto j = projections::StatusJson(*engine, s, {}, today, false);
    auto b = Clock::now();
    auto h = projections::HistoryJson(*engine, s, std::nullopt, false);
    auto e = Clock::now();
    status_lat.push_back(Seconds(a, b) * 1000);
    history_lat.push_back(Seconds(b, e) * 1000);
  }
  auto t1 = Clock::now();
  r.relais_ops = n / Seconds(t0, t1);
  r.p50_ms = Percentile(status_lat, 0.5);
  r.p99_ms = Percentile(status_lat, 0.99);
  r.note = "history p50 " + std::to_string(Percentile(history_lat, 0.5)) + " ms, p99 " +
           std::to_string(Percentile(history_lat, 0.99)) + " ms";
  {
    // The history alone, the same number of reads of streams picked the same way.
    std::mt19937_64 hrng(7);
    std::vector<double> lat;
    auto h0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      const Subject& s = households[hrng() % households.size()];
      auto a = Clock::now();
      auto h = projections::HistoryJson(*engine, s, std::nullopt, false);
      lat.push_back(Seconds(a, Clock::now()) * 1000);
    }
    history->relais_ops = n / Seconds(h0, Clock::now());
    history->p50_ms = Percentile(lat, 0.5);
    history->p99_ms = Percentile(lat, 0.99);
    history->note = "like for like with postgres's stream read";
  }
  engine.reset();

  rocksdb::DB* db = nullptr;
  rocksdb::DB::OpenForReadOnly(rocksdb::Options(), c.dir + "/raw-w1", &db);
  std::unique_ptr<rocksdb::DB> raw(db);
  std::vector<double> raw_lat;
  std::string v;
  t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    uint64_t p = 1 + rng() % static_cast<uint64_t>(c.events);
    char key[9] = {'e'};
    for (int k = 0; k < 8; ++k) key[1 + k] = static_cast<char>(p >> (56 - 8 * k));
    auto a = Clock::now();
    raw->Get(rocksdb::ReadOptions(), rocksdb::Slice(key, 9), &v);
    raw_lat.push_back(Seconds(a, Clock::now()) * 1000);
  }
  t1 = Clock::now();
  r.raw_ops = n / Seconds(t0, t1);
  r.raw_p99_ms = Percentile(raw_lat, 0.99);
#ifdef RELAIS_BENCH_POSTGRES
  // A random household's whole stream, in version order (its history).
  if (c.pg != nullptr) {
    PgEnsureLoaded(c);
    std::vector<std::string> streams;
    for (const Subject& s : households) streams.push_back(s.text);
    PgLatencies p = PgOrDie(c.pg->StreamReads(streams, n, 7));
    r.pg_ops = p.ops_per_second;
    r.pg_p50_ms = Percentile(p.ms, 0.5);
    r.pg_p99_ms = Percentile(p.ms, 0.99);
    history->pg_ops = r.pg_ops;
    history->pg_p50_ms = r.pg_p50_ms;
    history->pg_p99_ms = r.pg_p99_ms;
  }
#endif
  r.peak_rss = history->peak_rss = PeakRssBytes();
  return r;
}

// W5: a full report at random (D, T), and a 24-month series.
Result W5(Context& c) {
  Result r{"W5 report + 24-month series"};
  auto engine = OpenRelais(c.dir + "/relais-w1", false);
  Head head = engine->GetHead();
  std::mt19937_64 rng(11);
  std::vector<double> report_ms, series_ms;
  // The first report loads every stream (cold); the figures are warm runs.
  projections::ReportRequest warm{{ParseDate("2022-06-30"), std::nullopt}, Date{}};
  auto first_start = Clock::now();
  (void)projections::ComputeReport(*engine, warm);
  double cold_ms = Seconds(first_start, Clock::now()) * 1000;
  const int n = c.quick ? 5 : 15;
  for (int i = 0; i < n; ++i) {
    Date D = *ParseDate("2020-01-01") + static_cast<int32_t>(rng() % 1000);
    Timestamp T{head.recorded_at.micros - static_cast<int64_t>(rng() % (200ull * 86400 * 1000000))};
    projections::ReportRequest req{{D, T}, Date{}};
    auto a = Clock::now();
    auto rep = projections::ComputeReport(*engine, req);
    report_ms.push_back(Seconds(a, Clock::now()) * 1000);
    a = Clock::now();
    auto rows = projections::ComputeSeries(*engine, D - 730, D, T);
    series_ms.push_back(Seconds(a, Clock::now()) * 1000);
  }
  r.relais_ops = 1000.0 / Median(report_ms);
  r.p50_ms = Median(report_ms);
  r.p99_ms = Percentile(report_ms, 0.99);
  r.note = "series median " + std::to_string(Median(series_ms)) + " ms; first (cold) report " +
           std::to_string(cold_ms) + " ms";
  r.peak_rss = PeakRssBytes();
  return r;
}

// The relais binary W6 runs: RELAIS_BIN (bench/run.sh sets it), else the one
// beside the bench in the build tree (tools/relais).
std::string RelaisBin() {
  if (const char* env = std::getenv("RELAIS_BIN"); env != nullptr && *env != '\0') return env;
  std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
  return (std::filesystem::path(exe).parent_path().parent_path() / "tools" / "relais").string();
}

// W6: the HTTP API on loopback, 32 keep-alive connections (issue #4 targets:
// >= 20,000 status reads/s and >= 10,000 durable appends/s, p99 <= 10 ms).
Result W6(Context& c) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  namespace net = boost::asio;
  Result r{"W6 HTTP status reads + appends"};
  const std::string dir = c.dir + "/relais-w6";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string relais_bin = RelaisBin();
  // Runs relais with `args`, returns its stdout.
  auto run = [&](std::vector<std::string> args) {
    int fds[2];
    if (::pipe(fds) != 0) std::exit(1);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    args.insert(args.begin(), relais_bin);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t child = -1;
    if (posix_spawn(&child, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
      std::fprintf(stderr, "W6: cannot run %s\n", relais_bin.c_str());
      std::exit(1);
    }
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    return std::make_pair(child, fds[0]);
  };
  auto read_line = [](int fd) {
    std::string line;
    char ch;
    while (::read(fd, &ch, 1) == 1 && ch != '\n') line.push_back(ch);
    return line;
  };
  auto [token_pid, token_fd] = run({"--data", dir, "token", "add", "--name", "bench", "--role", "admin"});
  std::string token_line = read_line(token_fd);
  ::close(token_fd);
  ::waitpid(token_pid, nullptr, 0);
  size_t tpos = token_line.find("\"token\":\"");
  if (tpos == std::string::npos) std::exit(1);
  std::string token = token_line.substr(tpos + 9, token_line.find('"', tpos + 9) - tpos - 9);
  // The server, as an operator runs it.
  auto [pid, out_fd] = run({"--data", dir, "serve", "--listen", "127.0.0.1:0"});
  std::string line = read_line(out_fd);
  ::close(out_fd);
  const uint16_t port = static_cast<uint16_t>(std::atoi(line.c_str() + line.rfind(':') + 1));
  const int kConnections = 32;
  const int per_conn = c.quick ? 300 : 2000;
  const std::string auth = "Bearer " + token;

  // Runs `fn(conn, i)` -> (target, body) on every connection; returns latencies in ms.
  auto drive = [&](const std::function<std::pair<std::string, std::string>(int, int)>& fn,
                   http::verb verb, int expect, double* seconds) {
    std::vector<std::vector<double>> lats(kConnections);
    std::atomic<int> failures{0};
    auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int k = 0; k < kConnections; ++k)
      threads.emplace_back([&, k] {
        net::io_context ioc;
        beast::tcp_stream stream(ioc);
        stream.connect({net::ip::make_address("127.0.0.1"), port});
        beast::flat_buffer buffer;
        for (int i = 0; i < per_conn; ++i) {
          auto [target, body] = fn(k, i);
          http::request<http::string_body> req(verb, target, 11);
          req.set(http::field::host, "127.0.0.1");
          req.set(http::field::authorization, auth);
          if (verb == http::verb::post) {
            req.body() = body;
            req.prepare_payload();
          }
          auto a = Clock::now();
          http::write(stream, req);
          http::response<http::string_body> res;
          http::read(stream, buffer, res);
          lats[k].push_back(Seconds(a, Clock::now()) * 1000);
          if (res.result_int() != static_cast<unsigned>(expect)) ++failures;
        }
      });
    for (auto& t : threads) t.join();
    *seconds = Seconds(t0, Clock::now());
    if (failures) std::fprintf(stderr, "W6: %d unexpected statuses\n", failures.load());
    std::vector<double> all;
    for (auto& v : lats) all.insert(all.end(), v.begin(), v.end());
    return all;
  };
  double secs = 0;
  // One household per connection, registered first.
  drive([&](int k, int) { return std::make_pair(std::string("/v1/events"), NewHousehold(k)); },
        http::verb::post, 201, &secs);
  auto reads = drive(
      [&](int k, int) {
        return std::make_pair("/v1/streams/household%2FB" + std::to_string(k) + "/status",
                              std::string());
      },
      http::verb::get, 200, &secs);
  double read_rate = reads.size() / secs;
  std::atomic<int64_t> next{50000000};
  auto appends = drive(
      [&](int k, int) { return std::make_pair(std::string("/v1/events"), Difficulty(next++, k)); },
      http::verb::post, 201, &secs);
  double append_rate = appends.size() / secs;
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.relais_ops = append_rate;
  r.p50_ms = Percentile(appends, 0.5);
  r.p99_ms = Percentile(appends, 0.99);
  r.events = static_cast<int64_t>(appends.size());
  char note[256];
  std::snprintf(note, sizeof note,
                "ops/s and p50/p99 are durable appends; status reads %.0f/s, p50 %.3f ms, p99 %.3f ms",
                read_rate, Percentile(reads, 0.5), Percentile(reads, 0.99));
  r.note = note;
  r.peak_rss = PeakRssBytes();
  return r;
}

void Print(const Result& r) {
  std::printf("%-32s relais %12.0f ops/s  raw %12.0f ops/s  ratio %5.2f  p50 %8.3f ms  p99 %8.3f ms  "
              "bytes/event %6.1f (raw %6.1f)  peak RSS %5.0f MB  %s\n",
              r.name.c_str(), r.relais_ops, r.raw_ops, r.raw_ops > 0 ? r.relais_ops / r.raw_ops : 0.0, r.p50_ms,
              r.p99_ms, r.bytes_per_event, r.raw_bytes_per_event, r.peak_rss / 1048576.0, r.note.c_str());
  if (r.pg_ops > 0) {
    std::printf("%-32s postgres %10.0f ops/s  relais/postgres %5.2f", "", r.pg_ops, r.relais_ops / r.pg_ops);
    if (r.pg_p99_ms > 0) std::printf("  p50 %8.3f ms  p99 %8.3f ms", r.pg_p50_ms, r.pg_p99_ms);
    if (r.pg_bytes_per_event > 0) std::printf("  bytes/event %6.1f (table and indexes)", r.pg_bytes_per_event);
    std::printf("\n");
  }
  if (!r.family_bytes_per_event.empty()) {
    std::printf("%-32s sst bytes/event by family:", "");
    for (const auto& [name, b] : r.family_bytes_per_event) std::printf(" %s %.1f", name.c_str(), b);
    std::printf("  (records counted apart: %.1f; tree counted apart: %.1f)\n",
                r.records_bytes_per_event, r.tree_bytes_per_event);
  }
  std::fflush(stdout);
}

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace
}  // namespace relais::bench

int main(int argc, char** argv) {
  using namespace relais::bench;
  Context c;
  c.dir = "/tmp/relais-bench";
  c.events = 1000000;
  std::string json_path = "bench-results.json";
  std::string workloads = "W1,W2a,W2b,W3,W4,W5,W6";
  bool postgres = true;
#ifdef RELAIS_BENCH_POSTGRES
  PgPayload pg_payload = PgPayload::kJsonb;
#endif
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick") {
      c.quick = true;
      c.events = 100000;
      c.runs = 1;
    } else if (a == "--events") {
      c.events = std::stoll(next());
    } else if (a == "--runs") {
      c.runs = std::stoi(next());
    } else if (a == "--json") {
      json_path = next();
    } else if (a == "--dir") {
      c.dir = next();
    } else if (a == "--workloads") {
      workloads = next();
    } else if (a == "--no-postgres") {
      postgres = false;
    } else if (a == "--no-tree") {
      g_merkle_tree = false;
    } else if (a == "--pg-payload") {
      std::string v = next();
#ifdef RELAIS_BENCH_POSTGRES
      if (!ParsePgPayload(v, &pg_payload)) {
        std::fprintf(stderr, "--pg-payload: jsonb or text, not %s\n", v.c_str());
        return 2;
      }
#endif
    } else {
      std::fprintf(stderr,
                   "usage: relais_bench [--quick] [--events N] [--runs R] [--json FILE] [--dir DIR] "
                   "[--workloads W1,W2a,W2b,W3,W4,W5,W6] [--no-postgres] [--pg-payload jsonb|text]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  auto want = [&](const char* w) { return ("," + workloads + ",").find(std::string(",") + w + ",") != std::string::npos; };
  // Said before minutes of other workloads, not when W6 gets to it.
  if (want("W6") && ::access(RelaisBin().c_str(), X_OK) != 0) {
    std::fprintf(stderr,
                 "W6 runs %s, which is missing or not executable: build the relais target "
                 "(bench/run.sh does), set RELAIS_BIN, or leave W6 out (--workloads)\n",
                 RelaisBin().c_str());
    return 1;
  }
  std::filesystem::create_directories(c.dir);
  auto t0 = Clock::now();
  c.lines = Generate(c.events, 42);
  c.events = 0;
  for (auto& l : c.lines) c.events += static_cast<int64_t>(l.subjects.size());
  std::fprintf(stderr, "generated %zu lines, %lld events in %.1f s\n", c.lines.size(),
               static_cast<long long>(c.events), Seconds(t0, Clock::now()));
  std::vector<Result> results;
#ifdef RELAIS_BENCH_POSTGRES
  // One private cluster for the whole run; stopped and removed below, at
  // exit, or on a signal (pg_cluster.h).
  PgCluster cluster;
  std::unique_ptr<PgBaseline> pg;
  if (!postgres) {
    std::fprintf(stderr, "postgres: skipped (--no-postgres)\n");
  } else if (want("W1") || want("W2a") || want("W2b") || want("W3") || want("W4")) {
    PgClusterOptions po;
    po.bin_dir = DefaultPgBinDir();
    if (std::string why = PgUnavailableReason(po.bin_dir); !why.empty()) {
      std::fprintf(stderr, "postgres: skipped, the postgres column stays empty: %s\n", why.c_str());
    } else {
      auto t = Clock::now();
      if (relais::Status s = cluster.Start(po); !s.ok()) {
        std::fprintf(stderr, "postgres: could not start a cluster: %s\n", s.message().c_str());
        return 1;
      }
      pg = PgOrDie(PgBaseline::Connect(cluster.ConnInfo(), pg_payload));
      c.pg = pg.get();
      std::fprintf(stderr, "postgres: private cluster in %s (payload %s), started in %.1f s\n",
                   cluster.dir().c_str(), PgPayloadName(pg_payload), Seconds(t, Clock::now()));
    }
  }
#else
  if (postgres) std::fprintf(stderr, "postgres: skipped, relais_bench was built without libpq (libpq-dev)\n");
#endif
  if (want("W1")) Print(results.emplace_back(W1(c)));
  if (want("W2a")) Print(results.emplace_back(Durable(c, 1)));
  if (want("W2b")) Print(results.emplace_back(Durable(c, 16)));
  if (want("W3")) Print(results.emplace_back(W3(c)));
  if (want("W4")) {
    Result history;
    Print(results.emplace_back(W4(c, &history)));
    Print(results.emplace_back(std::move(history)));
  }
  if (want("W5")) Print(results.emplace_back(W5(c)));
  if (want("W6")) Print(results.emplace_back(W6(c)));

#ifdef RELAIS_BENCH_POSTGRES
  pg.reset();
  cluster.Stop();
#endif
  std::printf("\n| workload | relais ops/s | raw ops/s | ratio | postgres ops/s | postgres ratio | p50 ms | p99 ms | bytes/event (raw) | peak RSS MB | note |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  for (const auto& r : results)
    std::printf("| %s | %.0f | %s | %s | %s | %s | %.3f | %.3f | %s | %.0f | %s |\n", r.name.c_str(), r.relais_ops,
                r.raw_ops > 0 ? std::to_string(static_cast<int64_t>(r.raw_ops)).c_str() : "–",
                r.raw_ops > 0 ? (std::to_string(r.relais_ops / r.raw_ops).substr(0, 4)).c_str() : "–",
                r.pg_ops > 0 ? Fixed(r.pg_ops, 0).c_str() : "–",
                r.pg_ops > 0 ? Fixed(r.relais_ops / r.pg_ops, 2).c_str() : "–", r.p50_ms,
                r.p99_ms,
                r.bytes_per_event > 0 ? (std::to_string(static_cast<int>(r.bytes_per_event)) + " (" +
                                         std::to_string(static_cast<int>(r.raw_bytes_per_event)) + ")")
                                            .c_str()
                                      : "–",
                r.peak_rss / 1048576.0, r.note.c_str());
  relais::JsonWriter w(true);
  w.BeginArray();
  for (const auto& r : results) {
    w.BeginObject();
    w.Key("name").String(r.name);
    w.Key("relais").Double(r.relais_ops);
    w.Key("raw");
    if (r.raw_ops > 0) w.Double(r.raw_ops); else w.Null();
    w.Key("ratio");
    if (r.raw_ops > 0) w.Double(r.relais_ops / r.raw_ops); else w.Null();
    // The PostgreSQL baseline: null when it did not run (skipped, or W5/W6).
    w.Key("postgres");
    if (r.pg_ops > 0) w.Double(r.pg_ops); else w.Null();
    w.Key("postgresRatio");
    if (r.pg_ops > 0) w.Double(r.relais_ops / r.pg_ops); else w.Null();
    w.Key("postgresP50Ms");
    if (r.pg_p99_ms > 0) w.Double(r.pg_p50_ms); else w.Null();
    w.Key("postgresP99Ms");
    if (r.pg_p99_ms > 0) w.Double(r.pg_p99_ms); else w.Null();
    w.Key("postgresBytesPerEvent");
    if (r.pg_bytes_per_event > 0) w.Double(r.pg_bytes_per_event); else w.Null();
    w.Key("p50Ms").Double(r.p50_ms);
    w.Key("p99Ms").Double(r.p99_ms);
    w.Key("rawP99Ms").Double(r.raw_p99_ms);
    w.Key("bytesPerEvent").Double(r.bytes_per_event);
    w.Key("rawBytesPerEvent").Double(r.raw_bytes_per_event);
    w.Key("recordsBytesPerEvent").Double(r.records_bytes_per_event);
    w.Key("familyBytesPerEvent").BeginObject();
    for (const auto& [name, b] : r.family_bytes_per_event) w.Key(name).Double(b);
    w.EndObject();
    w.Key("peakRssBytes").Int(r.peak_rss);
    w.Key("events").Int(r.events);
    w.Key("note").String(r.note);
    w.EndObject();
  }
  w.EndArray();
  std::ofstream(json_path) << w.str() << "\n";
  std::fprintf(stderr, "wrote %s\n", json_path.c_str());
  return 0;
}
