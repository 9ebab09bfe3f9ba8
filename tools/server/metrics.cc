#include "server/metrics.h"

#include <cstdio>

namespace relais::server {

namespace {

// The key itself while the map has room, else "other" (status 0).
template <typename Map, typename Key>
typename Map::mapped_type& Bounded(Map& m, const Key& key, const Key& other) {
  auto it = m.find(key);
  if (it != m.end()) return it->second;
  if (m.size() >= Metrics::kLabelSetsMax - 1) return m[other];
  return m[key];
}

}  // namespace

void Metrics::Request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++Bounded(requests_, std::pair<std::string, int>{route, status},
            std::pair<std::string, int>{"other", 0});
  Histogram& h = Bounded(latency_, route, std::string("other"));
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

void Metrics::Refusal(const std::string& code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++Bounded(refusals_, code, std::string("other"));
}

std::string Metrics::Render(int64_t journal_bytes, uint64_t log_position) {
  std::string out;
  char buf[256];
  auto line = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, args...);
    out += buf;
  };
  out += "# HELP relais_appended_events_total Events appended (201, not duplicates).\n";
  out += "# TYPE relais_appended_events_total counter\n";
  line("relais_appended_events_total %lld\n", static_cast<long long>(appended_events_.load()));
  out += "# TYPE relais_append_requests_total counter\n";
  line("relais_append_requests_total %lld\n", static_cast<long long>(append_requests_.load()));
  out += "# HELP relais_connections Open HTTP connections.\n# TYPE relais_connections gauge\n";
  line("relais_connections %lld\n", static_cast<long long>(connections.load()));
  out += "# TYPE relais_connections_refused_total counter\n";
  line("relais_connections_refused_total %lld\n",
       static_cast<long long>(connections_refused.load()));
  out +=
      "# HELP relais_feed_subscribers Open /v1/feed streams.\n# TYPE relais_feed_subscribers "
      "gauge\n";
  line("relais_feed_subscribers %lld\n", static_cast<long long>(feed_subscribers.load()));
  out += "# HELP relais_access_journal_bytes Size of the access journal.\n";
  out += "# TYPE relais_access_journal_bytes gauge\n";
  line("relais_access_journal_bytes %lld\n", static_cast<long long>(journal_bytes));
  out += "# TYPE relais_log_position gauge\n";
  line("relais_log_position %llu\n", static_cast<unsigned long long>(log_position));
  std::lock_guard<std::mutex> lock(mu_);
  out += "# HELP relais_refusals_total Appends refused, by contract code.\n";
  out += "# TYPE relais_refusals_total counter\n";
  for (const auto& [code, n] : refusals_)
    line("relais_refusals_total{code=\"%s\"} %lld\n", code.c_str(), static_cast<long long>(n));
  out += "# TYPE relais_http_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    line("relais_http_requests_total{route=\"%s\",status=\"%d\"} %lld\n", key.first.c_str(),
         key.second, static_cast<long long>(n));
  out += "# HELP relais_http_request_duration_seconds Request latency.\n";
  out += "# TYPE relais_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    for (size_t i = 0; i < kBuckets.size(); ++i)
      line("relais_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lld\n",
           route.c_str(), kBuckets[i], static_cast<long long>(h.buckets[i]));
    line("relais_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lld\n",
         route.c_str(), static_cast<long long>(h.count));
    line("relais_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route.c_str(), h.sum);
    line("relais_http_request_duration_seconds_count{route=\"%s\"} %lld\n", route.c_str(),
         static_cast<long long>(h.count));
  }
  return out;
}

}  // namespace relais::server
