// Server metrics, rendered in the Prometheus text format (GET /metrics).
// Counters are atomics or guarded maps: safe from every thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "relais/engine.h"

namespace relais::server {

class Metrics {
 public:
  // Distinct label sets per family: the labels come from fixed sets (routes,
  // status codes, contract codes), but a hostile request must never grow
  // memory through them, so anything beyond is counted under "other".
  static constexpr size_t kLabelSetsMax = 256;

  // Request latency buckets, in seconds (upper bounds; +Inf implied).
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    5};

  void Request(const std::string& route, int status, double seconds);
  void Refusal(const std::string& code);
  void Appended(int64_t events) {
    appended_events_ += events;
    ++append_requests_;
  }

  std::atomic<int64_t> connections{0};
  std::atomic<int64_t> connections_refused{0};
  std::atomic<int64_t> tls_handshake_failures{0};
  std::atomic<int64_t> feed_subscribers{0};

  // What other owners hold, read at render time.
  struct Outside {
    int64_t journal_bytes = 0;  // every file of the access journal
    int64_t journal_rotations = 0;
    uint64_t log_position = 0;
    int64_t log_lines_dropped = 0;
    EngineStats engine;
  };
  // The text format (version 0.0.4), HELP and TYPE for every family: what
  // `promtool check metrics` accepts (tests/server/ops_metrics_test.cc).
  std::string Render(const Outside& o);

 private:
  struct Histogram {
    std::array<int64_t, kBuckets.size()> buckets{};
    int64_t count = 0;
    double sum = 0;
  };
  std::atomic<int64_t> appended_events_{0}, append_requests_{0};
  std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  std::map<std::string, int64_t> refusals_;
  std::map<std::string, Histogram> latency_;
};

}  // namespace relais::server
