// The command-line entry points of the server and the token store
// (interfaces.md §1: `relais serve`, `relais token add|list|revoke`).
// Each returns the process exit code and prints as the contract says.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "server/control_socket.h"

namespace relais::server {

int RunServe(const std::string& data_dir, const std::string& listen, size_t max_connections,
             uint64_t feed_lag_max, int64_t checkpoint_interval_s = 1,
             const std::string& origin = "", ControlCommand control = {});
// `expires`: "" for a token that does not expire, else a lifetime such as
// 90d (ParseLifetime).
int RunTokenAdd(const std::string& data_dir, const std::string& name, const std::string& role,
                const std::string& territory, const std::string& org,
                const std::string& expires = "", const CommandOutput& out = StdOutput());
int RunTokenList(const std::string& data_dir);
int RunTokenRevoke(const std::string& data_dir, const std::string& name,
                   const CommandOutput& out = StdOutput());

}  // namespace relais::server
