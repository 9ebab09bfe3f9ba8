// The command-line entry points of the server and the token store
// (interfaces.md §1: `relais serve`, `relais token add|list|revoke`).
// Each returns the process exit code and prints as the contract says.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace relais::server {

// `serve --sink-dsn DSN [--sink-scope S] [--sink-schema N] [--sink-events-format F]`.
struct ServeSinkArgs {
  std::string dsn;  // empty: no sink
  std::string scope = "evaluator";
  std::string schema = "relais";
  std::string events_format = "envelope";
};

int RunServe(const std::string& data_dir, const std::string& listen, size_t max_connections,
             uint64_t feed_lag_max, int64_t checkpoint_interval_s = 1,
             const std::string& origin = "", const ServeSinkArgs& sink = {});
int RunTokenAdd(const std::string& data_dir, const std::string& name, const std::string& role,
                const std::string& territory, const std::string& org);
int RunTokenList(const std::string& data_dir);
int RunTokenRevoke(const std::string& data_dir, const std::string& name);

}  // namespace relais::server
