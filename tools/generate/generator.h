// Seeded generator of a synthetic relais data set (NDJSON admin import).
//
// The output tells the made-up histories of access households (referral, CAL
// decision, move-in, support, bail glissant, departure) and maintien households
// (existing tenants with arrears, CCAPEX, eviction procedures), plus the
// coordinators' own activity on the three territories. No real personal data:
// names are combinations of obviously fictitious first and last names.
//
// Every line is meant to be accepted, in file order, by the rules of
// shared/spec/events.md: each line carries `recordedAt`, and `recordedAt` is
// non-decreasing over the file. Same options give byte-identical output on
// every run and every platform (the generator draws from std::mt19937_64 with
// its own integer mapping, never from std::*_distribution).
//
// Thread-safety: Generate() keeps no global state; concurrent calls on
// different streams are safe.

#ifndef RELAIS_TOOLS_GENERATE_GENERATOR_H_
#define RELAIS_TOOLS_GENERATE_GENERATOR_H_

#include <cstdint>
#include <ostream>

namespace relais::tools {

struct GenOptions {
  // Seed of every random draw and of the event ids. Default: 42.
  uint64_t seed = 42;
  // Length of the simulated period, in whole calendar years. Default: 4.
  int years = 4;
  // First simulated day is 1 January of this year. Default: 2019.
  int start_year = 2019;
  // Households entering each track per year before scaling (the programme's
  // yearly targets). Defaults: 45 and 250.
  int access_per_year = 45;
  int maintien_per_year = 250;
  // If > 0, the number of households is scaled so that at least this many
  // events (and not many more: about 1%) are produced. Default: 0 (no scaling).
  int64_t target_events = 0;
};

struct GenStats {
  int64_t lines = 0;       // NDJSON lines written (a batch line counts once)
  int64_t events = 0;      // events written (each element of a batch counts)
  int64_t households = 0;  // household streams
  int64_t dwellings = 0;   // dwelling streams
};

// Writes the data set to `out` as NDJSON and returns what was written. With
// `target_events` set, quick counting passes (nothing written) choose the scale
// first, so the call costs about twice a plain run.
GenStats Generate(const GenOptions& options, std::ostream& out);

}  // namespace relais::tools

#endif  // RELAIS_TOOLS_GENERATE_GENERATOR_H_
