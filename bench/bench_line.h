// The bench's data set: event lines as the generator writes them, with what
// the raw and PostgreSQL baselines key on. Shared by relais_bench.cc and the
// PostgreSQL baseline (pg_baseline.h).
#pragma once

#include <string>
#include <vector>

namespace relais::bench {

// One event line, as the generator writes it. Both baselines store, for every
// event of the line, the line's whole JSON text under that event's subject
// (the stream), versions counted per stream from 0.
struct Line {
  std::string json;
  std::vector<std::string> subjects;  // one per event of the line
};

}  // namespace relais::bench
