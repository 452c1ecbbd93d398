// UTC time as stored (MySQL DATETIME(6)) and shown (RFC 3339).
#include <barid/core/time.hpp>

#include <gtest/gtest.h>

namespace barid::core {
namespace {

using namespace std::chrono;

TimePoint at(int y, unsigned mo, unsigned d, int h, int mi, int s, long long us = 0) {
  return time_point_cast<microseconds>(sys_days(year{y} / month{mo} / day{d}) + hours(h) + minutes(mi) +
                                       seconds(s) + microseconds(us));
}

TEST(Time, FormatsDatabaseLiterals) {
  EXPECT_EQ(format_db_time(at(2026, 11, 25, 4, 48, 32, 123456)), "2026-11-25 04:48:32.123456");
  EXPECT_EQ(format_db_time(at(2026, 1, 2, 3, 4, 5)), "2026-01-02 03:04:05.000000");
  EXPECT_EQ(format_db_time(TimePoint{}), "1970-01-01 00:00:00.000000");
  EXPECT_EQ(format_db_time(at(2024, 2, 29, 23, 59, 59, 999999)), "2024-02-29 23:59:59.999999");
}

TEST(Time, FormatsIso8601InUtc) {
  EXPECT_EQ(format_iso8601(at(2026, 11, 25, 4, 48, 32, 123456)), "2026-11-25T04:48:32.123456Z");
  EXPECT_EQ(format_iso8601(at(2026, 1, 2, 3, 4, 5, 7)), "2026-01-02T03:04:05.000007Z");
}

TEST(Time, FormatsTimesBeforeTheEpoch) {
  // Half a second before 1970: the fraction must count forwards from the
  // whole second below, not be negative.
  EXPECT_EQ(format_iso8601(TimePoint{} - microseconds(500000)), "1969-12-31T23:59:59.500000Z");
  EXPECT_EQ(format_db_time(at(1969, 7, 20, 20, 17, 40)), "1969-07-20 20:17:40.000000");
}

TEST(Time, ParsesDatabaseLiterals) {
  EXPECT_EQ(parse_db_time("2026-11-25 04:48:32.123456"), at(2026, 11, 25, 4, 48, 32, 123456));
  EXPECT_EQ(parse_db_time("2026-11-25 04:48:32"), at(2026, 11, 25, 4, 48, 32));
  EXPECT_EQ(parse_db_time("2026-11-25 04:48:32.1"), at(2026, 11, 25, 4, 48, 32, 100000));
  EXPECT_EQ(parse_db_time("2026-11-25 04:48:32.000001"), at(2026, 11, 25, 4, 48, 32, 1));
  EXPECT_EQ(parse_db_time("2024-02-29 00:00:00"), at(2024, 2, 29, 0, 0, 0));
}

TEST(Time, DatabaseLiteralsRoundTrip) {
  for (TimePoint t : {at(2026, 11, 25, 4, 48, 32, 123456), at(2000, 1, 1, 0, 0, 0), at(2038, 1, 19, 3, 14, 8, 1),
                      time_point_cast<microseconds>(now_us())}) {
    auto back = parse_db_time(format_db_time(t));
    ASSERT_TRUE(back.has_value()) << format_db_time(t);
    EXPECT_EQ(*back, t);
  }
}

TEST(Time, RejectsInvalidDatabaseLiterals) {
  const char* bad[] = {
      "",
      "2026-11-25",
      "2026-11-25T04:48:32",   // ISO separator
      "2026/11/25 04:48:32",
      "2026-13-01 00:00:00",   // month 13
      "2026-00-01 00:00:00",
      "2026-02-30 00:00:00",   // no such day
      "2025-02-29 00:00:00",   // not a leap year
      "2026-11-25 24:00:00",
      "2026-11-25 23:60:00",
      "2026-11-25 4:48:32",
      "x026-11-25 04:48:32",
  };
  for (const char* s : bad) EXPECT_FALSE(parse_db_time(s).has_value()) << "'" << s << "'";
}

TEST(Time, RejectsTrailingGarbageInDatabaseLiterals) {
  EXPECT_FALSE(parse_db_time("2026-11-25 04:48:32Z").has_value());
  EXPECT_FALSE(parse_db_time("2026-11-25 04:48:32 garbage").has_value());
  EXPECT_FALSE(parse_db_time("2026-11-25 04:48:32.").has_value());
  EXPECT_FALSE(parse_db_time("2026-11-25 04:48:32.12x").has_value());
}

TEST(Time, ParsesIso8601WithZones) {
  const TimePoint expected = at(2026, 11, 25, 4, 48, 32);
  EXPECT_EQ(parse_iso8601("2026-11-25T04:48:32Z"), expected);
  EXPECT_EQ(parse_iso8601("2026-11-25t04:48:32z"), expected);
  EXPECT_EQ(parse_iso8601("2026-11-25T04:48:32+00:00"), expected);
  EXPECT_EQ(parse_iso8601("2026-11-25T04:48:32-00:00"), expected);
  EXPECT_EQ(parse_iso8601("2026-11-25T07:48:32+03:00"), expected);  // Riyadh
  EXPECT_EQ(parse_iso8601("2026-11-25T10:18:32+05:30"), expected);  // India
  EXPECT_EQ(parse_iso8601("2026-11-24T23:48:32-05:00"), expected);  // the day before, New York
  EXPECT_EQ(parse_iso8601("2026-11-25T00:00:00+23:59"), at(2026, 11, 24, 0, 1, 0));
}

TEST(Time, ParsesIso8601Fractions) {
  EXPECT_EQ(parse_iso8601("2026-11-25T04:48:32.5Z"), at(2026, 11, 25, 4, 48, 32, 500000));
  EXPECT_EQ(parse_iso8601("2026-11-25T04:48:32.123Z"), at(2026, 11, 25, 4, 48, 32, 123000));
  EXPECT_EQ(parse_iso8601("2026-11-25T04:48:32.123456Z"), at(2026, 11, 25, 4, 48, 32, 123456));
  // Beyond microseconds the digits are dropped, not rounded.
  EXPECT_EQ(parse_iso8601("2026-11-25T04:48:32.123456789Z"), at(2026, 11, 25, 4, 48, 32, 123456));
  EXPECT_EQ(parse_iso8601("2026-11-25T07:48:32.25+03:00"), at(2026, 11, 25, 4, 48, 32, 250000));
}

TEST(Time, Iso8601RoundTrips) {
  for (TimePoint t : {at(2026, 11, 25, 4, 48, 32, 123456), at(1999, 12, 31, 23, 59, 59, 999999),
                      time_point_cast<microseconds>(now_us())}) {
    auto back = parse_iso8601(format_iso8601(t));
    ASSERT_TRUE(back.has_value()) << format_iso8601(t);
    EXPECT_EQ(*back, t);
  }
}

TEST(Time, Iso8601RequiresAZone) {
  EXPECT_FALSE(parse_iso8601("2026-11-25T04:48:32").has_value());
  EXPECT_FALSE(parse_iso8601("2026-11-25T04:48:32.123").has_value());
}

TEST(Time, RejectsInvalidIso8601) {
  const char* bad[] = {
      "",
      "2026-11-25",
      "2026-11-25 04:48:32Z",       // space instead of T
      "2026-11-25T04:48Z",          // no seconds
      "2026-11-25T04:48:32.Z",      // a dot without digits
      "2026-11-25T04:48:32+0300",   // offset without a colon
      "2026-11-25T04:48:32+03",
      "2026-11-25T04:48:32+24:00",  // offset out of range
      "2026-11-25T04:48:32+03:60",
      "2026-11-25T04:48:32ZZ",      // trailing characters
      "2026-11-25T04:48:32Z ",
      "2026-11-25T04:48:32+03:00x",
      "2026-11-25T24:00:00Z",
      "2026-11-31T00:00:00Z",       // November has 30 days
      "2026-02-29T00:00:00Z",
      "20261125T044832Z",           // basic format is not accepted
      "2026-11-25T04:48:32UTC",
  };
  for (const char* s : bad) EXPECT_FALSE(parse_iso8601(s).has_value()) << "'" << s << "'";
}

}  // namespace
}  // namespace barid::core
