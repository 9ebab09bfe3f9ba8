// Standalone driver for testing the generator alone (the product wires
// `relais generate` on Generate()). Writes NDJSON to stdout, a summary to stderr.
//
//   generate [--seed N] [--events N] [--years N] [--start-year Y]
//            [--access N] [--maintien N]

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "generator.h"

namespace {

bool ParseInt(const char* text, int64_t* value) {
  char* end = nullptr;
  const long long parsed = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || parsed < 0) return false;
  *value = parsed;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  relais::tools::GenOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    int64_t value = 0;
    if (i + 1 >= argc || !ParseInt(argv[i + 1], &value)) {
      std::cerr << "usage: generate [--seed N] [--events N] [--years N] [--start-year Y]"
                   " [--access N] [--maintien N] (bad or missing value for "
                << flag << ")\n";
      return 2;
    }
    ++i;
    if (flag == "--seed") {
      options.seed = static_cast<uint64_t>(value);
    } else if (flag == "--events") {
      options.target_events = value;
    } else if (flag == "--years") {
      options.years = static_cast<int>(value);
    } else if (flag == "--start-year") {
      options.start_year = static_cast<int>(value);
    } else if (flag == "--access") {
      options.access_per_year = static_cast<int>(value);
    } else if (flag == "--maintien") {
      options.maintien_per_year = static_cast<int>(value);
    } else {
      std::cerr << "unknown option " << flag << "\n";
      return 2;
    }
  }
  std::ios::sync_with_stdio(false);
  const relais::tools::GenStats stats = relais::tools::Generate(options, std::cout);
  std::cout.flush();
  std::cerr << "{\"lines\": " << stats.lines << ", \"events\": " << stats.events
            << ", \"households\": " << stats.households << ", \"dwellings\": " << stats.dwellings
            << "}\n";
  return std::cout ? 0 : 1;
}
