#include "cli/option_rules.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>

#include "cli/cli_common.h"

namespace relais::cli {

namespace {

// Whether `name` was given on `cmd` (CLI11 counts the occurrences).
bool Given(const CLI::App* cmd, const std::string& name) {
  const CLI::Option* o = cmd->get_option_no_throw(name);
  return o != nullptr && o->count() > 0;
}

// The subcommand chosen ("token add" for the nested one), or nullptr.
const CLI::App* Chosen(const CLI::App& app, std::string* name) {
  for (const CLI::App* sub : app.get_subcommands()) {
    *name = sub->get_name();
    for (const CLI::App* nested : sub->get_subcommands()) {
      *name += " " + nested->get_name();
      return nested;
    }
    return sub;
  }
  return nullptr;
}

}  // namespace

std::optional<int> RejectInapplicableOptions(const CLI::App& app) {
  std::string name;
  const CLI::App* cmd = Chosen(app, &name);
  if (!cmd) return std::nullopt;

  // --data: the commands that read no data directory.
  if (Given(&app, "--data") && (name == "generate" || name == "check-evidence"))
    return Usage("--data does not apply to " + name + " (it reads no data directory)");

  // --origin names the checkpoint signing key, made by the first writable
  // open of the engine: only the commands that may make it take it.
  bool may_create_key = name == "import" || name == "serve" || name == "erase" ||
                        (name == "retention" && Given(cmd, "--apply")) ||
                        (name == "verify" && Given(cmd, "--rebuild-records"));
  if (Given(&app, "--origin") && !may_create_key)
    return Usage("--origin does not apply to " + name +
                 ": it names the installation when import, serve, erase, retention --apply or "
                 "verify --rebuild-records creates the data directory's signing key");

  if (name == "report") {
    bool series = Given(cmd, "--series");
    for (const char* o : {"--from", "--to", "--step"})
      if (!series && Given(cmd, o)) return Usage(std::string(o) + " applies only with --series");
    if (series && Given(cmd, "--as-of"))
      return Usage("--as-of does not apply to --series: the series runs from --from to --to");
  }
  return std::nullopt;
}

std::optional<int> RejectUnservableDataDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (IsDataDirectory(dir)) return std::nullopt;
  if (!fs::is_directory(dir, ec)) return NoDataDirectory(dir);
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string f = entry.path().filename().string();
    if (f != "tokens.json" && f != "tokens.lock") return NoDataDirectory(dir);
  }
  return std::nullopt;
}

std::optional<int> RejectMissingDataDirectory(const CLI::App& app, const std::string& dir) {
  std::string name;
  const CLI::App* cmd = Chosen(app, &name);
  if (!cmd) return std::nullopt;
  namespace fs = std::filesystem;
  std::error_code ec;
  // serve: checked once its configuration file has named the directory
  // (RejectUnservableDataDirectory, from serve_command.cc).
  if (name == "serve") return std::nullopt;
  if (name == "token list") {
    if (IsDataDirectory(dir) || fs::exists(dir + "/tokens.json", ec)) return std::nullopt;
    return NoDataDirectory(dir);
  }
  bool read = name == "status" || name == "history" || name == "tenancy" || name == "report" ||
              name == "verify" || name == "checkpoint" || name == "prove" || name == "evidence" ||
              name == "erasures" || name == "file" || name == "backup" ||
              (name == "retention" && !Given(cmd, "--apply"));
  if (read && !IsDataDirectory(dir)) return NoDataDirectory(dir);
  return std::nullopt;
}

}  // namespace relais::cli
