// Retry-After, decimal prices, config values and query strings.
#include "support/config_reader.hpp"
#include "support/decimal_money.hpp"
#include "support/retry_after.hpp"
#include "support/url_parts.hpp"

#include <gtest/gtest.h>

namespace barid::plugins::support {
namespace {

using namespace std::chrono;

const auto kNow = system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT

TEST(RetryAfter, Seconds) {
  EXPECT_EQ(parse_retry_after("120", kNow), milliseconds(120000));
  EXPECT_EQ(parse_retry_after(" 0 ", kNow), milliseconds(0));
  EXPECT_EQ(parse_retry_after("99999999999", kNow), kMaxRetryAfter);
  EXPECT_EQ(parse_retry_after("", kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after("-5", kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after("1.5", kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after("soon", kNow), std::nullopt);
}

TEST(RetryAfter, HttpDates) {
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", kNow), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", kNow), milliseconds(60000));
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:40 1994", kNow), milliseconds(3000));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", kNow), milliseconds(0));  // past
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 2094 08:00:00 GMT", kNow), kMaxRetryAfter);
  EXPECT_EQ(parse_retry_after("Sun, 06 Foo 1994 08:49:47 GMT", kNow), std::nullopt);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 25:49:47 GMT", kNow), std::nullopt);
}

TEST(DecimalMicros, Parsing) {
  EXPECT_EQ(parse_decimal_micros("-0.00750"), -7500);
  EXPECT_EQ(parse_decimal_micros("0.0075"), 7500);
  EXPECT_EQ(parse_decimal_micros("12"), 12000000);
  EXPECT_EQ(parse_decimal_micros("+3.5"), 3500000);
  EXPECT_EQ(parse_decimal_micros(".5"), 500000);
  EXPECT_EQ(parse_decimal_micros("0.0000005"), 1);
  EXPECT_EQ(parse_decimal_micros("0.0000004"), 0);
  EXPECT_EQ(parse_decimal_micros("-0.0000005"), -1);
  EXPECT_EQ(parse_decimal_micros("1e-3"), std::nullopt);
  EXPECT_EQ(parse_decimal_micros("1,000"), std::nullopt);
  EXPECT_EQ(parse_decimal_micros("."), std::nullopt);
  EXPECT_EQ(parse_decimal_micros(""), std::nullopt);
  EXPECT_EQ(parse_decimal_micros("99999999999999999999"), std::nullopt);
  EXPECT_EQ(micros_from_double(0.0375), 37500);
  EXPECT_EQ(micros_from_double(-0.0075), -7500);
}

TEST(ConfigValues, BooleansAndUrls) {
  EXPECT_EQ(parse_bool("TRUE"), true);
  EXPECT_EQ(parse_bool("off"), false);
  EXPECT_EQ(parse_bool("maybe"), std::nullopt);
  sdk::ProviderConfig c;
  c.values = {{"u", "https://api.example.com/"}, {"bad", "api.example.com"}, {"q", "https://x.example?a=1"}};
  ConfigReader in(c);
  std::string url;
  EXPECT_TRUE(in.base_url("u", url));
  EXPECT_EQ(url, "https://api.example.com");
  EXPECT_FALSE(in.base_url("bad", url));
  EXPECT_NE(in.error().find("'bad'"), std::string::npos);
  EXPECT_FALSE(in.base_url("q", url));
}

TEST(UrlParts, QueryStrings) {
  EXPECT_EQ(query_string("https://h/p?a=1&b=2#frag"), "a=1&b=2");
  EXPECT_EQ(query_string("https://h/p"), "");
  EXPECT_EQ(sdk::form_value(query_params("https://h/p?mid=abc&x=%2B1"), "x"), "+1");
  EXPECT_EQ(with_query_param("https://h/p", "mid", "a b"), "https://h/p?mid=a%20b");
  EXPECT_EQ(with_query_param("https://h/p?x=1", "mid", "m"), "https://h/p?x=1&mid=m");
}

}  // namespace
}  // namespace barid::plugins::support
