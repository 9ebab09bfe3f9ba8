// `relais backup` / `relais restore` through the real binary: exit codes,
// JSON on stdout, and exit 6 naming the pid when a server holds the data
// directory (interfaces.md §3).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <atomic>
#include <thread>

#include "backup/backup.h"
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
  // Without its control socket (a server that cannot take the command: the
  // socket's path too long, or an older relais), the writes exit 6.
  ASSERT_EQ(::unlink((data + "/control.sock").c_str()), 0);

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

// A server that does not see the destination's directory as the command
// does (the packaged unit's PrivateTmp: its own /tmp) refuses a backup sent
// through its control socket, naming why, rather than write it out of the
// caller's reach. Before: exit 0 and {"dest": ...}, and the caller found
// nothing there. The server runs in its own mount namespace with a tmpfs
// over `outside` (unshare; skipped, saying so, where it is not permitted).
TEST_F(BackupCli, ABackupTheServerWouldWriteOutOfReachIsRefused) {
  std::string outside = dir.path() + "/outside";
  fs::create_directory(outside);
  if (std::system("unshare -m --propagation private sh -c 'mount -t tmpfs none /mnt' "
                  ">/dev/null 2>&1") != 0)
    GTEST_SKIP() << "unshare -m with a mount is not permitted here (needs CAP_SYS_ADMIN)";
  std::string wrapper = dir.path() + "/in-namespace.sh";
  std::ofstream(wrapper) << "#!/bin/sh\nexec unshare -m --propagation private sh -c "
                            "'bin=$1; shift; mount -t tmpfs none \"$0\" && exec \"$bin\" \"$@\"' "
                         << "'" << outside << "' '" << RELAIS_BIN << "' \"$@\"\n";
  fs::permissions(wrapper, fs::perms::owner_all);
  ::setenv("RELAIS_TEST_BIN", wrapper.c_str(), 1);
  ServerProcess server(data);
  bool started = server.Start();
  ::unsetenv("RELAIS_TEST_BIN");
  ASSERT_TRUE(started);
  CliRun b = Relais(dir.path(), {"--data", data, "backup", outside + "/b"});
  EXPECT_EQ(b.code, 2) << b.out << b.err;
  EXPECT_NE(b.err.find("does not see " + outside), std::string::npos) << b.err;
  EXPECT_FALSE(fs::exists(outside + "/b"));
  // A directory both see: through the server, done.
  CliRun ok = Relais(dir.path(), {"--data", data, "backup", dir.path() + "/b2"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_TRUE(fs::exists(dir.path() + "/b2/" + backup::kManifestName)) << ok.out;
  EXPECT_EQ(server.Stop(), 0);
}

// With a server holding the directory, the backup goes through it: POST
// /v1/backup while clients append; the restored copy verifies, its head is the
// position and hash the server reported, and it holds every event answered
// before the backup was asked for.
TEST_F(BackupCli, ServerBacksUpUnderLoad) {
  std::string admin = AddToken(data, "adm", "admin");
  std::string coord = AddToken(data, "coord", "coordinator", "lille");
  ServerProcess server(data);
  ASSERT_TRUE(server.Start());
  std::atomic<bool> stop{false};
  std::atomic<int> before{0};
  std::atomic<bool> asked{false};
  std::thread writer([&] {
    for (int i = 100; !stop && i < 100000; ++i) {
      HttpResult r = Http(server.port(), "POST", "/v1/events", Household(i), admin);
      if (r.status == 201 && !asked) before = i;
    }
  });
  while (before < 120) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::string dest = dir.path() + "/served-backup";
  int answered_before = before;
  asked = true;
  EXPECT_EQ(Http(server.port(), "POST", "/v1/backup", "{\"dest\":\"" + dest + "\"}", coord).status, 403);
  EXPECT_EQ(Http(server.port(), "POST", "/v1/backup", "{\"dest\":\"relative\"}", admin).status, 400);
  HttpResult b = Http(server.port(), "POST", "/v1/backup", "{\"dest\":\"" + dest + "\"}", admin);
  ASSERT_EQ(b.status, 200) << b.body;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // writes go on after it
  stop = true;
  writer.join();
  EXPECT_EQ(Http(server.port(), "POST", "/v1/backup", "{\"dest\":\"" + dest + "\"}", admin).status, 400)
      << "an existing destination is refused";
  size_t at = b.body.find("\"head\":\"");
  ASSERT_NE(at, std::string::npos) << b.body;
  std::string head = b.body.substr(at + 8, 64);
  size_t pos_at = b.body.find("\"position\":");
  ASSERT_NE(pos_at, std::string::npos);
  long position = std::stol(b.body.substr(pos_at + 11));
  EXPECT_GE(position, 30 + (answered_before - 99)) << b.body;

  std::string target = dir.path() + "/from-server";
  CliRun r = Relais(dir.path(), {"--data", target, "restore", dest});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"position\":" + std::to_string(position) + ",\"head\":\"" + head +
                       "\",\"erasuresApplied\":0}\n");
  CliRun v = Relais(dir.path(), {"--data", target, "verify"});
  EXPECT_EQ(v.code, 0) << v.out << v.err;
  EXPECT_NE(v.out.find(head), std::string::npos) << v.out;
  CliRun h = Relais(dir.path(), {"--data", target, "history", "household/H" + std::to_string(answered_before)});
  EXPECT_EQ(h.code, 0) << h.err;
  EXPECT_NE(h.out.find("Nom-" + std::to_string(answered_before)), std::string::npos) << h.out;
  EXPECT_TRUE(fs::exists(target + "/tokens.json")) << "the tokens come with the backup";
}

// The head `relais verify` reports for `dir`, or "" when it does not verify.
std::string VerifiedHead(const std::string& scratch, const std::string& dir) {
  CliRun v = Relais(scratch, {"--data", dir, "verify"});
  size_t at = v.out.find("\"head\":\"");
  if (v.code != 0 || at == std::string::npos) return "";
  return v.out.substr(at + 8, 64);
}

// A restore killed (SIGKILL) at a random moment leaves DIR as it was, or the
// complete copy: never a half-restored directory. With --force over an
// existing DIR, the old log or the backup's, nothing else. The delays are
// random (seed printed); the property holds for any of them.
TEST_F(BackupCli, RestoreKilledAtAnyMomentLeavesOldOrNewNeverHalf) {
  // A large access journal (synthetic lines), copied first: it makes the
  // copy phase long enough for some kills to land in it.
  {
    std::ofstream j(data + "/access-journal.ndjson", std::ios::binary);
    std::string line = R"({"at":"2026-01-01T00:00:00.000000Z","token":"t","role":"admin",)"
                       R"("subject":"household/H1","endpoint":"/v1/streams/status","allowed":true})"
                       "\n";
    for (int i = 0; i < 150000; ++i) j << line;
  }
  uint64_t journal_bytes = fs::file_size(data + "/access-journal.ndjson");
  std::string dest = dir.path() + "/b";
  ASSERT_EQ(Relais(dir.path(), {"--data", data, "backup", dest}).code, 0);
  std::string new_head = VerifiedHead(dir.path(), data);
  ASSERT_FALSE(new_head.empty());
  // An existing DIR with a different log: the backup plus one household.
  std::string old_dir = dir.path() + "/old";
  ASSERT_EQ(Relais(dir.path(), {"--data", old_dir, "restore", dest}).code, 0);
  {
    std::ofstream f(dir.path() + "/more.ndjson");
    f << Household(99) << "\n";
  }
  ASSERT_EQ(Relais(dir.path(), {"--data", old_dir, "import", dir.path() + "/more.ndjson"}).code, 0);
  std::string old_head = VerifiedHead(dir.path(), old_dir);
  ASSERT_FALSE(old_head.empty());
  ASSERT_NE(old_head, new_head);

  unsigned seed = std::random_device{}();
  std::printf("seed %u\n", seed);
  std::mt19937 rng(seed);
  constexpr int kIterations = 10;
  int killed_before = 0, completed = 0;
  for (int i = 0; i < kIterations; ++i) {
    bool force = i % 2 == 1;
    std::string target = dir.path() + "/t" + std::to_string(i);
    if (force) fs::copy(old_dir, target, fs::copy_options::recursive);
    std::vector<std::string> args = {RELAIS_BIN, "--data", target, "restore", dest};
    if (force) args.push_back("--force");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    ::usleep(std::uniform_int_distribution<int>(0, 1200000)(rng));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::string head = fs::exists(target) ? VerifiedHead(dir.path(), target) : "";
    if (force) {
      EXPECT_TRUE(head == old_head || head == new_head) << "iteration " << i << ": " << head;
    } else if (fs::exists(target)) {
      EXPECT_EQ(head, new_head) << "iteration " << i << ": a half-restored directory";
    }
    if (head == new_head) {
      std::error_code ec;
      EXPECT_EQ(fs::file_size(target + "/access-journal.ndjson", ec), journal_bytes)
          << "iteration " << i << ": a half-restored directory";
    }
    (head == new_head ? completed : killed_before) += 1;
  }
  std::printf("%d restores killed before they published, %d complete\n", killed_before,
              completed);
}

// `relais erase` / `relais erasures` (interfaces.md §3) and the erasure
// endpoint a running server offers instead.
TEST_F(BackupCli, EraseAndTheErasureEndpoint) {
  CliRun e = Relais(dir.path(), {"--data", data, "erase", "household/H1", "--reason", "subject_request"});
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(e.out.find(R"({"results":[{"id":")"), 0u) << e.out;
  EXPECT_NE(e.out.find(R"("position":31,"version":1,"duplicate":false}]})"), std::string::npos) << e.out;
  CliRun again = Relais(dir.path(), {"--data", data, "erase", "household/H1", "--reason", "other"});
  EXPECT_EQ(again.code, 3) << again.err;
  EXPECT_NE(again.err.find(R"("kind":"rule","code":"household_erased")"), std::string::npos) << again.err;
  EXPECT_EQ(Relais(dir.path(), {"--data", data, "erase", "household/H2", "--reason", "because"}).code, 2);
  EXPECT_EQ(Relais(dir.path(), {"--data", data, "erase", "dwelling/D1", "--reason", "other"}).code, 2);
  CliRun reg = Relais(dir.path(), {"--data", data, "erasures"});
  ASSERT_EQ(reg.code, 0) << reg.err;
  EXPECT_EQ(reg.out.find(R"({"subject":"household/H1","id":")"), 0u) << reg.out;
  EXPECT_NE(reg.out.find(R"(","reason":"subject_request"})" "\n"), std::string::npos) << reg.out;
  CliRun hist = Relais(dir.path(), {"--data", data, "history", "household/H1"});
  EXPECT_NE(hist.out.find(R"("personalDataErased":true)"), std::string::npos) << hist.out;
  EXPECT_EQ(hist.out.find("Nom-1"), std::string::npos) << hist.out;

  std::string admin = AddToken(data, "adm", "admin");
  std::string lille = AddToken(data, "coord-lille", "coordinator", "lille");
  std::string sud = AddToken(data, "coord-sud", "coordinator", "sud");
  std::string worker = AddToken(data, "sw", "social_worker", "", "Asso");
  ServerProcess server(data);
  ASSERT_TRUE(server.Start());
  // Through the control socket the erase would be done (cli_options_test);
  // without it, exit 6 names the endpoint that takes it.
  ASSERT_EQ(::unlink((data + "/control.sock").c_str()), 0);
  CliRun held = Relais(dir.path(), {"--data", data, "erase", "household/H2", "--reason", "other"});
  EXPECT_EQ(held.code, 6) << held.err;
  EXPECT_NE(held.err.find("/v1/streams/household%2FH2/erasure"), std::string::npos) << held.err;
  const std::string path = "/v1/streams/household%2FH2/erasure";
  EXPECT_EQ(Http(server.port(), "POST", path, R"({"reason":"other"})", sud).status, 403);
  EXPECT_EQ(Http(server.port(), "POST", path, R"({"reason":"other"})", worker).status, 403);
  EXPECT_EQ(Http(server.port(), "POST", path, R"({"reason":"nope"})", admin).status, 400);
  EXPECT_EQ(Http(server.port(), "GET", path, "", admin).status, 405);
  HttpResult ok = Http(server.port(), "POST", path, R"({"reason":"legal_obligation"})", lille);
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(ok.body.find(R"({"results":[{"id":")"), 0u) << ok.body;
  HttpResult twice = Http(server.port(), "POST", path, R"({"reason":"other"})", admin);
  EXPECT_EQ(twice.status, 422) << twice.body;
  EXPECT_NE(twice.body.find("household_erased"), std::string::npos) << twice.body;
  HttpResult unknown =
      Http(server.port(), "POST", "/v1/streams/household%2FNOPE/erasure", R"({"reason":"other"})", admin);
  EXPECT_EQ(unknown.status, 422) << unknown.body;
  EXPECT_NE(unknown.body.find("not_registered"), std::string::npos) << unknown.body;
  HttpResult events = Http(server.port(), "GET", "/v1/streams/household%2FH2/events", "", admin);
  EXPECT_NE(events.body.find(R"("personalDataErased":true)"), std::string::npos) << events.body;
  EXPECT_NE(events.body.find(R"("actor":{"id":"coord-lille","role":"coordinator")"), std::string::npos)
      << events.body;
  HttpResult status = Http(server.port(), "GET", "/v1/streams/household%2FH2/status", "", admin);
  EXPECT_NE(status.body.find(R"("erased":true)"), std::string::npos) << status.body;
  // No import nor POST records one.
  HttpResult forged = Http(server.port(), "POST", "/v1/events",
                           Ev(900, "PersonalDataErased", "household/H3", "2015-02-01", R"({"reason":"other"})"),
                           admin);
  EXPECT_EQ(forged.status, 400) << forged.body;
  server.Stop();
  EXPECT_EQ(Relais(dir.path(), {"--data", data, "verify"}).code, 0);
}

// A restore holds the replaced directory from the moment it reads its
// erasures until it swaps it out: a `relais erase` in between is refused
// (exit 6) instead of being lost with the old directory, which would bring
// the erased household's data back.
TEST_F(BackupCli, AnErasureDuringARestoreIsNeverLost) {
  std::string backup = dir.path() + "/backup";
  ASSERT_EQ(Relais(dir.path(), {"--data", data, "backup", backup}).code, 0);
  backup::RestoreOptions o;
  o.force = true;
  CliRun during;
  o.after_erasures_read = [&] {
    during = Relais(dir.path(), {"--data", data, "erase", "household/H5", "--reason", "subject_request"});
  };
  auto restored = backup::RestoreDataDir(backup, data, o);
  ASSERT_TRUE(restored.ok()) << restored.status().message();
  CliRun status = Relais(dir.path(), {"--data", data, "status", "household/H5"});
  ASSERT_EQ(status.code, 0) << status.err;
  bool erased_now = status.out.find(R"("erased":true)") != std::string::npos;
  if (during.code == 0) {
    EXPECT_TRUE(erased_now) << "the erasure made during the restore was lost: " << status.out;
  } else {
    EXPECT_EQ(during.code, 6) << during.err;
    EXPECT_FALSE(erased_now);
  }
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
