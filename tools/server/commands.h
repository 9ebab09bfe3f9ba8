// The command-line entry points of the server and the token store
// (interfaces.md §1: `relais serve`, `relais token add|list|revoke`).
// Each returns the process exit code and prints as the contract says.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace relais::server {

// The operator's options of `relais serve` (docs/server.md): checked by
// RunServe, a bad value is a usage error naming the option.
struct ServeOps {
  std::string log_level = "info";  // --log-level
  // --journal-max-bytes: the active journal file's size cap, bytes or with a
  // binary suffix (K, M, G: KiB, MiB, GiB); --journal-max-age: how long
  // rotated files are kept, in days ("365d").
  std::string journal_max_bytes = "64M";
  std::string journal_max_age = "365d";
  std::string metrics_listen;  // --metrics-listen ADDR:PORT; empty: none
};

int RunServe(const std::string& data_dir, const std::string& listen, size_t max_connections,
             uint64_t feed_lag_max, int64_t checkpoint_interval_s = 1,
             const std::string& origin = "", const ServeOps& ops = {});
int RunTokenAdd(const std::string& data_dir, const std::string& name, const std::string& role,
                const std::string& territory, const std::string& org);
int RunTokenList(const std::string& data_dir);
int RunTokenRevoke(const std::string& data_dir, const std::string& name);

}  // namespace relais::server
