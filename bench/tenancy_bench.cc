// The tenancy record of a dwelling, warm (issue 11: <= 5 ms): opens a data
// directory read-only (it never writes, so it may run on a directory a
// server holds), picks `--dwellings` dwellings spread evenly over the sorted
// list, reads each record once (the first read loads its streams) and then
// `--runs` times, and prints one JSON line: the median of each dwelling's
// warm reads, summarised over the dwellings (p50, p95, max), the first reads,
// and the record sizes.
//
//   build/bench/tenancy_bench --data /work/big/d1m --dwellings 200 --runs 20
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "relais/engine.h"
#include "relais/projections/tenancy.h"

namespace {

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  size_t dwellings = 200;
  int runs = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--data") dir = argv[i + 1];
    else if (a == "--dwellings") dwellings = std::strtoul(argv[i + 1], nullptr, 10);
    else if (a == "--runs") runs = std::atoi(argv[i + 1]);
  }
  if (dir.empty() || dwellings == 0 || runs < 1 || runs > 1000) {
    std::fprintf(stderr, "usage: tenancy_bench --data DIR [--dwellings N] [--runs R (1..1000)]\n");
    return 2;
  }
  relais::Options o;
  o.data_dir = dir;
  o.read_only = true;
  auto engine = relais::Engine::Open(o);
  if (!engine.ok()) {
    std::fprintf(stderr, "tenancy_bench: %s\n", engine.status().message().c_str());
    return 1;
  }
  auto streams = (*engine)->ListStreams();
  if (!streams.ok()) {
    std::fprintf(stderr, "tenancy_bench: %s\n", streams.status().message().c_str());
    return 1;
  }
  std::vector<relais::Subject> all;
  for (auto& s : *streams)
    if (s.kind == relais::StreamKind::kDwelling) all.push_back(std::move(s));
  std::sort(all.begin(), all.end(),
            [](const relais::Subject& a, const relais::Subject& b) { return a.text < b.text; });
  std::vector<relais::Subject> picked;
  for (size_t i = 0; i < dwellings && i < all.size(); ++i)
    picked.push_back(all[i * all.size() / std::min(dwellings, all.size())]);

  relais::projections::ViewTime t;
  relais::Date today = relais::UtcDate(relais::SystemClock()->Now());
  std::vector<double> first_ms, warm_ms, events, households;
  for (const relais::Subject& d : picked) {
    auto read = [&]() -> bool {
      auto r = relais::projections::BuildTenancyRecord(**engine, d, t, today);
      if (!r.ok()) {
        std::fprintf(stderr, "tenancy_bench: %s: %s\n", d.text.c_str(), r.status().message().c_str());
        return false;
      }
      std::string json =
          relais::projections::RenderTenancyJson(*r, relais::projections::TenancyShowAll(*r), false, false);
      if (json.empty()) return false;
      events.back() = static_cast<double>(r->events.size());
      households.back() = static_cast<double>(r->records.size() - 1);
      return true;
    };
    events.push_back(0);
    households.push_back(0);
    auto start = std::chrono::steady_clock::now();
    if (!read()) return 1;
    first_ms.push_back(Ms(std::chrono::steady_clock::now() - start));
    std::vector<double> mine;
    for (int k = 0; k < runs; ++k) {
      start = std::chrono::steady_clock::now();
      if (!read()) return 1;
      mine.push_back(Ms(std::chrono::steady_clock::now() - start));
    }
    warm_ms.push_back(Percentile(mine, 0.5));
  }
  std::printf(
      "{\"dwellings\":%zu,\"runs\":%d,\"warmMs\":{\"p50\":%.3f,\"p95\":%.3f,\"max\":%.3f},"
      "\"firstMs\":{\"p50\":%.3f,\"max\":%.3f},\"events\":{\"p50\":%.0f,\"max\":%.0f},"
      "\"households\":{\"p50\":%.0f,\"max\":%.0f}}\n",
      picked.size(), runs, Percentile(warm_ms, 0.5), Percentile(warm_ms, 0.95),
      Percentile(warm_ms, 1.0), Percentile(first_ms, 0.5), Percentile(first_ms, 1.0),
      Percentile(events, 0.5), Percentile(events, 1.0), Percentile(households, 0.5),
      Percentile(households, 1.0));
  return 0;
}
