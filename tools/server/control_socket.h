// The control socket of a running `relais serve` (interfaces.md §3): a write
// command (`import`, `erase`, `retention --apply`, `backup`, `token
// add|revoke`) given a data directory the server holds runs through it,
// against the server's own engine, instead of failing.
//
// DIR/control.sock is a unix-domain stream socket, mode 0600 in an
// owner-only directory; the server also checks the peer's uid
// (SO_PEERCRED) and serves only its own and root's. The server writes DIR/serve.json
// ({"pid", "listening", "control"}) so that a command that cannot use the
// socket names the HTTP endpoint to use instead (exit 6).
//
// Protocol: frames of one type byte, a 4-byte big-endian length and the
// payload. The client sends 'R' (the request, JSON {"command": C, "args":
// [..]}, at most kControlRequestBytesMax), then for a command that reads its
// input ('import') 'I' frames of at most kControlChunkBytesMax and one empty
// 'Z'. The server answers 'o' (bytes for stdout) and 'e' (stderr) frames in
// order, 'k' (empty, a heartbeat every kControlHeartbeatMs while the command
// runs), then 'x' (the exit code, decimal). One thread per connection, at
// most kControlConnectionsMax at once (beyond: exit 6 at once, "busy"); a
// client silent for kControlIdleMs while the server waits for its input is
// cut, and a client gives up on a server silent for as long. The server joins every connection before its engine closes.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relais/status.h"

namespace relais {
class Engine;
}

namespace relais::server {

inline constexpr size_t kControlRequestBytesMax = 64 << 10;
inline constexpr size_t kControlChunkBytesMax = 1 << 20;
inline constexpr size_t kControlConnectionsMax = 4;
inline constexpr int kControlIdleMs = 60000;
inline constexpr int kControlHeartbeatMs = 5000;
inline constexpr const char* kControlSocketName = "control.sock";
inline constexpr const char* kServeInfoName = "serve.json";

// Where a command writes: the process's stdout and stderr, or a control
// client's frames.
struct CommandOutput {
  std::function<void(std::string_view)> out, err;
};
const CommandOutput& StdOutput();

// The server side of one command: `command` and `args` as the client sent
// them, `input` its standard input (empty unless it sends one). Returns the
// exit code.
using ControlCommand =
    std::function<int(Engine& engine, const std::string& data_dir, const std::string& command,
                      const std::vector<std::string>& args, std::istream& input,
                      const CommandOutput& out)>;

class ControlServer {
 public:
  // Binds DIR/control.sock (replacing a stale one: the caller holds the
  // directory) and writes DIR/serve.json. A path too long for a unix socket
  // is no error: the server runs without, saying so on stderr.
  static Result<std::unique_ptr<ControlServer>> Start(Engine& engine, const std::string& data_dir,
                                                      const std::string& listening,
                                                      ControlCommand command);
  // Stops accepting, cuts the connections' sockets, joins their threads,
  // removes the socket and serve.json.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  struct Impl;
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The client: runs `command` through the server holding `data_dir`, copying
// its answer to this process's stdout and stderr, and returns its exit code;
// nullopt when there is no socket to go through (none, or it refuses the
// connection). `input`: sent as the command's standard input, when given.
std::optional<int> RunThroughServer(const std::string& data_dir, const std::string& command,
                                    const std::vector<std::string>& args, std::istream* input);

// "http://ADDR:PORT" of the server holding `data_dir` (from DIR/serve.json,
// when its pid is `holder`), or "".
std::string ServerEndpoint(const std::string& data_dir, pid_t holder);

}  // namespace relais::server
