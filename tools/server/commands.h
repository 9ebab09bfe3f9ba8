// The command-line entry points of the server and the token store
// (interfaces.md §1: `relais serve`, `relais token add|list|revoke`).
// Each returns the process exit code and prints as the contract says.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "relais/status.h"
#include "server/control_socket.h"
#include "server/http_server.h"

namespace relais::server {

// `options` complete but for the address and port (ParseListen).
int RunServe(ServerOptions options);
// "ADDR:PORT" ("[v6]:PORT" too) into options->address and ->port; an
// InvalidArgument naming --listen otherwise.
Status ParseListen(const std::string& listen, ServerOptions* options);

// The operator's options of `relais serve` given as text (docs/server.md).
struct ServeOps {
  std::string log_level = "info";  // --log-level
  // --journal-max-bytes: the active journal file's size cap, bytes or with a
  // binary suffix (K, M, G: KiB, MiB, GiB); --journal-max-age: how long
  // rotated files are kept, in days ("365d").
  std::string journal_max_bytes = "64M";
  std::string journal_max_age = "365d";
  std::string metrics_listen;  // --metrics-listen ADDR:PORT; empty: none
};
// Checks `ops` into `options`; an InvalidArgument naming the option
// otherwise (a usage error).
Status ParseServeOps(const ServeOps& ops, ServerOptions* options);
// `expires`: "" for a token that does not expire, else a lifetime such as
// 90d (ParseLifetime).
int RunTokenAdd(const std::string& data_dir, const std::string& name, const std::string& role,
                const std::string& territory, const std::string& org,
                const std::string& expires = "", const CommandOutput& out = StdOutput());
int RunTokenList(const std::string& data_dir);
int RunTokenRevoke(const std::string& data_dir, const std::string& name,
                   const CommandOutput& out = StdOutput());

}  // namespace relais::server
