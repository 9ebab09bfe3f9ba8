#include "cli/cli_common.h"

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

}  // namespace relais::cli
