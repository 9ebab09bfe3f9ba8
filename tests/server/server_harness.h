// Test harness for `relais serve`: runs the real binary (RELAIS_BIN, set by
// CMake) on a temporary data directory and a free port (--listen :0, the port
// read from its first stdout line), and a small synchronous Beast client.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace relais::testing {

struct HttpResult {
  int status = 0;  // 0: the connection failed
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

// One request on a fresh connection.
HttpResult Http(uint16_t port, const std::string& method, const std::string& target,
                const std::string& body = "", const std::string& token = "",
                const std::vector<std::pair<std::string, std::string>>& headers = {},
                int timeout_ms = 60000);
// Raw bytes on a fresh connection; returns what the server answered (until
// it closes or `timeout_ms`).
// An open connection that sends nothing (or `bytes`); -1 on failure. Close it with ::close.
int OpenIdleConnection(uint16_t port, const std::string& bytes = "");
std::string RawExchange(uint16_t port, const std::string& bytes, int timeout_ms = 5000);
// The same from a source address, with `timeout_ms` bounding the connect too
// (a listener that does not accept cannot hold the test).
std::string RawExchangeFrom(const std::string& source, uint16_t port, const std::string& bytes,
                            int timeout_ms);

// The same from a chosen local source address (e.g. "127.0.0.3"): the whole
// of 127/8 is this host, so tests can play several clients.
HttpResult HttpFrom(const std::string& source, uint16_t port, const std::string& method,
                    const std::string& target, const std::string& body = "",
                    const std::string& token = "", int timeout_ms = 60000);
// `nonblocking`: returns as soon as the SYN is sent, connected or not (to
// queue many connections on a listener that is not accepting).
int OpenIdleConnectionFrom(const std::string& source, uint16_t port,
                           const std::string& bytes = "", bool nonblocking = false);

// The binary under test: $RELAIS_TEST_BIN when set (to run the tests against
// an older build and see them fail), else the one CMake built.
std::string RelaisBin();

// Runs `relais ARGS...`, returns its exit code and stdout.
int RunRelais(const std::vector<std::string>& args, std::string* out);

// Runs `relais --data DIR ARGS...`, returns its stdout and sets *rc.
std::string RunIn(const std::string& dir, const std::vector<std::string>& args, int* rc);

// Writes `lines` to the NDJSON file `file` and runs `relais --data DIR
// import` on it; returns the exit code (*out: its stdout).
int ImportLines(const std::string& dir, const std::string& file, const std::vector<std::string>& lines,
                std::string* out);
// The same with stderr folded into `out` (the errors an administrator reads).
int RunRelaisWithStderr(const std::vector<std::string>& args, std::string* out);
// Runs `relais ARGS...` with standard input from `stdin_file` (/dev/null
// when empty); exit code (-1 when it did not exit), stdout and stderr.
struct CliResult {
  int code = -1;
  std::string out, err;
};
CliResult RunCli(const std::vector<std::string>& args, const std::string& stdin_file = "");

// `relais token add` in `dir`; returns the secret.
std::string AddToken(const std::string& dir, const std::string& name, const std::string& role,
                     const std::string& territory = "", const std::string& org = "");

class ServerProcess {
 public:
  explicit ServerProcess(std::string data_dir, std::vector<std::string> extra_args = {})
      : dir_(std::move(data_dir)), extra_(std::move(extra_args)) {}
  ~ServerProcess() { Kill(); }
  // Starts and waits until it listens. False on failure.
  bool Start();
  // SIGTERM and wait; returns the exit status (or -1).
  int Stop();
  void Kill();  // SIGKILL and reap
  // Runs the server with this open-file limit (soft and hard), via prlimit.
  void set_nofile(int n) { nofile_ = n; }
  // Appends the server's stderr to this file instead of the test's stderr.
  void set_stderr_path(std::string path) { stderr_path_ = std::move(path); }
  // Listens on this port instead of a free one (a restart on the port its
  // clients know).
  void set_port(uint16_t port) { fixed_port_ = port; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  std::string dir_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int nofile_ = 0;
  std::string stderr_path_;
  uint16_t fixed_port_ = 0;
};

// An SSE client: connects to /v1/feed and collects events.
class SseClient {
 public:
  SseClient(uint16_t port, const std::string& token, const std::string& target,
            const std::string& last_event_id = "");
  ~SseClient();
  bool ok() const { return fd_ >= 0; }
  int status() const { return status_; }
  struct Event {
    std::string id, event, data;
  };
  // Reads until `n` events arrived or `timeout_ms` passed.
  std::vector<Event> Read(size_t n, int timeout_ms);

 private:
  bool Fill(int timeout_ms);
  int fd_ = -1;
  int status_ = 0;
  std::string target_;  // for the record of its answer (RELAIS_RECORD_RESPONSES)
  std::string buf_;
  bool header_done_ = false;
};

// An event line like tests/support Ev(), with an explicit id text.
std::string Event(const std::string& id, const std::string& type, const std::string& subject,
                  const std::string& date, const std::string& data);
std::string Uuid(int n);

}  // namespace relais::testing
