#include <gtest/gtest.h>

#include "relais/hex.h"
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
}  // namespace relais
