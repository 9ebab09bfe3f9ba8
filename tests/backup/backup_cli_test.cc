// `relais backup` / `relais restore` through the real binary: exit codes,
// JSON on stdout, and exit 6 naming the pid when a server holds the data
// directory (interfaces.md §3).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "server/server_harness.h"
#include "support/test_support.h"

extern char** environ;

namespace relais::testing {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int code = -1;
  std::string out, err;
};

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// `relais ARGS...` with stdout and stderr each in a file under `scratch`.
CliRun Relais(const std::string& scratch, const std::vector<std::string>& args) {
  std::vector<std::string> full = {RELAIS_BIN};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string out = scratch + "/stdout", err = scratch + "/stderr";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  CliRun r;
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return r;
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = Slurp(out);
  r.err = Slurp(err);
  return r;
}

std::string Household(int n) {
  return Ev(n, "HouseholdRegistered", "household/H" + std::to_string(n), "2015-01-01",
            R"({"territory":"lille","commune":"Lille","adults":1,"children":0,"headOfHousehold":{"name":"Nom-)" +
                std::to_string(n) + R"(","birthDate":"1980-01-01"}})");
}

class BackupCli : public ::testing::Test {
 protected:
  void SetUp() override {
    data = dir.path() + "/data";
    std::ofstream f(dir.path() + "/events.ndjson");
    for (int i = 1; i <= 30; ++i) f << Household(i) << "\n";
    f.close();
    CliRun r = Relais(dir.path(), {"--data", data, "import", dir.path() + "/events.ndjson"});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  TempDir dir;
  std::string data;
};

TEST_F(BackupCli, BackupThenRestorePrintsTheSameHeadAndVerifies) {
  std::string dest = dir.path() + "/b";
  CliRun b = Relais(dir.path(), {"--data", data, "backup", dest});
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_NE(b.out.find("\"dest\":\"" + dest + "\""), std::string::npos) << b.out;
  EXPECT_NE(b.out.find("\"position\":30"), std::string::npos) << b.out;
  size_t at = b.out.find("\"head\":\"");
  ASSERT_NE(at, std::string::npos);
  std::string head = b.out.substr(at + 8, 64);

  std::string target = dir.path() + "/restored";
  CliRun r = Relais(dir.path(), {"--data", target, "restore", dest});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"position\":30,\"head\":\"" + head + "\",\"erasuresApplied\":0}\n");
  CliRun v = Relais(dir.path(), {"--data", target, "verify"});
  EXPECT_EQ(v.code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find(head), std::string::npos);
  CliRun h = Relais(dir.path(), {"--data", target, "history", "household/H7"});
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("Nom-7"), std::string::npos) << h.out;

  // Exit codes: existing dest 2, non-empty target 2, damaged backup 4,
  // missing backup 5, and a backup of no data directory 5.
  EXPECT_EQ(Relais(dir.path(), {"--data", data, "backup", dest}).code, 2);
  CliRun again = Relais(dir.path(), {"--data", target, "restore", dest});
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
  EXPECT_EQ(Relais(dir.path(), {"--data", target, "restore", dest, "--force"}).code, 0);
  {
    std::ofstream t(dest + "/tokens.json");  // a file the backup did not have
  }
  fs::remove(dest + "/BACKUP.json");
  CliRun incomplete = Relais(dir.path(), {"--data", dir.path() + "/r2", "restore", dest});
  EXPECT_EQ(incomplete.code, 4);
  EXPECT_NE(incomplete.err.find("incomplete"), std::string::npos) << incomplete.err;
  EXPECT_EQ(Relais(dir.path(), {"--data", dir.path() + "/r3", "restore", dir.path() + "/no"}).code,
            5);
  CliRun none = Relais(dir.path(), {"--data", dir.path() + "/nodata", "backup", dir.path() + "/b2"});
  EXPECT_EQ(none.code, 5);
  EXPECT_NE(none.out.find("no_data_directory"), std::string::npos) << none.out;
  EXPECT_FALSE(fs::exists(dir.path() + "/nodata"));
  EXPECT_FALSE(fs::exists(dir.path() + "/b2"));
}

TEST_F(BackupCli, HeldDirectoryExitsSixNamingThePid) {
  ServerProcess server(data);
  ASSERT_TRUE(server.Start());
  std::string pid = "process " + std::to_string(server.pid());

  CliRun b = Relais(dir.path(), {"--data", data, "backup", dir.path() + "/b"});
  EXPECT_EQ(b.code, 6) << b.err;
  EXPECT_NE(b.err.find(pid), std::string::npos) << b.err;
  EXPECT_NE(b.err.find("POST /v1/backup"), std::string::npos) << b.err;
  EXPECT_FALSE(fs::exists(dir.path() + "/b"));

  CliRun i = Relais(dir.path(), {"--data", data, "import", dir.path() + "/events.ndjson"});
  EXPECT_EQ(i.code, 6) << i.err;
  EXPECT_NE(i.err.find(pid), std::string::npos) << i.err;

  CliRun second = Relais(dir.path(), {"--data", data, "serve", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(second.code, 6) << second.err;
  EXPECT_NE(second.err.find(pid), std::string::npos) << second.err;

  // A restore over a held directory, even with --force.
  server.Stop();
  std::string dest = dir.path() + "/b";
  ASSERT_EQ(Relais(dir.path(), {"--data", data, "backup", dest}).code, 0);
  ServerProcess again(data);
  ASSERT_TRUE(again.Start());
  CliRun r = Relais(dir.path(), {"--data", data, "restore", dest, "--force"});
  EXPECT_EQ(r.code, 6) << r.err;
  EXPECT_NE(r.err.find("process " + std::to_string(again.pid())), std::string::npos) << r.err;
  // Reads still work while held.
  EXPECT_EQ(Relais(dir.path(), {"--data", data, "verify"}).code, 0);
}

TEST(BackupCliHelp, BothCommandsDescribeTheirArguments) {
  TempDir d;
  CliRun b = Relais(d.path(), {"backup", "--help"});
  EXPECT_EQ(b.code, 0);
  EXPECT_NE(b.out.find("DEST"), std::string::npos) << b.out;
  EXPECT_NE(b.out.find("POST /v1/backup"), std::string::npos) << b.out;
  CliRun r = Relais(d.path(), {"restore", "--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* word : {"SRC", "--erasures", "--force"})
    EXPECT_NE(r.out.find(word), std::string::npos) << word << "\n" << r.out;
  EXPECT_EQ(Relais(d.path(), {"restore"}).code, 2);  // SRC is required
}

}  // namespace
}  // namespace relais::testing
