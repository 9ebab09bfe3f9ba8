#include "generate/emitter.h"

#include "relais/types.h"

namespace relais::tools::gen {

int64_t Emitter::Add(std::string_view type, std::string_view subject, int effective_day,
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
  day_text_.append("{\"id\":\"").append(Uuid(ordinal));
  day_text_.append("\",\"type\":\"").append(type);
  day_text_.append("\",\"subject\":\"").append(subject);
  day_text_.append("\",\"effectiveDate\":\"").append(FormatDate(Date{effective_day}));
  day_text_.append("\",\"data\":").append(data);
  if (extras.expect_new_stream) day_text_.append(",\"expectedVersion\":-1");
  if (!extras.actor.empty()) day_text_.append(",\"actor\":").append(extras.actor);
  event_ends_.push_back(day_text_.size());
  return ordinal;
}

std::string Emitter::Uuid(int64_t ordinal) const {
  const uint64_t x = Mix64(static_cast<uint64_t>(ordinal) ^ key_);
  const uint64_t noise = Mix64(x ^ 0x632be59bd9b4e019ULL);
  const uint64_t a = x >> 4;
  const uint64_t hi = ((a >> 12) << 16) | (0x4ULL << 12) | (a & 0xfff);
  const uint64_t lo = (0x2ULL << 62) | ((x & 0xf) << 58) | (noise & ((1ULL << 58) - 1));
  relais::Uuid id;
  for (int i = 0; i < 8; ++i) {
    id.bytes[static_cast<size_t>(i)] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    id.bytes[static_cast<size_t>(8 + i)] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return FormatUuid(id);
}

void Emitter::FinishDay(int day) {
  if (out_ == nullptr || day_lines_.empty()) return;
  constexpr double kOfficeStartUs = 8.0 * 3600e6;
  constexpr double kOfficeSpanUs = 10.0 * 3600e6;
  constexpr int64_t kDayUs = 86400LL * 1000000LL;
  const size_t n = day_lines_.size();
  const int64_t first_line = lines_ - static_cast<int64_t>(n);
  for (size_t i = 0; i < n; ++i) {
    // Jitter keeps the spacing irregular; (i + u) < (i + 1) keeps it monotonic.
    const double u =
        static_cast<double>(Mix64(key_ + static_cast<uint64_t>(first_line) + i) >> 11) * 0x1.0p-53;
    const auto us = static_cast<int64_t>(
        kOfficeStartUs + (static_cast<double>(i) + u) * kOfficeSpanUs / static_cast<double>(n));
    WriteLine(day_lines_[i], FormatTimestamp(Timestamp{day * kDayUs + us}));
  }
  day_lines_.clear();
  event_ends_.clear();
  day_text_.clear();
  if (buffer_.size() >= (1u << 20)) Flush();
}

void Emitter::Flush() {
  if (out_ != nullptr && !buffer_.empty()) {
    out_->write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_.clear();
  }
}

void Emitter::WriteLine(const PendingLine& line, const std::string& stamp) {
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

}  // namespace relais::tools::gen
