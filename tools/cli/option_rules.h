// Which options apply to which command (issue 13: no silent option). An
// option given where it changes nothing is a usage error naming it, checked
// here in one place after parsing; value-dependent rules (a --format, a
// --role) stay with the command that reads the value.
#pragma once

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace relais::cli {

// Exit 2 with a message naming the first option that does not apply to the
// command given, or nullopt.
std::optional<int> RejectInapplicableOptions(const CLI::App& app);

// interfaces.md §3: a read, or `serve`, given a --data path that does not
// exist or is not a relais data directory exits 5 (no_data_directory,
// naming the path) before anything is opened or created; `serve` takes an
// empty directory (or one holding only the tokens `token add` made) and
// initialises it. Writes create a missing directory.
std::optional<int> RejectMissingDataDirectory(const CLI::App& app, const std::string& dir);
// The same for `serve`, once its configuration file has named the directory.
std::optional<int> RejectUnservableDataDirectory(const std::string& dir);

}  // namespace relais::cli
