// Calendar of the simulation: days counted from 1970-01-01, so date arithmetic
// is integer arithmetic and formatting needs neither locale nor tz.

#ifndef RELAIS_TOOLS_GENERATE_CALENDAR_H_
#define RELAIS_TOOLS_GENERATE_CALENDAR_H_

#include <algorithm>
#include <string>

namespace relais::tools::gen {

struct CivilDate {
  int year;
  int month;
  int day;
};

inline int DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

inline CivilDate CivilFromDays(int z) {
  z += 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const int doe = z - era * 146097;
  const int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int mp = (5 * doy + 2) / 153;
  const int d = doy - (153 * mp + 2) / 5 + 1;
  const int m = mp < 10 ? mp + 3 : mp - 9;
  return {yoe + era * 400 + (m <= 2), m, d};
}

inline int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// "Two calendar months after d" of events.md §4: same day of the month, or that
// month's last day when it has no such day.
inline int AddMonths(int day, int months) {
  const CivilDate c = CivilFromDays(day);
  const int total = c.year * 12 + (c.month - 1) + months;
  const int y = total / 12;
  const int m = total % 12 + 1;
  return DaysFromCivil(y, m, std::min(c.day, DaysInMonth(y, m)));
}

// Institutions (CAL, courts, registration desks) work Monday to Friday.
inline int NextWorkday(int day) {
  const int weekday = ((day % 7) + 7 + 3) % 7;  // 1970-01-01 was a Thursday; 0 = Monday.
  return weekday < 5 ? day : day + (7 - weekday);
}

// Winter truce (trêve hivernale): 1 November to 31 March inclusive.
inline bool InWinterTruce(int day) {
  const int m = CivilFromDays(day).month;
  return m >= 11 || m <= 3;
}

// First 1 April on or after `day`.
inline int NextSpring(int day) {
  const CivilDate c = CivilFromDays(day);
  const int april = DaysFromCivil(c.year, 4, 1);
  return april >= day ? april : DaysFromCivil(c.year + 1, 4, 1);
}

// Appends a non-negative value zero-padded to at least `width` digits.
inline void AppendDigits(std::string* out, int value, int width) {
  char buf[12];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  out->append(static_cast<size_t>(std::max(width - n, 0)), '0');
  while (n > 0) out->push_back(buf[--n]);
}

inline void AppendDate(std::string* out, int day) {
  const CivilDate c = CivilFromDays(day);
  AppendDigits(out, c.year, 4);
  out->push_back('-');
  AppendDigits(out, c.month, 2);
  out->push_back('-');
  AppendDigits(out, c.day, 2);
}

inline std::string DayText(int day) {
  std::string text;
  AppendDate(&text, day);
  return text;
}

}  // namespace relais::tools::gen

#endif  // RELAIS_TOOLS_GENERATE_CALENDAR_H_
