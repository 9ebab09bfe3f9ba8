// The process's own figures for GET /metrics, under the names every
// Prometheus client library uses (process_cpu_seconds_total, ...), read
// from /proc/self (Linux) at scrape time. A figure that cannot be read is
// left out rather than reported as 0.
#pragma once

#include <optional>
#include <string>

namespace relais::server {

struct ProcessStats {
  std::optional<double> cpu_seconds;         // user + system
  std::optional<double> resident_bytes;
  std::optional<double> virtual_bytes;
  std::optional<double> open_fds;
  std::optional<double> max_fds;             // the soft RLIMIT_NOFILE
  std::optional<double> start_time_seconds;  // since the Unix epoch
};

ProcessStats ReadProcessStats();

// The families, HELP and TYPE included, in the text format.
std::string RenderProcessStats(const ProcessStats& p);

}  // namespace relais::server
