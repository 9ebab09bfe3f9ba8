// The PostgreSQL sink's two figures (docs/performance.md, "Sink"), PostgreSQL
// on the same machine (tests/support/pg_cluster.h: a private cluster, fsync
// on):
//
//   catch-up  a data directory of N events into an empty schema, in-process
//             (sink::Sink over the directory read-only, --once): wall time,
//             events/s, transactions;
//   live lag  the sink inside a writable engine (as `serve --sink-dsn`),
//             caught up on the same directory, while 16 writers append
//             durably to distinct households as W2b does (DifficultyReported,
//             sync = true) for --seconds: for every event, commit of the
//             sink's transaction minus the event's recordedAt; p50, p99, max.
//
//   sink_bench --dir DATA_DIR [--batch N] [--seconds S] [--writers W]
//
// DATA_DIR is made beforehand (bench/sink.sh: relais generate + import). The
// live part appends to it: run it on a copy.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pg_cluster.h"
#include "relais/engine.h"
#include "sink/sink.h"

using namespace relais;
using SteadyClock = std::chrono::steady_clock;

namespace {

double Seconds(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Writer w's household in run `run` (a fresh stream per run: the directory
// may hold an earlier run's, long by then).
std::string Subject(int64_t run, int w) {
  return "household/SB" + std::to_string(run) + "x" + std::to_string(w);
}

std::string Household(int64_t run, int w) {
  char id[40];
  std::snprintf(id, sizeof id, "b1000000-0000-4000-%04x-%012llx", w,
                static_cast<unsigned long long>(run));
  return std::string("{\"id\":\"") + id + "\",\"type\":\"HouseholdRegistered\",\"subject\":\"" +
         Subject(run, w) +
         "\",\"effectiveDate\":\"2024-01-01\",\"data\":{\"territory\":\"lille\",\"commune\":"
         "\"Roubaix\","
         "\"adults\":1,\"children\":2,\"headOfHousehold\":{\"name\":\"Bench\",\"birthDate\":\"1980-"
         "01-01\"}}}";
}

std::string Difficulty(int64_t n, int64_t run, int w) {
  char id[40];
  std::snprintf(id, sizeof id, "d1000000-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(n));
  return std::string("{\"id\":\"") + id + "\",\"type\":\"DifficultyReported\",\"subject\":\"" +
         Subject(run, w) +
         "\",\"effectiveDate\":\"2024-01-02\",\"data\":{\"category\":\"isolation\",\"severity\":2}"
         "}";
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  size_t batch = 500000;
  int seconds = 20, writers = 16;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dir")
      dir = argv[i + 1];
    else if (a == "--batch")
      batch = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--seconds")
      seconds = std::atoi(argv[i + 1]);
    else if (a == "--writers")
      writers = std::atoi(argv[i + 1]);
  }
  if (dir.empty()) {
    std::fprintf(stderr,
                 "usage: sink_bench --dir DATA_DIR [--batch N] [--seconds S] [--writers W]\n");
    return 2;
  }
  pg::PgCluster cluster;
  pg::PgClusterOptions po;
  po.bin_dir = pg::DefaultPgBinDir();
  if (Status st = cluster.Start(po); !st.ok()) {
    std::fprintf(stderr, "sink_bench: %s\n", st.message().c_str());
    return 1;
  }
  std::atomic<bool> stop{false};

  // Catch-up.
  {
    auto source = sink::DirectorySource(dir, 500);
    if (!source.ok()) {
      std::fprintf(stderr, "sink_bench: %s\n", source.status().message().c_str());
      return 1;
    }
    const Position head = (*source)->engine().GetHead().position;
    sink::SinkOptions o;
    o.dsn = cluster.ConnInfo();
    o.scope = sink::Scope::kAdmin;
    o.schema = "bench";
    o.batch_events = batch;
    o.once = true;
    auto t0 = SteadyClock::now();
    sink::Sink s(**source, o);
    sink::SinkResult r = s.Run(stop);
    auto t1 = SteadyClock::now();
    if (r.exit != sink::SinkExit::kCaughtUp) {
      std::fprintf(stderr, "sink_bench: catch-up: %s\n", r.status.message().c_str());
      return 1;
    }
    sink::SinkStats st = s.stats();
    std::printf(
        "{\"catchUp\": {\"events\": %llu, \"seconds\": %.2f, \"eventsPerSecond\": %.0f, "
        "\"transactions\": %lld, "
        "\"batch\": %zu, \"buildMs\": %.0f, \"fullSeries\": %lld, \"applyMs\": %.0f}}\n",
        static_cast<unsigned long long>(head), Seconds(t0, t1), head / Seconds(t0, t1),
        static_cast<long long>(st.transactions), batch, st.build_ms,
        static_cast<long long>(st.full_series), st.apply_ms);
    std::fflush(stdout);
  }

  if (seconds <= 0) return 0;  // --seconds 0: the catch-up alone

  // Live lag under W2b-like load.
  Options eo;
  eo.data_dir = dir;
  auto engine = Engine::Open(eo);
  if (!engine.ok()) {
    std::fprintf(stderr, "sink_bench: %s\n", engine.status().message().c_str());
    return 1;
  }
  // Warm, as `relais serve` opens its engine (server/state.h).
  if (Status st = (*engine)->WarmAll({}); !st.ok()) {
    std::fprintf(stderr, "sink_bench: %s\n", st.message().c_str());
    return 1;
  }
  const int64_t run = (SystemClock()->Now().micros / 1000) % (int64_t{1} << 40);
  for (int w = 0; w < writers; ++w) (*engine)->Append(Household(run, w), AppendOptions{});
  auto source = sink::SharedEngineSource(**engine);
  std::mutex mu;
  std::vector<double> lags_ms;
  int64_t transactions = 0;
  sink::SinkOptions o;
  o.dsn = cluster.ConnInfo();
  o.scope = sink::Scope::kAdmin;
  o.schema = "bench";
  o.committed = [&](const sink::BatchCommitted& c) {
    std::lock_guard<std::mutex> l(mu);
    ++transactions;
    for (Timestamp t : c.recorded_at)
      lags_ms.push_back(static_cast<double>(c.committed_at.micros - t.micros) / 1000.0);
  };
  sink::Sink s(*source, o);
  std::thread sink_thread([&] { s.Run(stop); });
  // Wait for the sink to apply the households just registered.
  const Position start = (*engine)->GetHead().position;
  while (s.applied() < start) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  {
    std::lock_guard<std::mutex> l(mu);
    lags_ms.clear();
    transactions = 0;
  }
  // Fresh ids on every run (the directory may hold an earlier run's events).
  std::atomic<int64_t> next{run}, appended{0};
  std::atomic<bool> writing{true};
  std::vector<std::thread> threads;
  auto t0 = SteadyClock::now();
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      while (writing.load()) {
        auto out = (*engine)->Append(Difficulty(next++, run, w), AppendOptions{});
        if (out.kind != AppendOutcome::Kind::kAccepted) std::abort();
        ++appended;
      }
    });
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  writing = false;
  for (auto& t : threads) t.join();
  auto t1 = SteadyClock::now();
  const Position end = (*engine)->GetHead().position;
  while (s.applied() < end) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop = true;
  sink_thread.join();
  std::lock_guard<std::mutex> l(mu);
  sink::SinkStats st = s.stats();
  std::printf(
      "{\"liveLag\": {\"writers\": %d, \"appendsPerSecond\": %.0f, \"events\": %zu, "
      "\"transactions\": %lld, "
      "\"p50Ms\": %.1f, \"p99Ms\": %.1f, \"maxMs\": %.1f, \"buildMs\": %.0f, \"fullSeries\": %lld, "
      "\"applyMs\": %.0f}}\n",
      writers, appended.load() / Seconds(t0, t1), lags_ms.size(),
      static_cast<long long>(transactions), Percentile(lags_ms, 0.50), Percentile(lags_ms, 0.99),
      Percentile(lags_ms, 1.0), st.build_ms, static_cast<long long>(st.full_series), st.apply_ms);
  (*engine)->Close();
  return 0;
}
