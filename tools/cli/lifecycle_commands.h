// `relais retention` and `relais file` (lifecycle.md §2-§3): the command
// line's faces of the retention schedule and the household's own file.
// Each returns the process's exit code (interfaces.md: 0, 1, 2, 3, 5, 6).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "relais/engine.h"
#include "server/control_socket.h"

namespace relais::cli {

struct RetentionArgs {
  std::string as_of, known_at;
  int years = 2;
  int keep_history_years = 5;
  bool apply = false;
};
int RunRetention(const std::string& data_dir, const RetentionArgs& args);
// `retention --apply` on the server's engine (the control socket): `args`
// are [D or "", years, keep-history years].
int RetentionApplyOn(Engine& engine, const std::vector<std::string>& args,
                     const server::CommandOutput& out);

struct FileArgs {
  std::string subject, known_at;
  std::string format = "json";
};
int RunFile(const std::string& data_dir, const FileArgs& args);

}  // namespace relais::cli
