#include "server/metrics.h"

#include <cstdio>

#include "server/process_metrics.h"
#include "version/version.h"

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

std::string Metrics::Render(const Outside& o) {
  std::string out;
  char buf[256];
  auto line = [&](const char* fmt, auto... args) {
    std::snprintf(buf, sizeof buf, fmt, args...);
    out += buf;
  };
  auto head = [&](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto one = [&](const char* name, const char* type, const char* help, long long v) {
    head(name, type, help);
    line("%s %lld\n", name, v);
  };
  head("relais_build_info", "gauge", "The relais build serving: its version in the label.");
  line("relais_build_info{version=\"%s\"} 1\n", Version());
  one("relais_appended_events_total", "counter", "Events appended (201, not duplicates).",
      appended_events_.load());
  one("relais_append_requests_total", "counter", "POST /v1/events requests that reached the writer.",
      append_requests_.load());
  one("relais_connections", "gauge", "Open HTTP connections.", connections.load());
  one("relais_connections_refused_total", "counter",
      "Connections refused over the connection caps (503).", connections_refused.load());
  one("relais_tls_handshake_failures_total", "counter",
      "TLS handshakes that failed or timed out (plain HTTP on the HTTPS port, a refused "
      "certificate or version).",
      tls_handshake_failures.load());
  one("relais_feed_subscribers", "gauge", "Open /v1/feed streams.", feed_subscribers.load());
  one("relais_access_journal_bytes", "gauge", "Size of every file of the access journal.",
      static_cast<long long>(o.journal_bytes));
  one("relais_access_journal_rotations_total", "counter",
      "Rotations of the access journal's active file.", static_cast<long long>(o.journal_rotations));
  one("relais_log_position", "gauge", "Position of the last event of the log (its event count).",
      static_cast<long long>(o.log_position));
  one("relais_log_lines_dropped_total", "counter",
      "Lines of the stderr log dropped because its queue was full.",
      static_cast<long long>(o.log_lines_dropped));
  const StorageStats& st = o.engine.storage;
  one("relais_rocksdb_wal_syncs_total", "counter", "Write-ahead log fsyncs of the log store.",
      st.wal_syncs);
  one("relais_rocksdb_wal_written_bytes_total", "counter",
      "Bytes written to the log store's write-ahead log.", st.wal_bytes);
  head("relais_rocksdb_write_stall_seconds_total", "counter",
       "Time writes to the log store were stalled by RocksDB.");
  line("relais_rocksdb_write_stall_seconds_total %.6f\n", static_cast<double>(st.write_stall_micros) / 1e6);
  one("relais_rocksdb_write_stopped", "gauge", "1 while RocksDB stops writes to the log store.",
      st.write_stopped);
  one("relais_rocksdb_compaction_pending", "gauge",
      "Column families of the log store with a compaction pending.", st.compaction_pending);
  one("relais_rocksdb_compaction_pending_bytes", "gauge",
      "Estimated bytes compaction must rewrite in the log store.", st.pending_compaction_bytes);
  one("relais_rocksdb_running_compactions", "gauge", "Compactions running in the log store.",
      st.running_compactions);
  one("relais_rocksdb_sst_bytes", "gauge",
      "Size of the log store's SST files, obsolete ones not yet deleted included.", st.sst_bytes);
  one("relais_rocksdb_live_sst_bytes", "gauge", "Size of the SST files of the log store's current version.",
      st.live_sst_bytes);
  one("relais_rocksdb_memtable_bytes", "gauge", "Size of the log store's memtables.", st.memtable_bytes);
  one("relais_rocksdb_flush_written_bytes_total", "counter", "Bytes written by memtable flushes.",
      st.flushed_bytes);
  one("relais_rocksdb_compaction_written_bytes_total", "counter", "Bytes written by compactions.",
      st.compacted_bytes);
  one("relais_stream_cache_streams", "gauge", "Streams held in the engine's stream cache.",
      o.engine.cached_streams);
  one("relais_stream_cache_events", "gauge", "Events held in the engine's stream cache.",
      o.engine.cached_events);
  out += RenderProcessStats(ReadProcessStats());
  std::lock_guard<std::mutex> lock(mu_);
  head("relais_refusals_total", "counter", "Appends refused, by contract code.");
  for (const auto& [code, n] : refusals_)
    line("relais_refusals_total{code=\"%s\"} %lld\n", code.c_str(), static_cast<long long>(n));
  head("relais_http_requests_total", "counter", "HTTP requests answered, by route and status.");
  for (const auto& [key, n] : requests_)
    line("relais_http_requests_total{route=\"%s\",status=\"%d\"} %lld\n", key.first.c_str(),
         key.second, static_cast<long long>(n));
  head("relais_http_request_duration_seconds", "histogram", "Request latency, by route.");
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
