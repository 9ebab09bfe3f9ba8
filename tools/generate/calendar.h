// The simulation's calendar. A simulated day is a relais::Date day number
// (days since 1970-01-01) kept as an int, so the agenda's arithmetic is integer
// arithmetic; every civil conversion goes through the engine's relais/types.h,
// and the winter truce is the domain's own rule (relais/domain.h): one calendar
// for the data set and for the rules that will check it.

#ifndef RELAIS_TOOLS_GENERATE_CALENDAR_H_
#define RELAIS_TOOLS_GENERATE_CALENDAR_H_

#include <string>

#include "relais/domain.h"
#include "relais/types.h"

namespace relais::tools::gen {

inline int FirstOfJanuary(int year) { return DateFromCivil(year, 1, 1).days; }

// Institutions (CAL, courts, registration desks) work Monday to Friday.
inline int NextWorkday(int day) {
  const int weekday = ((day % 7) + 7 + 3) % 7;  // 1970-01-01 was a Thursday; 0 = Monday.
  return weekday < 5 ? day : day + (7 - weekday);
}

// First 1 April on or after `day`: the end of the winter truce.
inline int NextSpring(int day) {
  int year = 0, month = 0, dom = 0;
  CivilFromDate(Date{day}, &year, &month, &dom);
  const int april = DateFromCivil(year, 4, 1).days;
  return april >= day ? april : DateFromCivil(year + 1, 4, 1).days;
}

// "YYYY-MM-DD".
inline std::string DayText(int day) { return FormatDate(Date{day}); }

}  // namespace relais::tools::gen

#endif  // RELAIS_TOOLS_GENERATE_CALENDAR_H_
