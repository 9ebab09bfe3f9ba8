// The generator's output, pinned byte for byte. Its files are the data sets of
// the benchmarks and of the acceptance replays, so a refactoring that changes
// one byte of them must fail here, not be found later as a changed figure. A
// deliberate change of the data set updates these digests in the same commit
// (and says so).
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "crypto/crypto.h"
#include "generate/generator.h"

namespace relais::tools {
namespace {

struct Golden {
  GenOptions options;
  const char* sha256;
  int64_t events;
};

std::string Describe(const GenOptions& o) {
  return "seed " + std::to_string(o.seed) + ", years " + std::to_string(o.years) + ", start " +
         std::to_string(o.start_year) + ", target " + std::to_string(o.target_events);
}

TEST(GeneratorTest, OutputIsByteIdenticalToTheRecordedDataSets) {
  const Golden cases[] = {
      // relais generate --seed 1 --events 2000
      {{.seed = 1, .target_events = 2000},
       "9e52275d670db11f529a17aa7b988ac936172f349b375afbf3af9b9e83618f56",
       2004},
      // relais generate --seed 5 --years 1 --start-year 2000
      {{.seed = 5, .years = 1, .start_year = 2000},
       "f03d5d0ed8c35d9904a85af74d7f65ba1f7fc428f34c6fda143181ab13fd2215",
       3596},
  };
  for (const Golden& g : cases) {
    std::ostringstream out;
    const GenStats stats = Generate(g.options, out);
    EXPECT_EQ(stats.events, g.events) << Describe(g.options);
    EXPECT_EQ(crypto::ToHex(crypto::Sha256(out.str())), g.sha256) << Describe(g.options);
  }
}

TEST(GeneratorTest, SameOptionsGiveTheSameFile) {
  const GenOptions options{.seed = 7, .years = 1};
  std::ostringstream a, b;
  Generate(options, a);
  Generate(options, b);
  EXPECT_EQ(a.str(), b.str());
  EXPECT_FALSE(a.str().empty());
}

}  // namespace
}  // namespace relais::tools
