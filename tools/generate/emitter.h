// The emitter: builds the NDJSON lines of the simulated events (ids, dates,
// recordedAt stamps) and writes them out a day at a time.

#ifndef RELAIS_TOOLS_GENERATE_EMITTER_H_
#define RELAIS_TOOLS_GENERATE_EMITTER_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "generate/rng.h"

namespace relais::tools::gen {

struct Extras {
  bool expect_new_stream = false;  // adds "expectedVersion": -1
  std::string_view actor;          // an actor object, or empty for the import default
};

// Builds the NDJSON lines. Events of one simulated day are held until the day is
// over, then stamped with recordedAt times spread over office hours in emission
// order. With no output stream it only counts (scale calibration).
//
// Thread-safety: none; one simulation owns it.
class Emitter {
 public:
  Emitter(uint64_t seed, std::ostream* out) : key_(Mix64(seed ^ 0x7e1a15ULL)), out_(out) {}

  // Events added between the two are written as one atomic batch line.
  void BeginBatch() {
    batch_open_ = true;
    batch_has_line_ = false;
  }
  void EndBatch() { batch_open_ = false; }

  // Returns the event's ordinal (0-based, in file order), which determines its id.
  // `data` is the event's data object, already serialised.
  int64_t Add(std::string_view type, std::string_view subject, int effective_day,
              std::string_view data, const Extras& extras);

  // The id of the event of that ordinal: a lowercase canonical UUID (version 4
  // layout). 64 bits of it are a bijection of the ordinal, so ids are unique by
  // construction, not just with high probability.
  std::string Uuid(int64_t ordinal) const;

  // Stamps and writes out the lines of the day (a no-op when only counting).
  void FinishDay(int day);
  void Flush();

  int64_t events() const { return events_; }
  int64_t lines() const { return lines_; }

 private:
  struct PendingLine {
    size_t first;  // index into event_ends_
    size_t count;
  };

  void WriteLine(const PendingLine& line, const std::string& stamp);

  const uint64_t key_;
  std::ostream* const out_;
  int64_t events_ = 0;
  int64_t lines_ = 0;
  bool batch_open_ = false;
  bool batch_has_line_ = false;
  std::string day_text_;            // the day's events, without recordedAt and final brace
  std::vector<size_t> event_ends_;  // end offset of each event in day_text_
  std::vector<PendingLine> day_lines_;
  std::string buffer_;  // output not yet written
};

}  // namespace relais::tools::gen

#endif  // RELAIS_TOOLS_GENERATE_EMITTER_H_
