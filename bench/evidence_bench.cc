// The cost of evidence on an existing data directory (docs/performance.md,
// "Evidence"): inclusion proofs, consistency proofs and checkpoints, timed
// in process on a read-only open, medians and p99 of many random ones, and
// the tree's bytes per event.
//
//   evidence_bench DIR [--count N] [--seed S]
#include <rocksdb/db.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "relais/engine.h"

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

void Report(const char* what, std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::printf("%-24s median %.3f ms  p99 %.3f ms  max %.3f ms  (%zu runs)\n", what, v[v.size() / 2],
              v[v.size() * 99 / 100], v.back(), v.size());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: evidence_bench DIR [--count N] [--seed S]\n");
    return 2;
  }
  std::string dir = argv[1];
  int count = 1000;
  uint64_t seed = std::random_device{}();
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--count") count = std::stoi(argv[i + 1]);
    if (a == "--seed") seed = std::stoull(argv[i + 1]);
  }
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  relais::Options o;
  o.data_dir = dir;
  o.read_only = true;
  auto e = relais::Engine::Open(o);
  if (!e.ok()) {
    std::fprintf(stderr, "open: %s\n", e.status().message().c_str());
    return 1;
  }
  relais::Engine& engine = **e;
  uint64_t n = engine.GetHead().position;
  std::printf("events %llu\n", static_cast<unsigned long long>(n));
  std::mt19937_64 rng(seed);
  std::vector<double> incl, cons, cp;
  for (int i = 0; i < count; ++i) {
    uint64_t p = 1 + rng() % n;
    auto t0 = Clock::now();
    auto proof = engine.ProveInclusion(p, n);
    auto t1 = Clock::now();
    if (!proof.ok()) {
      std::fprintf(stderr, "prove: %s\n", proof.status().message().c_str());
      return 1;
    }
    incl.push_back(Ms(t0, t1));
    uint64_t m = 1 + rng() % n;
    t0 = Clock::now();
    auto c = engine.ProveConsistency(m, n);
    t1 = Clock::now();
    if (!c.ok()) return 1;
    cons.push_back(Ms(t0, t1));
    // A checkpoint of a random older size (the tree's root there, signed);
    // a repeated size is not appended to the list again.
    uint64_t s = 1 + rng() % n;
    t0 = Clock::now();
    auto note = i % 2 == 0 ? engine.Checkpoint(n) : engine.Checkpoint(s);
    t1 = Clock::now();
    if (!note.ok()) {
      std::fprintf(stderr, "checkpoint: %s\n", note.status().message().c_str());
      return 1;
    }
    cp.push_back(Ms(t0, t1));
  }
  Report("inclusion proof", incl);
  Report("consistency proof", cons);
  Report("checkpoint", cp);
  // The tree's bytes per event: its column family's table files.
  std::vector<std::string> names;
  rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir + "/log", &names);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (auto& nm : names) cfs.emplace_back(nm, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> hs;
  rocksdb::DB* db = nullptr;
  engine.Close();
  e->reset();
  if (rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir + "/log", cfs, &hs, &db).ok()) {
    for (size_t i = 0; i < hs.size(); ++i) {
      uint64_t v = 0;
      db->GetIntProperty(hs[i], "rocksdb.total-sst-files-size", &v);
      std::printf("family %-8s %8.1f bytes/event\n", names[i].c_str(), static_cast<double>(v) / n);
      db->DestroyColumnFamilyHandle(hs[i]);
    }
    delete db;
  }
  return 0;
}
