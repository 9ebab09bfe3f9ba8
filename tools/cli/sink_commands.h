// `relais sink postgres` (docs/sink.md) and `relais export` (the
// pseudonymised export, NDJSON envelopes or CloudEvents).
// Each returns the process's exit code: 0, 1, 2, 5, and for the sink 7 when
// the database belongs to another log (kExitSinkMismatch).
#pragma once

#include <cstdint>
#include <string>

namespace relais::cli {

struct SinkArgs {
  std::string dsn;
  std::string scope = "evaluator";
  std::string schema = "relais";
  std::string events_format = "envelope";
  int64_t batch = 500000;
  int64_t poll_ms = 500;
  bool once = false;
  // A running server followed through its feed (sink/feed_source.h).
  std::string url, token, replica;
  bool data_given = false;  // --data was on the command line
};
int RunSink(const std::string& data_dir, const SinkArgs& args);

struct ExportArgs {
  std::string known_at;
  std::string format = "ndjson";
};
int RunExport(const std::string& data_dir, const ExportArgs& args);

}  // namespace relais::cli
