// What every `relais` subcommand file shares: the exit codes of
// interfaces.md, the usage and failure messages on stderr, and the checks of
// a data directory given to a read.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "relais/engine.h"
#include "relais/status.h"

#include <unistd.h>

namespace relais::cli {

// interfaces.md §1 and §3.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRefused = 3;
inline constexpr int kExitVerify = 4;
inline constexpr int kExitNotFound = 5;
inline constexpr int kExitHeld = 6;
// `relais sink`: the database was built from another log (or scope, format).
inline constexpr int kExitSinkMismatch = 7;

// The message on stderr; exit 2.
int Usage(const std::string& message);
// The message on stderr; exit 5 for NotFound, 2 for InvalidArgument, else 1.
int Fail(const Status& st);
// `{"error":{"code":"not_found"}}` on stdout (exit 5 is the caller's).
void PrintNotFound();
// Whether `dir` holds a relais log (DIR/log).
bool IsDataDirectory(const std::string& dir);
// interfaces.md §3: exit 5 and {"error": {"code": "no_data_directory"}},
// naming the path.
int NoDataDirectory(const std::string& dir);
// The engine over `dir`, read-only (creates nothing).
Result<std::unique_ptr<Engine>> OpenReadOnly(const std::string& dir);
// The whole content of a file; nullopt when it cannot be read.
std::optional<std::string> ReadAll(const std::string& path);
// Exit 2 naming `what` when `text` starts with a UTF-8 byte order mark (a
// file saved "with BOM" is refused, never stripped: docs/decisions.md).
std::optional<int> RejectByteOrderMark(const std::string& text, const std::string& what);

// --origin: the installation's name, used when this command creates the
// checkpoint signing key (evidence.md §2).
extern std::string g_origin;
// The engine over `dir` with --origin (writable: shows the Merkle tree's
// build progress, for a directory from before the tree).
Result<std::unique_ptr<Engine>> OpenEngine(const std::string& dir, bool read_only);

bool IsTerminal();  // whether stderr is a terminal

// Progress on stderr for work that lasts: silent for the first two seconds,
// then a line every second (rewritten in place on a terminal).
class Progress {
 public:
  explicit Progress(std::string what) : what_(std::move(what)), start_(Clock::now()), last_(start_) {}
  void Update(int64_t done, const char* unit) {
    auto now = Clock::now();
    if (now - start_ < std::chrono::seconds(2) || now - last_ < std::chrono::seconds(1)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "%s%s: %lld %s (%.0f/s)%s", tty_ ? "\r" : "", what_.c_str(),
                 static_cast<long long>(done), unit, done / secs, tty_ ? "" : "\n");
    shown_ = true;
  }
  void Done() {
    if (shown_ && tty_) std::fputc('\n', stderr);
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::string what_;
  Clock::time_point start_, last_;
  bool tty_ = IsTerminal();
  bool shown_ = false;
};


}  // namespace relais::cli
