#include "cli/cli_common.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "relais/json_writer.h"

namespace relais::cli {

int Usage(const std::string& message) {
  std::fprintf(stderr, "relais: %s\n", message.c_str());
  return kExitUsage;
}

int Fail(const Status& st) {
  std::fprintf(stderr, "relais: %s\n", st.message().c_str());
  if (st.code() == StatusCode::kNotFound) return kExitNotFound;
  if (st.code() == StatusCode::kInvalidArgument) return kExitUsage;
  return kExitInternal;
}

void PrintNotFound() { std::printf("{\"error\":{\"code\":\"not_found\"}}\n"); }

bool IsDataDirectory(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::is_directory(dir + "/log", ec);
}

int NoDataDirectory(const std::string& dir) {
  std::string message = dir + " is not a relais data directory (no " + dir + "/log)";
  JsonWriter w;
  w.BeginObject();
  w.Key("error").BeginObject();
  w.Key("code").String("no_data_directory");
  w.Key("message").String(message);
  w.EndObject();
  w.EndObject();
  std::printf("%s\n", w.str().c_str());
  std::fprintf(stderr, "relais: %s\n", message.c_str());
  return kExitNotFound;
}

Result<std::unique_ptr<Engine>> OpenReadOnly(const std::string& dir) {
  Options o;
  o.data_dir = dir;
  o.read_only = true;
  return Engine::Open(o);
}

std::optional<std::string> ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// --origin: the installation's name, used when this command creates the
// checkpoint signing key (evidence.md §2).
std::string g_origin;

namespace {

void ShowTreeProgress(Position done, Position total) {
  // Shown only when a tree is built (a directory from before the tree).
  static bool shown = false;
  if (done < total || shown) {
    std::fprintf(stderr, "relais: building the Merkle tree of the log: %llu / %llu events%s",
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                 isatty(2) ? "\r" : "\n");
    shown = true;
  }
  if (done == total && shown && isatty(2)) std::fputc('\n', stderr);
}

}  // namespace

Result<std::unique_ptr<Engine>> OpenEngine(const std::string& dir, bool read_only) {
  Options o;
  o.data_dir = dir;
  o.read_only = read_only;
  o.origin = g_origin;
  if (!read_only) o.tree_progress = ShowTreeProgress;
  return Engine::Open(o);
}

std::optional<int> RejectByteOrderMark(const std::string& text, const std::string& what) {
  if (text.compare(0, 3, "\xEF\xBB\xBF") != 0) return std::nullopt;
  return Usage(what + " starts with a UTF-8 byte order mark (bytes EF BB BF): save it as UTF-8 "
               "without BOM");
}

bool IsTerminal() { return isatty(2) != 0; }

}  // namespace relais::cli
