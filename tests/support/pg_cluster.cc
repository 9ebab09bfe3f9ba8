#include "pg_cluster.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace relais::pg {
namespace {

// What the signal handler and the atexit hook need, in async-signal-safe
// form: the postmaster's pid and the directory to remove. Set while a
// cluster runs (one per process, see the header).
volatile sig_atomic_t g_pid = 0;
char g_dir[512];
PgCluster* g_cluster = nullptr;
bool g_hooks_installed = false;

// Only async-signal-safe calls: kill, waitpid, fork, execv, _exit, signal, raise.
void OnSignal(int sig) {
  pid_t pid = g_pid;
  if (pid > 0) {
    ::kill(pid, SIGINT);  // fast shutdown: abort transactions, checkpoint, exit
    int st;
    ::waitpid(pid, &st, 0);
    g_pid = 0;
  }
  if (g_dir[0] != '\0') {
    pid_t rm = ::fork();
    if (rm == 0) {
      char* argv[] = {const_cast<char*>("/bin/rm"), const_cast<char*>("-rf"), g_dir, nullptr};
      ::execv(argv[0], argv);
      ::_exit(127);
    }
    if (rm > 0) {
      int st;
      ::waitpid(rm, &st, 0);
    }
    g_dir[0] = '\0';
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void AtExit() {
  if (g_cluster != nullptr) g_cluster->Stop();
}

void InstallHooks() {
  if (g_hooks_installed) return;
  g_hooks_installed = true;
  std::atexit(AtExit);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGABRT}) ::sigaction(sig, &sa, nullptr);
}

// The account PostgreSQL runs under: ourselves, unless we are root.
struct RunAs {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

Result<RunAs> PickUser() {
  RunAs r;
  if (::geteuid() != 0) return r;
  for (const char* name : {"postgres", "nobody"}) {
    if (passwd* pw = ::getpwnam(name)) {
      r.switch_user = true;
      r.uid = pw->pw_uid;
      r.gid = pw->pw_gid;
      r.name = name;
      return r;
    }
  }
  return Status::FailedPrecondition(
      "running as root and neither a 'postgres' nor a 'nobody' user exists: initdb refuses root");
}

// fork + (setgid/setuid) + exec of argv, stdout and stderr to `log_fd`, in
// `cwd` (the postgres user may not enter the caller's directory). With
// `die_with_parent`, the child gets SIGINT if the bench dies (set after the
// uid change, which clears it).
Result<pid_t> Spawn(const std::vector<std::string>& args, const RunAs& as, int log_fd,
                    const std::string& cwd, bool die_with_parent) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return Status::IoError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // The child: our handlers are the bench's, not postgres's.
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGABRT}) ::signal(sig, SIG_DFL);
    if (as.switch_user) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(as.gid) != 0 || ::setuid(as.uid) != 0) ::_exit(126);
    }
    if (die_with_parent) ::prctl(PR_SET_PDEATHSIG, SIGINT);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

std::string Tail(const std::string& path, size_t max_bytes = 2000) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

bool Executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

}  // namespace

std::string DefaultPgBinDir() {
  const char* env = std::getenv("RELAIS_PG_BINDIR");
  return env != nullptr && *env != '\0' ? env : "/usr/lib/postgresql/15/bin";
}

std::string PgUnavailableReason(const std::string& bin_dir) {
  for (const char* exe : {"initdb", "postgres"}) {
    std::string path = bin_dir + "/" + exe;
    if (!Executable(path))
      return path + " not found or not executable (install the Debian package postgresql, or set RELAIS_PG_BINDIR)";
  }
  return "";
}

PgCluster::~PgCluster() { Stop(); }

Status PgCluster::Start(const PgClusterOptions& options) {
  if (running()) return Status::FailedPrecondition("the cluster is already running");
  if (g_cluster != nullptr) return Status::FailedPrecondition("one PostgreSQL cluster per process");
  if (std::string why = PgUnavailableReason(options.bin_dir); !why.empty()) return Status::NotFound(why);
  auto as = PickUser();
  if (!as.ok()) return as.status();

  char tmpl[] = "/tmp/relais-pg.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return Status::IoError(std::string("mkdtemp: ") + std::strerror(errno));
  dir_ = tmpl;
  if (dir_.size() >= sizeof g_dir) return Status::Internal("temporary directory name too long");
  std::memcpy(g_dir, dir_.c_str(), dir_.size() + 1);
  g_cluster = this;
  InstallHooks();
  auto fail = [&](Status s) {
    Stop();
    return s;
  };
  if (as->switch_user && ::chown(dir_.c_str(), as->uid, as->gid) != 0)
    return fail(Status::IoError("chown " + dir_ + " to " + as->name + ": " + std::strerror(errno)));

  const std::string log = dir_ + "/postgres.log";
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return fail(Status::IoError("open " + log + ": " + std::strerror(errno)));
  if (as->switch_user) (void)::fchown(log_fd, as->uid, as->gid);
  // O_CLOEXEC is cleared by dup2 onto 1 and 2 in the child, as wanted.

  // initdb: trust on the socket only (the directory is 0700), C locale so the
  // text ordering is bytewise as in RocksDB; --no-sync only skips fsyncing the
  // freshly made template files, not the server's own settings.
  auto init = Spawn({options.bin_dir + "/initdb", "-D", dir_ + "/data", "-U", "bench", "-A", "trust",
                     "-E", "UTF8", "--locale=C", "--no-sync"},
                    *as, log_fd, dir_, false);
  if (!init.ok()) {
    ::close(log_fd);
    return fail(init.status());
  }
  int st = 0;
  ::waitpid(*init, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    ::close(log_fd);
    return fail(Status::Internal("initdb failed (as " + (as->switch_user ? as->name : "the current user") +
                                 "):\n" + Tail(log)));
  }

  ::close(log_fd);
  options_ = options;
  switch_user_ = as->switch_user;
  uid_ = as->uid;
  gid_ = as->gid;
  if (Status started = StartPostmaster(); !started.ok()) return fail(started);
  return Status::Ok();
}

Status PgCluster::StartPostmaster() {
  RunAs as;
  as.switch_user = switch_user_;
  as.uid = uid_;
  as.gid = gid_;
  const std::string log = dir_ + "/postgres.log";
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Status::IoError("open " + log + ": " + std::strerror(errno));
  auto pg = Spawn({options_.bin_dir + "/postgres", "-D", dir_ + "/data", "-k", dir_, "-c", "listen_addresses=",
                   "-c", "fsync=on", "-c", "synchronous_commit=on"},
                  as, log_fd, dir_, true);
  ::close(log_fd);
  if (!pg.ok()) return pg.status();
  pid_ = *pg;
  g_pid = pid_;

  const std::string conninfo = ConnInfo();
  int st = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.start_timeout_ms);
  while (PQping(conninfo.c_str()) != PQPING_OK) {
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      g_pid = 0;
      return Status::Internal("postgres exited at start:\n" + Tail(log));
    }
    if (std::chrono::steady_clock::now() > deadline)
      return Status::Internal("postgres did not accept connections within " +
                              std::to_string(options_.start_timeout_ms) + " ms:\n" + Tail(log));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Ok();
}

Status PgCluster::Restart(int down_ms) {
  if (!running()) return Status::FailedPrecondition("the cluster is not running");
  ::kill(pid_, SIGINT);  // fast shutdown
  int st;
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
  g_pid = 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(down_ms));
  return StartPostmaster();
}

void PgCluster::Stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGINT);  // fast shutdown
    int st;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    g_pid = 0;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (ec) std::fprintf(stderr, "postgres: could not remove %s: %s\n", dir_.c_str(), ec.message().c_str());
    dir_.clear();
    g_dir[0] = '\0';
  }
  if (g_cluster == this) g_cluster = nullptr;
}

std::string PgCluster::ConnInfo() const { return "host=" + dir_ + " user=bench dbname=postgres"; }

}  // namespace relais::pg
