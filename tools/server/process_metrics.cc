#include "server/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

namespace relais::server {

namespace {

// /proc/stat's btime: the boot time in seconds since the epoch.
std::optional<double> BootTime() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    if (ls >> key >> value && key == "btime") return value;
  }
  return std::nullopt;
}

}  // namespace

ProcessStats ReadProcessStats() {
  ProcessStats p;
  rusage ru;
  if (::getrusage(RUSAGE_SELF, &ru) == 0)
    p.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  {
    std::ifstream statm("/proc/self/statm");
    double size = 0, resident = 0;
    if (statm >> size >> resident) {
      p.virtual_bytes = size * page;
      p.resident_bytes = resident * page;
    }
  }
  if (DIR* d = ::opendir("/proc/self/fd")) {
    double n = 0;
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    p.open_fds = n - 1;  // the one opendir holds
  }
  rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    p.max_fds = static_cast<double>(rl.rlim_cur);
  {
    // Field 22 of /proc/self/stat: the start time in clock ticks after boot.
    // The command name (field 2) is in parentheses and may hold spaces.
    std::ifstream in("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t close = text.rfind(')');
    auto boot = BootTime();
    if (close != std::string::npos && boot) {
      std::istringstream rest(text.substr(close + 2));
      std::vector<std::string> fields;
      std::string f;
      while (rest >> f) fields.push_back(f);
      // fields[0] is field 3 (state): field 22 is fields[19].
      if (fields.size() > 19) {
        double ticks = std::strtod(fields[19].c_str(), nullptr);
        p.start_time_seconds = *boot + ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
      }
    }
  }
  return p;
}

std::string RenderProcessStats(const ProcessStats& p) {
  std::string out;
  char buf[96];
  auto family = [&](const std::optional<double>& v, const char* name, const char* type,
                    const char* help) {
    if (!v) return;
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    std::snprintf(buf, sizeof buf, "%.17g", *v);
    out += std::string(name) + " " + buf + "\n";
  };
  family(p.cpu_seconds, "process_cpu_seconds_total", "counter",
         "Total user and system CPU time spent in seconds.");
  family(p.resident_bytes, "process_resident_memory_bytes", "gauge",
         "Resident memory size in bytes.");
  family(p.virtual_bytes, "process_virtual_memory_bytes", "gauge",
         "Virtual memory size in bytes.");
  family(p.open_fds, "process_open_fds", "gauge", "Number of open file descriptors.");
  family(p.max_fds, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
  family(p.start_time_seconds, "process_start_time_seconds", "gauge",
         "Start time of the process since unix epoch in seconds.");
  return out;
}

}  // namespace relais::server
