// PgCluster: a private, throw-away PostgreSQL cluster, for the bench's baseline
// and the sink's tests (tests/tools/sink_test.cc).
//
// Start() runs `initdb` in a fresh temporary directory and starts `postgres`
// on a unix socket in that directory only (listen_addresses='', so no TCP
// port can clash with anything else on the machine), with fsync=on and
// synchronous_commit=on said explicitly; every other setting is the default.
// Stop() shuts it down (fast shutdown) and removes the directory. Both also
// run at exit (std::exit) and on SIGINT/SIGTERM/SIGHUP/SIGABRT, so a failed or
// interrupted bench leaves no cluster behind; the postmaster is additionally
// told to stop if the bench dies without a chance to clean up (parent-death
// signal), only its directory is then left in /tmp.
//
// PostgreSQL refuses to run as root: when the bench runs as root, initdb and
// postgres run as the `postgres` user (Debian's package creates it), or
// `nobody` when there is none, by fork + setgid/setuid + exec. The bench's own
// libpq connections go through the socket as the cluster's superuser `bench`
// (trust authentication: only the socket's directory, mode 0700, reaches it).
//
// One cluster per process; not thread-safe (the bench starts and stops it on
// its main thread).
#pragma once

#include <sys/types.h>

#include <string>

#include "relais/status.h"

namespace relais::pg {

struct PgClusterOptions {
  // Where initdb and postgres are (Debian's PostgreSQL 15 by default;
  // RELAIS_PG_BINDIR overrides it, see DefaultPgBinDir()).
  std::string bin_dir;
  // How long Start() waits for the server to accept connections.
  int start_timeout_ms = 60000;
};

// RELAIS_PG_BINDIR if set, else /usr/lib/postgresql/15/bin.
std::string DefaultPgBinDir();

// Why PostgreSQL cannot run here ("" when initdb and postgres are present and
// executable): what the bench prints before it skips the postgres column.
std::string PgUnavailableReason(const std::string& bin_dir);

class PgCluster {
 public:
  PgCluster() = default;
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // initdb + start; on failure everything made so far is removed again.
  Status Start(const PgClusterOptions& options);
  // Fast shutdown, waits for the postmaster, removes the directory. Idempotent.
  void Stop();
  // Stops the postmaster (fast shutdown: open sessions are cut), waits
  // `down_ms`, and starts it again on the same data: what a client sees of a
  // PostgreSQL restart.
  Status Restart(int down_ms);

  // A libpq connection string for the running cluster.
  std::string ConnInfo() const;
  const std::string& dir() const { return dir_; }
  bool running() const { return pid_ > 0; }

 private:
  Status StartPostmaster();

  std::string dir_;  // the temporary directory: data/, the socket, the log
  pid_t pid_ = -1;   // the postmaster, our child
  PgClusterOptions options_;
  bool switch_user_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

}  // namespace relais::pg
