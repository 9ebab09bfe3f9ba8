#include <gtest/gtest.h>

#include <cstring>

#include <cstdio>
#include <random>

#include "relais/hex.h"
#include "relais/json_writer.h"
#include "relais/types.h"

namespace relais {
namespace {

TEST(DateTest, ParsesRealCalendarDaysOnly) {
  EXPECT_TRUE(ParseDate("2016-02-29"));
  EXPECT_FALSE(ParseDate("2015-02-29"));
  EXPECT_FALSE(ParseDate("2015-02-30"));
  EXPECT_FALSE(ParseDate("2015-13-01"));
  EXPECT_FALSE(ParseDate("2015-1-01"));
  EXPECT_FALSE(ParseDate("2018-06-40"));
  EXPECT_EQ(FormatDate(*ParseDate("2015-03-20")), "2015-03-20");
  EXPECT_EQ(*ParseDate("1970-01-02") - *ParseDate("1970-01-01"), 1);
}

TEST(DateTest, AddMonthsClampsToTheMonthsLastDay) {
  EXPECT_EQ(FormatDate(AddMonthsClamped(*ParseDate("2015-12-31"), 2)), "2016-02-29");
  EXPECT_EQ(FormatDate(AddMonthsClamped(*ParseDate("2017-01-25"), 2)), "2017-03-25");
  EXPECT_EQ(FormatDate(AddMonthsClamped(*ParseDate("2017-11-30"), 2)), "2018-01-30");
}

TEST(DateTest, RoundTripsEveryDayOverTwoCenturies) {
  for (int d = DateFromCivil(1900, 1, 1).days; d < DateFromCivil(2100, 1, 1).days; ++d) {
    auto back = ParseDate(FormatDate(Date{d}));
    ASSERT_TRUE(back);
    ASSERT_EQ(back->days, d);
  }
}

TEST(TimestampTest, Rfc3339Utc) {
  auto t = ParseTimestamp("2015-02-02T09:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(FormatTimestamp(*t), "2015-02-02T09:00:00.000000Z");
  EXPECT_EQ(FormatTimestamp(*ParseTimestamp("2015-02-02T09:00:00.5Z")), "2015-02-02T09:00:00.500000Z");
  EXPECT_EQ(FormatTimestamp(*ParseTimestamp("2015-02-02T09:00:00.123456Z")), "2015-02-02T09:00:00.123456Z");
  EXPECT_FALSE(ParseTimestamp("2015-02-02T09:00:00.1234567Z"));
  EXPECT_FALSE(ParseTimestamp("2015-02-02T09:00:00+01:00"));
  EXPECT_FALSE(ParseTimestamp("2015-02-02T24:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("2015-02-02 09:00:00Z"));
  EXPECT_EQ(FormatDate(UtcDate(*t)), "2015-02-02");
}

TEST(HexTest, LowercaseTwoDigitsPerByte) {
  const unsigned char bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
  EXPECT_EQ(ToHex(bytes, sizeof bytes), "00017f80abff");
  EXPECT_EQ(ToHex(std::string_view("\x10Z", 2)), "105a");
  EXPECT_EQ(ToHex(bytes, 0), "");
  std::string out = "rls_";
  AppendHex(&out, bytes + 4, 2);
  EXPECT_EQ(out, "rls_abff");
}

TEST(HexTest, FromHexReadsWhatToHexPrintsAndNothingElse) {
  const unsigned char bytes[] = {0x00, 0x0f, 0xa5, 0xff};
  unsigned char back[4] = {};
  ASSERT_TRUE(FromHex(ToHex(bytes, 4), back, 4));
  EXPECT_EQ(std::memcmp(back, bytes, 4), 0);
  EXPECT_FALSE(FromHex("000FA5FF", back, 4));   // uppercase is not what relais prints
  EXPECT_FALSE(FromHex("000fa5f", back, 4));    // odd length
  EXPECT_FALSE(FromHex("000fa5ff00", back, 4)); // too long
  EXPECT_FALSE(FromHex("000fa5fg", back, 4));   // not a digit
}

TEST(UuidTest, LowercaseCanonicalOnly) {
  auto u = ParseUuid("005e1a15-0000-0040-0080-00000000000a");
  ASSERT_TRUE(u);
  EXPECT_EQ(FormatUuid(*u), "005e1a15-0000-0040-0080-00000000000a");
  EXPECT_FALSE(ParseUuid("005E1A15-0000-0040-0080-00000000000A"));
  EXPECT_FALSE(ParseUuid("005e1a150000-0040-0080-00000000000a0"));
}

TEST(SubjectTest, Kinds) {
  std::string why;
  EXPECT_TRUE(ParseSubject("household/H-0001", &why));
  EXPECT_TRUE(ParseSubject("territory/flandres", &why));
  EXPECT_FALSE(ParseSubject("territory/paris", &why));
  EXPECT_FALSE(ParseSubject("household/", &why));
  EXPECT_FALSE(ParseSubject("household/a b", &why));
  EXPECT_FALSE(ParseSubject("person/x", &why));
  EXPECT_FALSE(ParseSubject("household/" + std::string(65, 'a'), &why));
}

}  // namespace

// FormatDate and FormatTimestamp write digits by hand on the read path; they
// must give snprintf's bytes, on every year (also outside 0..9999, where the
// snprintf path is kept) and on negative times.
TEST(FormatTest, HandWrittenDigitsEqualSnprintf) {
  const uint64_t seed = std::random_device{}();
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  auto reference_date = [](Date d) {
    int y, m, dd;
    CivilFromDate(d, &y, &m, &dd);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, dd);
    return std::string(buf);
  };
  for (int i = 0; i < 20000; ++i) {
    Date d{static_cast<int32_t>(static_cast<int64_t>(rng() % 6000000) - 3000000)};
    ASSERT_EQ(FormatDate(d), reference_date(d)) << "days " << d.days << " seed " << seed;
    int64_t us = static_cast<int64_t>(rng() % (int64_t{1} << 50)) - (int64_t{1} << 49);
    int64_t secs = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;
    int64_t micros = us - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02d.%06dZ",
                  reference_date(Date{static_cast<int32_t>(days)}).c_str(),
                  static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                  static_cast<int>(rem % 60), static_cast<int>(micros));
    ASSERT_EQ(FormatTimestamp(Timestamp{us}), buf) << "micros " << us << " seed " << seed;
  }
}

// AppendJsonString copies runs of plain bytes at once: every escape still
// comes out where it was, first, last, repeated or alone.
TEST(FormatTest, JsonStringEscapesEveryByteInPlace) {
  for (int c = 0; c < 256; ++c) {
    std::string in = "a" + std::string(1, static_cast<char>(c)) + "b" + std::string(1, static_cast<char>(c));
    std::string expect = "\"a";
    auto esc = [&](unsigned char ch) {
      switch (ch) {
        case '"': return std::string("\\\"");
        case '\\': return std::string("\\\\");
        case '\n': return std::string("\\n");
        case '\r': return std::string("\\r");
        case '\t': return std::string("\\t");
        case '\b': return std::string("\\b");
        case '\f': return std::string("\\f");
        default:
          if (ch < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", ch);
            return std::string(buf);
          }
          return std::string(1, static_cast<char>(ch));
      }
    };
    expect += esc(static_cast<unsigned char>(c)) + "b" + esc(static_cast<unsigned char>(c)) + "\"";
    std::string out;
    AppendJsonString(out, in);
    ASSERT_EQ(out, expect) << "byte " << c;
    out.clear();
    AppendJsonString(out, in.substr(1, 1));
    ASSERT_EQ(out, "\"" + esc(static_cast<unsigned char>(c)) + "\"") << "byte " << c;
  }
  std::string out;
  AppendJsonString(out, "");
  EXPECT_EQ(out, "\"\"");
}

}  // namespace relais
