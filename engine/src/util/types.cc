// Calendar arithmetic (Howard Hinnant's days_from_civil), RFC 3339, UUIDs.
#include <cstdio>

#include "relais/hex.h"
#include "relais/status.h"
#include "relais/types.h"

namespace relais {

namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::string Status::ToString() const {
  if (ok()) return "OK";
  return message_;
}

Date DateFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return Date{era * 146097 + static_cast<int>(doe) - 719468};
}

void CivilFromDate(Date date, int* year, int* month, int* day) {
  int z = date.days + 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int y = static_cast<int>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  *year = y + (m <= 2);
  *month = static_cast<int>(m);
  *day = static_cast<int>(d);
}

std::optional<Date> ParseDate(std::string_view s) {
  int y, m, d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  if (!Digits(s, 0, 4, &y) || !Digits(s, 5, 2, &m) || !Digits(s, 8, 2, &d)) return std::nullopt;
  if (y < 1800 || m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) return std::nullopt;
  return DateFromCivil(y, m, d);
}

namespace {
void Put2(char* p, int v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}
}  // namespace

std::string FormatDate(Date date) {
  int y, m, d;
  CivilFromDate(date, &y, &m, &d);
  if (y >= 0 && y <= 9999) {
    // Every date relais stores (years 1800 to 9999): written by hand, as the
    // history read formats two per event and snprintf was a tenth of it.
    std::string out(10, '-');
    Put2(&out[0], y / 100);
    Put2(&out[2], y % 100);
    Put2(&out[5], m);
    Put2(&out[8], d);
    return out;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

Date AddMonthsClamped(Date date, int months) {
  int y, m, d;
  CivilFromDate(date, &y, &m, &d);
  int total = y * 12 + (m - 1) + months;
  int ny = total / 12, nm = total % 12 + 1;
  return DateFromCivil(ny, nm, std::min(d, DaysInMonth(ny, nm)));
}

std::optional<Timestamp> ParseTimestamp(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z
  if (s.size() < 20 || s.back() != 'Z' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  auto date = ParseDate(s.substr(0, 10));
  int hh, mm, ss;
  if (!date || !Digits(s, 11, 2, &hh) || !Digits(s, 14, 2, &mm) || !Digits(s, 17, 2, &ss))
    return std::nullopt;
  if (hh > 23 || mm > 59 || ss > 59) return std::nullopt;
  int64_t micros = 0;
  size_t pos = 19;
  if (s[pos] == '.') {
    size_t digits = s.size() - 1 - (pos + 1);
    if (digits < 1 || digits > 6) return std::nullopt;
    int frac;
    if (!Digits(s, pos + 1, digits, &frac)) return std::nullopt;
    micros = frac;
    for (size_t i = digits; i < 6; ++i) micros *= 10;
    pos += 1 + digits;
  }
  if (pos != s.size() - 1) return std::nullopt;
  int64_t secs = static_cast<int64_t>(date->days) * 86400 + hh * 3600 + mm * 60 + ss;
  return Timestamp{secs * 1000000 + micros};
}

std::string FormatTimestamp(Timestamp t) {
  int64_t secs = t.micros >= 0 ? t.micros / 1000000 : (t.micros - 999999) / 1000000;
  int64_t micros = t.micros - secs * 1000000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  std::string date = FormatDate(Date{static_cast<int32_t>(days)});
  if (date.size() == 10) {
    std::string out = date + "T00:00:00.000000Z";
    Put2(&out[11], static_cast<int>(rem / 3600));
    Put2(&out[14], static_cast<int>(rem / 60 % 60));
    Put2(&out[17], static_cast<int>(rem % 60));
    int us = static_cast<int>(micros);
    for (int i = 25; i >= 20; --i, us /= 10) out[i] = static_cast<char>('0' + us % 10);
    return out;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02d.%06dZ",
                FormatDate(Date{static_cast<int32_t>(days)}).c_str(), static_cast<int>(rem / 3600),
                static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60),
                static_cast<int>(micros));
  return buf;
}

Date UtcDate(Timestamp t) {
  int64_t secs = t.micros >= 0 ? t.micros / 1000000 : (t.micros - 999999) / 1000000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  return Date{static_cast<int32_t>(days)};
}

std::optional<Uuid> ParseUuid(std::string_view s) {
  if (s.size() != 36) return std::nullopt;
  Uuid u;
  size_t bi = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    int hi = HexValue(s[i]), lo = HexValue(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    u.bytes[bi++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return u;
}

std::string FormatUuid(const Uuid& u) {
  // 8-4-4-4-12 hex digits: bytes [0,4) [4,6) [6,8) [8,10) [10,16).
  std::string out;
  out.reserve(36);
  AppendHex(&out, u.bytes.data(), 4);
  for (size_t at : {4, 6, 8}) {
    out.push_back('-');
    AppendHex(&out, u.bytes.data() + at, 2);
  }
  out.push_back('-');
  AppendHex(&out, u.bytes.data() + 10, 6);
  return out;
}

Uuid UuidFromBytes(std::string_view b) {
  Uuid u;
  for (size_t i = 0; i < 16 && i < b.size(); ++i) u.bytes[i] = static_cast<uint8_t>(b[i]);
  return u;
}

bool IsBareId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<Subject> ParseSubject(std::string_view text, std::string* why) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    *why = "a subject is household/<id>, dwelling/<id> or territory/<id>";
    return std::nullopt;
  }
  std::string_view kind = text.substr(0, slash), id = text.substr(slash + 1);
  Subject s;
  if (kind == "household") {
    s.kind = StreamKind::kHousehold;
  } else if (kind == "dwelling") {
    s.kind = StreamKind::kDwelling;
  } else if (kind == "territory") {
    s.kind = StreamKind::kTerritory;
  } else {
    *why = "unknown stream kind '" + std::string(kind) + "'";
    return std::nullopt;
  }
  if (!IsBareId(id)) {
    *why = "the id after '" + std::string(kind) + "/' must match [A-Za-z0-9_-]{1,64}";
    return std::nullopt;
  }
  if (s.kind == StreamKind::kTerritory && id != "lille" && id != "sud" && id != "flandres") {
    *why = "unknown territory '" + std::string(id) + "' (lille, sud or flandres)";
    return std::nullopt;
  }
  s.text = std::string(text);
  return s;
}

}  // namespace relais
