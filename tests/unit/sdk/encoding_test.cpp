// The encoders the SDK gives every plugin.
#include <barid/sdk/encoding.hpp>
#include <barid/sdk/http.hpp>

#include <gtest/gtest.h>

namespace barid::sdk {
namespace {

TEST(UrlEncode, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(url_encode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(url_encode("a b"), "a%20b");
  EXPECT_EQ(url_encode("+966 50"), "%2B966%2050");
  EXPECT_EQ(url_encode("a&b=c/d?e#f%"), "a%26b%3Dc%2Fd%3Fe%23f%25");
  EXPECT_EQ(url_encode(""), "");
  // UTF-8 byte by byte, upper-case hex (RFC 3986 2.1).
  EXPECT_EQ(url_encode("\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7"), "%D9%85%D8%B1%D8%AD%D8%A8%D8%A7");  // مرحبا
  EXPECT_EQ(url_encode(std::string("\0\xFF", 2)), "%00%FF");
}

TEST(UrlDecode, DecodesEscapesAndPlus) {
  EXPECT_EQ(url_decode("a%20b"), "a b");
  EXPECT_EQ(url_decode("a+b"), "a b");
  EXPECT_EQ(url_decode("a+b", /*plus_is_space=*/false), "a+b");
  EXPECT_EQ(url_decode("%2B966"), "+966");
  EXPECT_EQ(url_decode("%d9%85"), "\xD9\x85");  // lower-case hex too
  EXPECT_EQ(url_decode("%00", false), std::string("\0", 1));
}

TEST(UrlDecode, KeepsMalformedEscapesAsTheyAre) {
  EXPECT_EQ(url_decode("100%"), "100%");
  EXPECT_EQ(url_decode("%4"), "%4");
  EXPECT_EQ(url_decode("a%4"), "a%4");
  EXPECT_EQ(url_decode("%zz"), "%zz");
  EXPECT_EQ(url_decode("%%41"), "%A");
  EXPECT_EQ(url_decode("%41%"), "A%");
}

TEST(UrlEncoding, RoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(url_decode(url_encode(all), false), all);
  EXPECT_EQ(url_decode(url_encode(all), true), all);  // '+' is always escaped on the way out
}

TEST(Form, EncodesFieldsInOrder) {
  EXPECT_EQ(form_encode({{"To", "+966501234567"}, {"Body", "Hello world & more"}}),
            "To=%2B966501234567&Body=Hello%20world%20%26%20more");
  EXPECT_EQ(form_encode({}), "");
  EXPECT_EQ(form_encode({{"empty", ""}}), "empty=");
}

TEST(Form, DecodesTwilioStyleBodies) {
  const FormFields f = form_decode("MessageSid=SM123&MessageStatus=delivered&To=%2B966501234567&Body=a+b");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0], (std::pair<std::string, std::string>{"MessageSid", "SM123"}));
  EXPECT_EQ(form_value(f, "MessageStatus"), "delivered");
  EXPECT_EQ(form_value(f, "To"), "+966501234567");
  EXPECT_EQ(form_value(f, "Body"), "a b");
  EXPECT_EQ(form_value(f, "Missing"), "");
}

TEST(Form, DecodesEdgeCases) {
  EXPECT_TRUE(form_decode("").empty());
  EXPECT_TRUE(form_decode("&&").empty());
  const FormFields f = form_decode("flag&k=&=v&k2=a=b");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(f[1], (std::pair<std::string, std::string>{"k", ""}));
  EXPECT_EQ(f[2], (std::pair<std::string, std::string>{"", "v"}));
  EXPECT_EQ(f[3], (std::pair<std::string, std::string>{"k2", "a=b"}));
  // The first value of a repeated field wins.
  EXPECT_EQ(form_value(form_decode("a=1&a=2"), "a"), "1");
}

TEST(Form, RoundTrips) {
  const FormFields fields = {{"To", "+966501234567"},
                             {"Body", "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 & = + % \xF0\x9F\x98\x80"},
                             {"a b", "c&d"},
                             {"empty", ""},
                             {"To", "repeated"}};
  EXPECT_EQ(form_decode(form_encode(fields)), fields);
}

TEST(Base64, MatchesRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, EncodesBinaryWithTheStandardAlphabet) {
  EXPECT_EQ(base64_encode(std::string("\xFB\xFF\xBF", 3)), "+/+/");
  EXPECT_EQ(base64_encode(std::string("\0\0\0", 3)), "AAAA");
  EXPECT_EQ(base64_encode(std::string("\xFF", 1)), "/w==");
  // HTTP Basic: "user:pass".
  EXPECT_EQ(base64_encode("AC123:token"), "QUMxMjM6dG9rZW4=");
}

TEST(Hex, EncodesLowerCase) {
  EXPECT_EQ(hex_encode(""), "");
  EXPECT_EQ(hex_encode(std::string("\x00\x0f\xa5\xff", 4)), "000fa5ff");
  EXPECT_EQ(hex_value('0'), 0);
  EXPECT_EQ(hex_value('9'), 9);
  EXPECT_EQ(hex_value('a'), 10);
  EXPECT_EQ(hex_value('F'), 15);
  EXPECT_EQ(hex_value('g'), -1);
  EXPECT_EQ(hex_value('-'), -1);
  EXPECT_EQ(hex_value('\0'), -1);
}

TEST(ConstantTimeEquals, ComparesWholeStrings) {
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "Abc"));
  EXPECT_FALSE(constant_time_equals("abc", "ab"));
  EXPECT_FALSE(constant_time_equals("ab", "abc"));
  EXPECT_FALSE(constant_time_equals("", "a"));
  EXPECT_TRUE(constant_time_equals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equals(std::string("a\0b", 3), std::string("a\0c", 3)));
  // Every bit position of the last byte counts.
  for (int bit = 0; bit < 8; ++bit) {
    std::string a(16, 'x'), b(16, 'x');
    b.back() = static_cast<char>(b.back() ^ (1 << bit));
    EXPECT_FALSE(constant_time_equals(a, b)) << bit;
  }
}

TEST(Http, HeadersAreCaseInsensitive) {
  const HttpHeaders headers = {{"Content-Type", "application/json"}, {"X-Twilio-Signature", "abc"},
                               {"x-twilio-signature", "second"}};
  EXPECT_EQ(find_header(headers, "content-type"), "application/json");
  EXPECT_EQ(find_header(headers, "X-TWILIO-SIGNATURE"), "abc");
  EXPECT_EQ(find_header(headers, "Retry-After"), "");
  EXPECT_TRUE(iequals("Retry-After", "retry-after"));
  EXPECT_FALSE(iequals("Retry-After", "Retry-Afte"));
  EXPECT_FALSE(iequals("a", "b"));
  HttpResponse r;
  r.headers = {{"Retry-After", "30"}};
  EXPECT_EQ(r.header("retry-after"), "30");
  EXPECT_FALSE(r.transport_failed());
  r.error = TransportError::timeout;
  EXPECT_TRUE(r.transport_failed());
}

}  // namespace
}  // namespace barid::sdk
