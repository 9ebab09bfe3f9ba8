// The write commands that take the data directory as its writer: import,
// erase, backup (and `retention --apply`, lifecycle_commands.cc; `token`,
// server/commands.cc). When a running `relais serve` holds the directory they
// run through its control socket (server/control_socket.h), against its
// engine; where they cannot, they exit 6 naming the holder's pid and the
// server's endpoint (interfaces.md §3).
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "relais/engine.h"
#include "server/control_socket.h"

namespace relais::cli {

int RunImport(const std::string& dir, const std::string& file);
int RunErase(const std::string& dir, const std::string& subject, const std::string& reason);
int RunBackup(const std::string& dir, const std::string& dest);

// An open of `dir` answered Busy: runs `command` through the server that
// holds it, or exits 6 naming the holder's pid, its endpoint and `hint`.
int ThroughServerOrHeld(const std::string& dir, const Status& st, const std::string& command,
                        const std::vector<std::string>& args, std::istream* input,
                        const std::string& hint);

// exit 6: `dir` is held (an open answered `st`, Busy) and the command
// cannot go through the server; names the holder's pid, its endpoint, `hint`.
int ExitHeld(const std::string& dir, const Status& st, const std::string& hint);

// The server's side of the control socket (server::ControlCommand): one
// write command on the server's engine, its output to `out`.
int RunControlCommand(Engine& engine, const std::string& dir, const std::string& command,
                      const std::vector<std::string>& args, std::istream& input,
                      const server::CommandOutput& out);

}  // namespace relais::cli
