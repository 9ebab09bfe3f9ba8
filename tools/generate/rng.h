// The simulation's randomness: one seeded std::mt19937_64 with our own integer
// mappings (same file on every standard library), and Mix64 for ids and jitter.

#ifndef RELAIS_TOOLS_GENERATE_RNG_H_
#define RELAIS_TOOLS_GENERATE_RNG_H_

#include <cstdint>
#include <random>
#include <span>

namespace relais::tools::gen {

// SplitMix64 finalizer: a bijection on 64-bit words, used for ids and jitter so
// that they never consume draws of the simulation's generator.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Choice {
  const char* value;
  int weight;
};

// std::uniform_int_distribution & co. are implementation-defined, so the same seed
// would give different files with libstdc++ and libc++. The mappings below are
// ours; the modulo bias (< 2^-40 for our ranges) is irrelevant here.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // Uniform integer in [lo, hi].
  int Between(int lo, int hi) {
    return lo + static_cast<int>(engine_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) { return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p; }

  // Index drawn with probability proportional to the weights.
  size_t Weighted(std::span<const int> weights) {
    int total = 0;
    for (int w : weights) total += w;
    int draw = Between(0, total - 1);
    for (size_t i = 0; i < weights.size(); ++i) {
      if (draw < weights[i]) return i;
      draw -= weights[i];
    }
    return weights.size() - 1;
  }
  const char* Weighted(std::span<const Choice> choices) {
    int total = 0;
    for (const Choice& c : choices) total += c.weight;
    int draw = Between(0, total - 1);
    for (const Choice& c : choices) {
      if (draw < c.weight) return c.value;
      draw -= c.weight;
    }
    return choices.back().value;
  }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[static_cast<size_t>(Between(0, static_cast<int>(N) - 1))];
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace relais::tools::gen

#endif  // RELAIS_TOOLS_GENERATE_RNG_H_
