// Running relais as a service (issue 13): the one version string (`relais
// --version`, `relais version`, GET /healthz) and `relais serve --config`.
// The real binary, driven as an administrator would.
#include <gtest/gtest.h>

#include <filesystem>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "server/server_harness.h"
#include "support/test_support.h"

namespace relais::testing {
namespace {

int RunWithStderr(const std::vector<std::string>& args, std::string* out) {
  return RunRelaisWithStderr(args, out);
}

TEST(VersionTest, FlagAndCommandPrintTheConfiguredVersion) {
  const std::string expected = std::string("relais ") + RELAIS_EXPECTED_VERSION + "\n";
  std::string out;
  EXPECT_EQ(RunRelais({"--version"}, &out), 0);
  EXPECT_EQ(out, expected);
  EXPECT_EQ(RunRelais({"version"}, &out), 0);
  EXPECT_EQ(out, expected);
  // The project version leads, whatever git said at configure time.
  EXPECT_EQ(std::string(RELAIS_EXPECTED_VERSION).rfind(RELAIS_PROJECT_VERSION, 0), 0u)
      << RELAIS_EXPECTED_VERSION;
  // `version` takes no argument: an extra one is a usage error, not ignored.
  EXPECT_EQ(RunRelais({"version", "extra"}, &out), 2);
}

TEST(VersionTest, HealthzSaysTheVersionAndKeepsOk) {
  TempDir dir;
  // serve initialises an existing empty directory (interfaces.md §3).
  std::filesystem::create_directory(dir.path() + "/data");
  ServerProcess server(dir.path() + "/data");
  ASSERT_TRUE(server.Start());
  HttpResult r = Http(server.port(), "GET", "/healthz");
  ASSERT_EQ(r.status, 200);
  simdjson::dom::parser p;
  simdjson::dom::object o;
  ASSERT_FALSE(p.parse(r.body).get_object().get(o)) << r.body;
  bool ok = false;
  EXPECT_FALSE(o["ok"].get_bool().get(ok));
  EXPECT_TRUE(ok);
  std::string_view v;
  ASSERT_FALSE(o["version"].get_string().get(v)) << r.body;
  EXPECT_EQ(v, RELAIS_EXPECTED_VERSION);
  EXPECT_EQ(o.size(), 2u) << r.body;
  EXPECT_EQ(server.Stop(), 0);
}

// ---- relais serve --config FILE ----

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

// `relais serve --config FILE ARGS... --check-config`: the settings it would
// serve with, as JSON (parsed), or the error text.
struct Checked {
  int rc = -1;
  std::string out;
};
Checked CheckConfig(const std::string& file, std::vector<std::string> args = {}) {
  std::vector<std::string> full = {"serve", "--config", file, "--check-config"};
  full.insert(full.end(), args.begin(), args.end());
  Checked c;
  c.rc = RunWithStderr(full, &c.out);
  return c;
}

std::string StringAt(const std::string& json, const char* pointer) {
  simdjson::dom::parser p;
  std::string_view v;
  if (p.parse(json).at_pointer(pointer).get_string().get(v)) return "<absent>";
  return std::string(v);
}
int64_t IntAt(const std::string& json, const char* pointer) {
  simdjson::dom::parser p;
  int64_t v = -1;
  if (p.parse(json).at_pointer(pointer).get_int64().get(v)) return -1;
  return v;
}

class ConfigTest : public ::testing::Test {
 protected:
  std::string File(const std::string& text) {
    std::string f = dir_.path() + "/relais.toml";
    WriteText(f, text);
    return f;
  }
  TempDir dir_;
};

TEST_F(ConfigTest, FileSettingsApplyAndTheCommandLineOverridesThem) {
  std::string f = File(R"(# relais.toml
data = "state"            # relative: the file's directory
listen = "127.0.0.1:9"
max_connections = 77
feed_lag_max = 500
checkpoint_interval = 0
log_level = "debug"
origin = "relais/test-config"

[retention]
years = 3
keep_history_years = 7
)");
  Checked c = CheckConfig(f);
  ASSERT_EQ(c.rc, 0) << c.out;
  EXPECT_EQ(StringAt(c.out, "/data"), dir_.path() + "/state") << c.out;
  EXPECT_EQ(StringAt(c.out, "/listen"), "127.0.0.1:9");
  EXPECT_EQ(IntAt(c.out, "/maxConnections"), 77);
  EXPECT_EQ(IntAt(c.out, "/feedLagMax"), 500);
  EXPECT_EQ(IntAt(c.out, "/checkpointInterval"), 0);
  EXPECT_EQ(StringAt(c.out, "/logLevel"), "debug");
  EXPECT_EQ(StringAt(c.out, "/origin"), "relais/test-config");
  EXPECT_EQ(IntAt(c.out, "/retention/years"), 3);
  EXPECT_EQ(IntAt(c.out, "/retention/keepHistoryYears"), 7);
  EXPECT_NE(c.out.find("\"tls\":null"), std::string::npos) << c.out;

  // Every option given on the command line wins over the file, the global
  // --data too (before or after the command).
  c = CheckConfig(f, {"--listen", "127.0.0.1:10", "--max-connections", "55", "--data", "/srv/x",
                      "--checkpoint-interval", "5", "--retention-years", "4"});
  ASSERT_EQ(c.rc, 0) << c.out;
  EXPECT_EQ(StringAt(c.out, "/data"), "/srv/x");
  EXPECT_EQ(StringAt(c.out, "/listen"), "127.0.0.1:10");
  EXPECT_EQ(IntAt(c.out, "/maxConnections"), 55);
  EXPECT_EQ(IntAt(c.out, "/checkpointInterval"), 5);
  EXPECT_EQ(IntAt(c.out, "/retention/years"), 4);
  EXPECT_EQ(IntAt(c.out, "/retention/keepHistoryYears"), 7);  // not given: the file's
  EXPECT_EQ(IntAt(c.out, "/feedLagMax"), 500);

  // Without a file: the built-in defaults.
  std::string out;
  ASSERT_EQ(RunWithStderr({"serve", "--check-config"}, &out), 0) << out;
  EXPECT_EQ(StringAt(out, "/listen"), "127.0.0.1:8080");
  EXPECT_EQ(IntAt(out, "/checkpointInterval"), 1);
  EXPECT_EQ(IntAt(out, "/retention/years"), 2);
  EXPECT_EQ(StringAt(out, "/logLevel"), "info");
  EXPECT_NE(out.find("\"cookieSecure\":false"), std::string::npos) << out;
  // Behind a TLS-terminating proxy the console's cookie is marked Secure.
  ASSERT_EQ(RunWithStderr({"serve", "--cookie-secure", "--check-config"}, &out), 0) << out;
  EXPECT_NE(out.find("\"cookieSecure\":true"), std::string::npos) << out;
}

// Every setting of `relais serve` can be made in the file (the packaged
// unit runs `serve --config` alone). Before: journal_max_bytes,
// journal_max_age, metrics_listen and cookie_secure were "unknown key"s, so
// behind nginx the console's cookie went without Secure unless a drop-in
// added --cookie-secure, which docs/deploy.md never said.
TEST_F(ConfigTest, TheOperationsSettingsAreInTheFileToo) {
  std::string f = File(R"(journal_max_bytes = "2M"
journal_max_age = "30d"
metrics_listen = "127.0.0.1:9100"
cookie_secure = true
)");
  Checked c = CheckConfig(f);
  ASSERT_EQ(c.rc, 0) << c.out;
  EXPECT_EQ(IntAt(c.out, "/journalMaxBytes"), 2 << 20) << c.out;
  EXPECT_EQ(IntAt(c.out, "/journalMaxAgeDays"), 30);
  EXPECT_EQ(StringAt(c.out, "/metricsListen"), "127.0.0.1:9100");
  EXPECT_NE(c.out.find("\"cookieSecure\":true"), std::string::npos) << c.out;
  // The command line still wins.
  c = CheckConfig(f, {"--journal-max-age", "7d", "--metrics-listen", "127.0.0.1:9101"});
  ASSERT_EQ(c.rc, 0) << c.out;
  EXPECT_EQ(IntAt(c.out, "/journalMaxAgeDays"), 7);
  EXPECT_EQ(StringAt(c.out, "/metricsListen"), "127.0.0.1:9101");
  // A bad value names the file's key, its line, and what is expected.
  c = CheckConfig(File("\ncookie_secure = \"yes\"\n"));
  EXPECT_EQ(c.rc, 2);
  EXPECT_NE(c.out.find("relais.toml:2: cookie_secure: a string, where a boolean is expected"),
            std::string::npos) << c.out;
  c = CheckConfig(File("journal_max_bytes = \"12\"\n"));
  EXPECT_EQ(c.rc, 2);
  EXPECT_NE(c.out.find("journal_max_bytes"), std::string::npos) << c.out;
}

TEST_F(ConfigTest, ErrorsNameTheFileTheLineAndTheKey) {
  struct Case {
    std::string text, expected;
  };
  const std::vector<Case> cases = {
      {"listen = \"127.0.0.1:1\"\nmax_conections = 5\n", ":2: unknown key 'max_conections'"},
      {"\n\n[tlss]\ncert = \"a\"\n", ":3: unknown key 'tlss'"},
      {"[tls]\ncrt = \"a\"\n", ":2: unknown key 'tls.crt'"},
      {"listen = \"x:1\"\n\nmax_connections = \"many\"\n",
       ":3: max_connections: a string, where an integer is expected"},
      {"[tls]\ncert = 5\n", ":2: tls.cert: an integer, where a string is expected"},
      {"checkpoint_interval = 1.5\n",
       ":1: checkpoint_interval: a floating-point number, where an integer is expected"},
      {"checkpoint_interval = 100000\n",
       ":1: checkpoint_interval: 100000 is out of range (0 to 86400)"},
      {"[retention]\nyears = -1\n", ":2: retention.years: -1 is out of range (0 to 100)"},
      {"tls = \"on\"\n", ":1: tls: a string, where a table [tls] is expected"},
      {"log_level = \"verbose\"\n", ":1: log_level: 'verbose' is not one of trace, debug"},
      {"listen = \n", ":1: not valid TOML"},
      {"listen = \"\"\n", ":1: listen: an empty string"},
      {"listen = \"a\"\nlisten = \"b\"\n", ":2: not valid TOML"},
  };
  for (const auto& c : cases) {
    std::string f = File(c.text);
    Checked r = CheckConfig(f);
    EXPECT_EQ(r.rc, 2) << c.text << r.out;
    EXPECT_NE(r.out.find(f + c.expected), std::string::npos) << c.text << "\n-> " << r.out;
  }
  // The listen address is checked like the option's.
  Checked r = CheckConfig(File("listen = \"127.0.0.1\"\n"));
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("'127.0.0.1' is not ADDR:PORT"), std::string::npos) << r.out;
  // A file that is not there, or not a file.
  r = CheckConfig(dir_.path() + "/absent.toml");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find(dir_.path() + "/absent.toml: cannot read"), std::string::npos) << r.out;
  r = CheckConfig(dir_.path());
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("is a directory"), std::string::npos) << r.out;
  // Larger than 1 MiB: refused before parsing.
  r = CheckConfig(File(std::string(2 << 20, '#')));
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("at most 1 MiB"), std::string::npos) << r.out;
}

// The file's settings reach the running server: its retention defaults
// decide GET /v1/retention, and a request's own `years` still wins.
TEST_F(ConfigTest, TheServerRunsWithTheFilesSettings) {
  std::string data = dir_.path() + "/data";
  std::string events = dir_.path() + "/events.ndjson";
  WriteText(events, Ev(1, "HouseholdRegistered", "household/H-C1", "2017-03-01",
                       R"({"territory":"sud","commune":"Cambrai","adults":2,"children":0,"headOfHousehold":{"name":"Dominique Autre","birthDate":"1970-02-03"}})") +
                        "\n");
  std::string out;
  ASSERT_EQ(RunRelais({"--data", data, "import", events}, &out), 0) << out;
  std::string admin = AddToken(data, "adm", "admin");
  ASSERT_FALSE(admin.empty());
  const std::string due = "\"subject\":\"household/H-C1\"";
  {
    ServerProcess server(data);  // no file: 2 years, due on 2019-03-01
    ASSERT_TRUE(server.Start());
    HttpResult r = Http(server.port(), "GET", "/v1/retention?asOf=2019-03-01", "", admin);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find(due), std::string::npos) << r.body;
    EXPECT_EQ(server.Stop(), 0);
  }
  std::string f = File("[retention]\nyears = 3\n");
  ServerProcess server(data, {"--config", f});
  ASSERT_TRUE(server.Start());
  HttpResult r = Http(server.port(), "GET", "/v1/retention?asOf=2019-03-01", "", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find(due), std::string::npos) << r.body;
  r = Http(server.port(), "GET", "/v1/retention?asOf=2020-03-01", "", admin);
  EXPECT_NE(r.body.find(due + ",\"lastContact\":\"2017-03-01\",\"dueOn\":\"2020-03-01\""),
            std::string::npos)
      << r.body;
  r = Http(server.port(), "GET", "/v1/retention?asOf=2019-03-01&years=2", "", admin);
  EXPECT_NE(r.body.find(due), std::string::npos) << r.body;
  EXPECT_EQ(server.Stop(), 0);
}

// ---- systemd: Type=notify ----

// The datagrams `relais serve` sends to $NOTIFY_SOCKET (sd_notify), as
// systemd would receive them.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  // Every datagram until one holds `want`, or `timeout_ms`.
  std::string WaitFor(const std::string& want, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (got_.find(want) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) got_.append(buf, static_cast<size_t>(n)).append("\n--\n");
    }
    return got_;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::string got_;
};

TEST(SystemdTest, ReadyOnceListeningStoppingAtTheEnd) {
  TempDir dir;
  // sun_path is short: the socket lives in the temporary directory itself.
  NotifySocket notify(dir.path() + "/n.sock");
  ASSERT_TRUE(notify.ok()) << dir.path();
  ::setenv("NOTIFY_SOCKET", (dir.path() + "/n.sock").c_str(), 1);
  std::filesystem::create_directory(dir.path() + "/data");
  ServerProcess server(dir.path() + "/data");
  bool started = server.Start();
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE(started);
  std::string got = notify.WaitFor("READY=1", 10000);
  EXPECT_NE(got.find("READY=1"), std::string::npos) << got;
  EXPECT_NE(got.find("STATUS=listening on 127.0.0.1:" + std::to_string(server.port())),
            std::string::npos)
      << got;
  EXPECT_EQ(got.find("STOPPING=1"), std::string::npos) << got;
  // Ready means accepting.
  EXPECT_EQ(Http(server.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(server.Stop(), 0);
  got = notify.WaitFor("STOPPING=1", 10000);
  EXPECT_NE(got.find("STOPPING=1"), std::string::npos) << got;
}

}  // namespace
}  // namespace relais::testing
