// UUIDv7 message ids (RFC 9562) and random tokens.
#include <barid/core/ids.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <unordered_set>
#include <vector>

namespace barid::core {
namespace {

std::uint64_t unix_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::uint64_t timestamp_of(const Uuid& u) {
  std::uint64_t ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | u.bytes[i];
  return ms;
}

TEST(Uuid, HasVersion7AndTheRfcVariant) {
  for (int i = 0; i < 1000; ++i) {
    const Uuid u = Uuid::v7();
    EXPECT_EQ(u.bytes[6] >> 4, 7) << u.str();
    EXPECT_EQ(u.bytes[8] >> 6, 0b10) << u.str();
    const std::string s = u.str();
    EXPECT_EQ(s[14], '7') << s;
    EXPECT_TRUE(s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b') << s;
  }
}

TEST(Uuid, StartsWithTheUnixTimeInMilliseconds) {
  const auto before = unix_ms();
  const Uuid u = Uuid::v7();
  const auto after = unix_ms();
  EXPECT_GE(timestamp_of(u), before);
  EXPECT_LE(timestamp_of(u), after);
}

TEST(Uuid, IsNeverNilAndDoesNotRepeat) {
  std::unordered_set<Uuid, UuidHash> seen;
  for (int i = 0; i < 20000; ++i) {
    const Uuid u = Uuid::v7();
    EXPECT_FALSE(u.is_nil());
    EXPECT_TRUE(seen.insert(u).second) << "repeated " << u.str();
  }
}

// Ids from one thread sort in creation order, so that new rows land at the
// end of the primary key. A tight loop makes many ids per millisecond, far
// more than the 12-bit counter's room when it starts from a random value of
// up to 0x7FF.
TEST(Uuid, IsStrictlyIncreasingWithinAThread) {
  Uuid previous = Uuid::v7();
  for (int i = 0; i < 200000; ++i) {
    const Uuid next = Uuid::v7();
    ASSERT_LT(previous, next) << "id " << i << ": " << previous.str() << " then " << next.str();
    previous = next;
  }
}

TEST(Uuid, TextIsCanonicalLowercase) {
  Uuid u;
  for (int i = 0; i < 16; ++i) u.bytes[i] = static_cast<std::uint8_t>(0x01 + i * 0x11);
  EXPECT_EQ(u.str(), "01122334-4556-6778-899a-abbccddeef00");  // 0x01 + 15 * 0x11 wraps to 0x00
  EXPECT_EQ(Uuid{}.str(), "00000000-0000-0000-0000-000000000000");
  EXPECT_TRUE(Uuid{}.is_nil());
}

TEST(Uuid, TextRoundTrips) {
  for (int i = 0; i < 100; ++i) {
    const Uuid u = Uuid::v7();
    auto back = Uuid::parse(u.str());
    ASSERT_TRUE(back.has_value()) << u.str();
    EXPECT_EQ(*back, u);
  }
}

TEST(Uuid, ParseAcceptsUpperCase) {
  auto u = Uuid::parse("01122334-4556-6778-899A-ABBCCDDEEFF0");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->str(), "01122334-4556-6778-899a-abbccddeeff0");
}

TEST(Uuid, RawBytesRoundTrip) {
  const Uuid u = Uuid::v7();
  const std::string raw = u.raw();
  ASSERT_EQ(raw.size(), 16u);
  EXPECT_EQ(Uuid::from_bytes(raw), u);
}

TEST(Uuid, ParseRejectsMalformedText) {
  const char* bad[] = {
      "",
      "01122334-4556-6778-899a-abbccddeeff",     // one digit short
      "01122334-4556-6778-899a-abbccddeeff00",   // one digit long
      "0112233445566778899aabbccddeeff0",        // no dashes
      "01122334_4556_6778_899a_abbccddeeff0",    // wrong separators
      "011223344-556-6778-899a-abbccddeeff0",    // dash in the wrong place
      "01122334-4556-6778-899a-abbccddeeffg",    // not hex
      "01122334-4556-6778-899a-abbccddeeff ",
      " 1122334-4556-6778-899a-abbccddeeff0",
      "{1122334-4556-6778-899a-abbccddeeff0}",
  };
  for (const char* text : bad) EXPECT_FALSE(Uuid::parse(text).has_value()) << "'" << text << "'";
}

TEST(Uuid, ParseRejectsExtraDashesInPlaceOfDigits) {
  // Canonical dashes are in place, but two more replace the first two
  // digits of the last group: only 30 hex digits remain.
  EXPECT_FALSE(Uuid::parse("01122334-4556-6778-899a---bccddeeff0").has_value());
  EXPECT_FALSE(Uuid::parse("01122334-4556-6778-899a-abbccddeef-0").has_value());
}

TEST(Uuid, HashDistinguishesIds) {
  std::set<std::size_t> hashes;
  for (int i = 0; i < 1000; ++i) hashes.insert(UuidHash{}(Uuid::v7()));
  EXPECT_GT(hashes.size(), 990u);
}

TEST(RandomHex, HasTheRequestedLengthAndOnlyLowercaseHex) {
  for (std::size_t n : {0u, 1u, 3u, 4u, 5u, 16u, 32u, 33u}) {
    const std::string s = random_hex(n);
    EXPECT_EQ(s.size(), 2 * n);
    EXPECT_EQ(s.find_first_not_of("0123456789abcdef"), std::string::npos) << s;
  }
  EXPECT_NE(random_hex(16), random_hex(16));
}

// Every byte position is random: with 64 draws of 3 bytes, the last byte
// (filled from the high half of a random word) is not always zero.
TEST(RandomHex, EveryByteVaries) {
  std::vector<std::set<std::string>> per_byte(3);
  for (int i = 0; i < 64; ++i) {
    const std::string s = random_hex(3);
    for (int b = 0; b < 3; ++b) per_byte[b].insert(s.substr(2 * b, 2));
  }
  for (int b = 0; b < 3; ++b) EXPECT_GT(per_byte[b].size(), 8u) << "byte " << b;
}

}  // namespace
}  // namespace barid::core
