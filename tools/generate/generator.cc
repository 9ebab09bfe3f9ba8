// Entry point of the generator: option sanitising and the choice of scale.
// The simulation itself is in simulation.h and the files it names.

#include "generator.h"

#include <algorithm>

#include "generate/simulation.h"

namespace relais::tools {
namespace {

using gen::SimStats;
using gen::Simulation;

GenOptions Sanitized(const GenOptions& options) {
  GenOptions o = options;
  o.years = std::clamp(o.years, 1, 100);
  o.start_year = std::clamp(o.start_year, 1900, 9000);
  o.access_per_year = std::max(o.access_per_year, 0);
  o.maintien_per_year = std::max(o.maintien_per_year, 0);
  return o;
}

// Counting passes (nothing formatted or written) find a household scale giving
// at least target_events; the simulation is deterministic for a given scale,
// so the final pass reproduces the count exactly.
double ChooseScale(const GenOptions& options) {
  const auto target = static_cast<double>(options.target_events);
  const SimStats pilot = Simulation(options, 1.0, nullptr).Run();
  const auto fixed = static_cast<double>(pilot.territory_events);
  const double per_unit = std::max(1.0, static_cast<double>(pilot.gen.events) - fixed);
  double scale = std::max(0.0, (target - fixed) / per_unit) * 1.004;
  for (int attempt = 0; attempt < 40; ++attempt) {
    const SimStats trial = Simulation(options, scale, nullptr).Run();
    if (trial.gen.events >= options.target_events) return scale;
    const double household_events =
        std::max(1.0, static_cast<double>(trial.gen.events - trial.territory_events));
    const double wanted =
        (target - static_cast<double>(trial.territory_events)) / household_events * 1.002;
    scale = std::max(scale * wanted, scale + 0.01);
  }
  return scale;
}

}  // namespace

GenStats Generate(const GenOptions& options, std::ostream& out) {
  const GenOptions sane = Sanitized(options);
  const double scale = sane.target_events > 0 ? ChooseScale(sane) : 1.0;
  return Simulation(sane, scale, &out).Run().gen;
}

}  // namespace relais::tools
