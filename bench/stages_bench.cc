// CPU per event of each stage of the write path, on the generated data set
// (tools/generate, seed 42): what W1 (bulk import) spends where.
//
// The stages run one after the other on one thread, a chunk of 256 lines at
// a time (W1's AppendManyAsync chunk, judged as one group), with the real
// parts over a real store (no engine, no writer thread):
//   parse    simdjson's DOM parse of each line (alone)
//   build    codec::ParseRequest: parse + validate + build the capnp data
//   seal     DataBytesOf + PreEncode with SealWithCandidate (the caller's rest)
//   admit    admit::Admission::Judge into the group (includes hash: Judge
//            chains each stored value with its SHA-256)
//   hash     SHA-256 of each stored value's bytes, measured again on its own
//   keys     the new households' data keys into the key store (a synced
//            write per group that adopted keys: KeyStore::WritePending)
//   write    the group's WriteBatch into RocksDB (unsynced: WAL append +
//            memtable inserts of the 4 keys per event)
//   publish  the stream cache and reference index learn the group
// Each stage's time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID) over a
// whole chunk, so the clock's own cost is per chunk, not per event; RocksDB's
// background flushes and compactions run on threads of their own and are not
// counted. The figures are counters in ns per event (the "*_ns" columns).
//
//   bench/stages.sh                       # medians of 3 (build-release/, Release)
//   RELAIS_STAGES_EVENTS=200000 bench/stages.sh
#include <benchmark/benchmark.h>
#include <simdjson.h>
#include <time.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "admit/admission.h"
#include "admit/store_state.h"
#include "cache/fold_cache.h"
#include "cache/reference_index.h"
#include "cache/stream_cache.h"
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "crypto/keystore.h"
#include "generate/generator.h"
#include "log/store.h"
#include "relais/engine.h"
#include "write/sealer.h"
#include "write/stored_template.h"

namespace relais::bench {
namespace {

constexpr size_t kChunkLines = 256;

int64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

const std::vector<std::string>& Lines() {
  static const std::vector<std::string> lines = [] {
    tools::GenOptions o;
    o.seed = 42;
    const char* n = std::getenv("RELAIS_STAGES_EVENTS");
    o.target_events = n ? std::atoll(n) : 100000;
    std::stringstream ss;
    tools::Generate(o, ss);
    std::vector<std::string> out;
    std::string l;
    while (std::getline(ss, l)) out.push_back(std::move(l));
    return out;
  }();
  return lines;
}

// The real parts the engine wires (engine.cc), without its threads.
struct Parts {
  std::unique_ptr<log::Store> store;
  std::unique_ptr<crypto::KeyStore> keys;
  std::unique_ptr<write::KeyStoreSource> key_source;
  std::unique_ptr<write::Sealer> sealer;
  std::mutex writer_mu;
  Position head = 0;
  std::unique_ptr<cache::StreamCache> streams;
  std::unique_ptr<cache::ReferenceIndex> refs;
  cache::FoldCache folds;
  std::unique_ptr<admit::StoreState> state;
  std::unique_ptr<admit::Admission> admission;

  explicit Parts(const std::string& dir) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store = Check(log::Store::Open(dir + "/log", false, true));
    keys = Check(crypto::KeyStore::Open(dir + "/keys", false, {}));
    key_source = std::make_unique<write::KeyStoreSource>(keys.get());
    sealer = std::make_unique<write::Sealer>(key_source.get());
    streams = std::make_unique<cache::StreamCache>(store.get(), &writer_mu, [this] { return head; });
    refs = std::make_unique<cache::ReferenceIndex>(store.get());
    state = std::make_unique<admit::StoreState>(store.get(), streams.get(), refs.get(), sealer.get());
    admission = std::make_unique<admit::Admission>(state.get(), key_source.get(), &folds, nullptr);
  }

  template <typename T>
  static T Check(Result<T> r) {
    if (!r.ok()) {
      std::fprintf(stderr, "stages_bench: %s\n", r.status().message().c_str());
      std::exit(1);
    }
    return std::move(*r);
  }
};

void BM_WriteStages(benchmark::State& state) {
  const auto& lines = Lines();
  crypto::InitOnce();
  enum { kParse, kBuild, kSeal, kAdmit, kHash, kKeys, kWrite, kPublish, kStages };
  static const char* kNames[kStages] = {"parse_ns", "build_ns", "seal_ns",  "admit_ns",
                                        "hash_ns",  "keys_ns",  "write_ns", "publish_ns"};
  int64_t ns[kStages] = {};
  int64_t events = 0, refused = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Parts parts("/tmp/relais-stages-bench");
    write::ChainTip tip;
    AppendOptions opt;
    opt.allow_recorded_at = opt.allow_actor_in_body = true;
    opt.sync = false;
    state.ResumeTiming();
    simdjson::dom::parser parser;
    for (size_t first = 0; first < lines.size(); first += kChunkLines) {
      const size_t end = std::min(lines.size(), first + kChunkLines);
      int64_t t = ThreadCpuNs(), u;
      auto lap = [&](int stage) {
        u = ThreadCpuNs();
        ns[stage] += u - t;
        t = u;
      };
      for (size_t i = first; i < end; ++i) {
        simdjson::dom::element root;
        if (parser.parse(lines[i]).get(root)) std::abort();
        benchmark::DoNotOptimize(root);
      }
      lap(kParse);
      std::vector<std::unique_ptr<admit::AppendRequest>> reqs;
      for (size_t i = first; i < end; ++i) {
        auto req = std::make_unique<admit::AppendRequest>();
        req->options = opt;
        InternScope intern;
        req->intern_table = intern.table();
        if (auto err = codec::ParseRequest(lines[i], &req->events, &req->is_batch)) {
          std::fprintf(stderr, "stages_bench: line %zu: %s\n", i, err->message.c_str());
          std::exit(1);
        }
        reqs.push_back(std::move(req));
      }
      lap(kBuild);
      for (auto& req : reqs) {
        req->seal_keys.resize(req->events.size());
        for (size_t i = 0; i < req->events.size(); ++i) {
          auto& e = req->events[i];
          if (e.type == EventType::kEventCorrected) continue;
          e.full_data = write::DataBytesOf(e.data->getRoot<schema::EventData>().asReader());
          Status st = write::PreEncode(e, opt, [&](schema::StoredEvent::Builder se) {
            return parts.sealer->SealWithCandidate(e, se, &req->seal_keys[i]);
          });
          if (!st.ok()) std::abort();
        }
      }
      lap(kSeal);
      // Hashed before Judge moves the bytes: the same sizes as stored.
      crypto::Hash h{};
      for (auto& req : reqs)
        for (auto& e : req->events)
          if (!e.pre_stored.empty()) h = crypto::Sha256(e.pre_stored);
      benchmark::DoNotOptimize(h);
      lap(kHash);
      write::Group g;
      g.tip = tip;
      for (auto& req : reqs) {
        AppendOutcome o = parts.admission->Judge(*req, g);
        if (!o.error.ok()) {
          std::fprintf(stderr, "stages_bench: %s\n", o.error.message().c_str());
          std::exit(1);
        }
        if (o.kind == AppendOutcome::Kind::kAccepted) {
          events += static_cast<int64_t>(o.results.size());
        } else {
          ++refused;
        }
      }
      lap(kAdmit);
      if (!parts.keys->WritePending().ok()) std::abort();
      lap(kKeys);
      if (!parts.store->Write(&g.batch, false).ok()) std::abort();
      lap(kWrite);
      tip = g.tip;
      parts.head = tip.next_position - 1;
      admit::GroupEvents& accepted = admit::EventsOf(g);
      parts.streams->Publish(accepted.pending);
      parts.refs->Publish(accepted.new_refs);
      if (parts.streams->DropIfOver(8'000'000)) parts.folds.Clear();
      lap(kPublish);
    }
  }
  const double n = static_cast<double>(events);
  int64_t caller = ns[kBuild] + ns[kSeal];
  int64_t writer = ns[kAdmit] + ns[kKeys] + ns[kWrite] + ns[kPublish];
  for (int s = 0; s < kStages; ++s) state.counters[kNames[s]] = ns[s] / n;
  state.counters["caller_ns"] = caller / n;  // build (parse included) + seal
  state.counters["writer_ns"] = writer / n;  // admit (hash included) + keys + write + publish
  state.counters["events"] = n / static_cast<double>(state.iterations());
  state.counters["refused"] = static_cast<double>(refused);
  state.SetItemsProcessed(events);
}
BENCHMARK(BM_WriteStages)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace relais::bench

BENCHMARK_MAIN();
