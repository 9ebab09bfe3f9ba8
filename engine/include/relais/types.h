// Value types shared by every layer: calendar dates, instants, ids, subjects.
//
// All are plain values: cheap to copy, no allocation except Subject's text.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace relais {

// A calendar date (Europe/Paris civil date, no time of day) as days since
// 1970-01-01. Comparable; differences are calendar-day counts.
struct Date {
  int32_t days = 0;
  auto operator<=>(const Date&) const = default;
  Date operator+(int32_t n) const { return Date{days + n}; }
  Date operator-(int32_t n) const { return Date{days - n}; }
  int32_t operator-(Date o) const { return days - o.days; }
};

// "YYYY-MM-DD" with a real calendar day (2015-02-30 is refused).
std::optional<Date> ParseDate(std::string_view text);
std::string FormatDate(Date d);
void CivilFromDate(Date d, int* year, int* month, int* day);
Date DateFromCivil(int year, int month, int day);  // inputs must be valid
// The same day `months` later, or that month's last day (events.md §4).
Date AddMonthsClamped(Date d, int months);

// An instant in UTC, microseconds since the epoch (transaction time).
struct Timestamp {
  int64_t micros = 0;
  auto operator<=>(const Timestamp&) const = default;
};
// RFC 3339 UTC ending in 'Z' with 0-6 fractional digits.
std::optional<Timestamp> ParseTimestamp(std::string_view text);
// Always "YYYY-MM-DDTHH:MM:SS.ffffffZ".
std::string FormatTimestamp(Timestamp t);
// The UTC calendar date of an instant.
Date UtcDate(Timestamp t);

// Global log position (>= 1, gapless) and 0-based stream version.
using Position = uint64_t;
using StreamVersion = int64_t;  // -1 = empty stream
inline constexpr StreamVersion kNoVersion = -1;

// An event id: a UUID in 16 bytes.
struct Uuid {
  std::array<uint8_t, 16> bytes{};
  auto operator<=>(const Uuid&) const = default;
  std::string_view AsBytes() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
};
// Lowercase canonical 8-4-4-4-12 form only.
std::optional<Uuid> ParseUuid(std::string_view text);
std::string FormatUuid(const Uuid& u);
Uuid UuidFromBytes(std::string_view b);  // b.size() must be 16
// For unordered containers keyed by id: ids are random, so two words mixed
// are enough (no need to hash all 16 bytes).
struct UuidHash {
  size_t operator()(const Uuid& u) const {
    uint64_t a, b;
    std::memcpy(&a, u.bytes.data(), 8);
    std::memcpy(&b, u.bytes.data() + 8, 8);
    return a * 0x9E3779B97F4A7C15ull ^ b;
  }
};

enum class StreamKind : uint8_t { kHousehold = 0, kDwelling = 1, kTerritory = 2 };

// "household/<id>", "dwelling/<id>" or "territory/<lille|sud|flandres>";
// <id> matches [A-Za-z0-9_-]{1,64}.
struct Subject {
  StreamKind kind = StreamKind::kHousehold;
  std::string text;  // the whole subject, e.g. "household/H-0001"
  std::string_view id() const { return std::string_view(text).substr(text.find('/') + 1); }
  bool operator==(const Subject& o) const { return text == o.text; }
};
// nullopt with *why set when the text is not a valid subject.
std::optional<Subject> ParseSubject(std::string_view text, std::string* why);
bool IsBareId(std::string_view id);

}  // namespace relais
