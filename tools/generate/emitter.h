// The emitter: builds the NDJSON lines of the simulated events.

#ifndef RELAIS_TOOLS_GENERATE_EMITTER_H_
#define RELAIS_TOOLS_GENERATE_EMITTER_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "generate/calendar.h"
#include "generate/rng.h"

namespace relais::tools::gen {

struct Extras {
  bool expect_new_stream = false;  // adds "expectedVersion": -1
  std::string_view actor;          // an actor object, or empty for the import default
};

// Builds the NDJSON lines. Events of one simulated day are held until the day is
// over, then stamped with recordedAt times spread over office hours in emission
// order. With no output stream it only counts (scale calibration).
class Emitter {
 public:
  Emitter(uint64_t seed, std::ostream* out) : key_(Mix64(seed ^ 0x7e1a15ULL)), out_(out) {}

  void BeginBatch() {
    batch_open_ = true;
    batch_has_line_ = false;
  }
  void EndBatch() { batch_open_ = false; }

  // Returns the event's ordinal (0-based, in file order), which determines its id.
  int64_t Add(std::string_view type, std::string_view subject, int effective_day,
              std::string_view data, const Extras& extras) {
    const int64_t ordinal = events_++;
    const bool new_line = !batch_open_ || !batch_has_line_;
    if (new_line) {
      ++lines_;
      batch_has_line_ = batch_open_;
    }
    if (out_ == nullptr) return ordinal;
    if (new_line) day_lines_.push_back({event_ends_.size(), 0});
    ++day_lines_.back().count;
    day_text_.append("{\"id\":\"");
    AppendUuid(&day_text_, ordinal);
    day_text_.append("\",\"type\":\"").append(type);
    day_text_.append("\",\"subject\":\"").append(subject);
    day_text_.append("\",\"effectiveDate\":\"");
    AppendDate(&day_text_, effective_day);
    day_text_.append("\",\"data\":").append(data);
    if (extras.expect_new_stream) day_text_.append(",\"expectedVersion\":-1");
    if (!extras.actor.empty()) day_text_.append(",\"actor\":").append(extras.actor);
    event_ends_.push_back(day_text_.size());
    return ordinal;
  }

  // Lowercase canonical UUID (version 4 layout). 64 bits of it are a bijection of
  // the ordinal, so ids are unique by construction, not just with high probability.
  void AppendUuid(std::string* out, int64_t ordinal) const {
    const uint64_t x = Mix64(static_cast<uint64_t>(ordinal) ^ key_);
    const uint64_t noise = Mix64(x ^ 0x632be59bd9b4e019ULL);
    const uint64_t a = x >> 4;
    const uint64_t hi = ((a >> 12) << 16) | (0x4ULL << 12) | (a & 0xfff);
    const uint64_t lo = (0x2ULL << 62) | ((x & 0xf) << 58) | (noise & ((1ULL << 58) - 1));
    static constexpr char kHex[] = "0123456789abcdef";
    char buf[36];
    int pos = 0;
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) buf[pos++] = '-';
      const uint64_t word = i < 16 ? hi : lo;
      buf[pos++] = kHex[(word >> (60 - 4 * (i % 16))) & 0xf];
    }
    out->append(buf, sizeof buf);
  }

  void FinishDay(int day) {
    if (out_ == nullptr || day_lines_.empty()) return;
    constexpr double kOfficeStartUs = 8.0 * 3600e6;
    constexpr double kOfficeSpanUs = 10.0 * 3600e6;
    const size_t n = day_lines_.size();
    const int64_t first_line = lines_ - static_cast<int64_t>(n);
    std::string stamp;
    for (size_t i = 0; i < n; ++i) {
      // Jitter keeps the spacing irregular; (i + u) < (i + 1) keeps it monotonic.
      const double u =
          static_cast<double>(Mix64(key_ + static_cast<uint64_t>(first_line) + i) >> 11) *
          0x1.0p-53;
      const auto us = static_cast<int64_t>(
          kOfficeStartUs + (static_cast<double>(i) + u) * kOfficeSpanUs / static_cast<double>(n));
      stamp.clear();
      AppendDate(&stamp, day);
      stamp.push_back('T');
      AppendDigits(&stamp, static_cast<int>(us / 3600000000LL), 2);
      stamp.push_back(':');
      AppendDigits(&stamp, static_cast<int>(us / 60000000LL % 60), 2);
      stamp.push_back(':');
      AppendDigits(&stamp, static_cast<int>(us / 1000000LL % 60), 2);
      stamp.push_back('.');
      AppendDigits(&stamp, static_cast<int>(us % 1000000LL), 6);
      stamp.push_back('Z');
      WriteLine(day_lines_[i], stamp);
    }
    day_lines_.clear();
    event_ends_.clear();
    day_text_.clear();
    if (buffer_.size() >= (1u << 20)) Flush();
  }

  void Flush() {
    if (out_ != nullptr && !buffer_.empty()) {
      out_->write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
      buffer_.clear();
    }
  }

  int64_t events() const { return events_; }
  int64_t lines() const { return lines_; }

 private:
  struct PendingLine {
    size_t first;  // index into event_ends_
    size_t count;
  };

  void WriteLine(const PendingLine& line, const std::string& stamp) {
    if (line.count > 1) buffer_.push_back('[');
    for (size_t e = line.first; e < line.first + line.count; ++e) {
      if (e > line.first) buffer_.push_back(',');
      const size_t begin = e == 0 ? 0 : event_ends_[e - 1];
      buffer_.append(day_text_, begin, event_ends_[e] - begin);
      buffer_.append(",\"recordedAt\":\"").append(stamp).append("\"}");
    }
    if (line.count > 1) buffer_.push_back(']');
    buffer_.push_back('\n');
  }

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
