// Phone numbers to E.164 through libphonenumber. The expectations are what
// libphonenumber (Debian 12's 8.12) really does, checked one by one.
#include <barid/core/phone.hpp>

#include <gtest/gtest.h>

#include <string>

namespace barid::core {
namespace {

struct Normalized {
  const char* region;
  const char* input;
  const char* e164;
};

class NormalizesToE164 : public ::testing::TestWithParam<Normalized> {};

TEST_P(NormalizesToE164, InItsDefaultRegion) {
  const auto& c = GetParam();
  PhoneNormalizer phones(c.region);
  auto r = phones.to_e164(c.input);
  ASSERT_TRUE(r.ok()) << "[" << c.region << "] '" << c.input << "': " << r.error().message;
  EXPECT_EQ(*r, c.e164) << "[" << c.region << "] '" << c.input << "'";
}

INSTANTIATE_TEST_SUITE_P(
    SaudiArabia, NormalizesToE164,
    ::testing::Values(
        Normalized{"SA", "0501234567", "+966501234567"},        // national, trunk prefix 0
        Normalized{"SA", "501234567", "+966501234567"},         // national without the trunk prefix
        Normalized{"SA", "050 123 4567", "+966501234567"},
        Normalized{"SA", "(050) 123-4567", "+966501234567"},
        Normalized{"SA", "05-01-23-45-67", "+966501234567"},
        Normalized{"SA", " 0501234567 ", "+966501234567"},
        Normalized{"SA", "+966 50 123 4567", "+966501234567"},  // international
        Normalized{"SA", "+966 (0) 50 123 4567", "+966501234567"},
        Normalized{"SA", "00966501234567", "+966501234567"},    // Saudi IDD 00
        // The country code without '+' or IDD: libphonenumber sees that
        // 966501234567 is not a valid Saudi national number but 501234567
        // after the region's own country code is, and strips it.
        Normalized{"SA", "966501234567", "+966501234567"},
        Normalized{"SA", "tel:+966501234567", "+966501234567"},
        // Arabic-Indic digits, as typed on an Arabic keyboard.
        Normalized{"SA", "\xD9\xA0\xD9\xA5\xD9\xA0\xD9\xA1\xD9\xA2\xD9\xA3\xD9\xA4\xD9\xA5\xD9\xA6\xD9\xA7",
                   "+966501234567"},
        Normalized{"SA", "0112345678", "+966112345678"},        // a Riyadh landline
        Normalized{"SA", "+966112345678", "+966112345678"}));

INSTANTIATE_TEST_SUITE_P(
    OtherCountries, NormalizesToE164,
    ::testing::Values(
        Normalized{"AE", "0501234567", "+971501234567"},   // UAE mobile, national
        Normalized{"AE", "+971 50 123 4567", "+971501234567"},
        Normalized{"AE", "+966501234567", "+966501234567"},  // a Saudi number from a UAE default
        Normalized{"EG", "01001234567", "+201001234567"},  // Egypt mobile, national
        Normalized{"", "+20 100 123 4567", "+201001234567"},
        Normalized{"US", "(650) 253-0000", "+16502530000"},
        Normalized{"US", "650-253-0000", "+16502530000"},
        Normalized{"", "+1 650-253-0000", "+16502530000"},
        Normalized{"SA", "+1 650 253 0000", "+16502530000"}));

struct Rejected {
  const char* region;
  std::string input;
  const char* message;
};

class RejectsInvalidNumbers : public ::testing::TestWithParam<Rejected> {};

TEST_P(RejectsInvalidNumbers, WithAMessageOnTheField) {
  const auto& c = GetParam();
  PhoneNormalizer phones(c.region);
  auto r = phones.to_e164(c.input, "recipients[2].to");
  ASSERT_FALSE(r.ok()) << "'" << c.input << "' became " << *r;
  EXPECT_EQ(r.error().kind, ErrorKind::invalid);
  EXPECT_EQ(r.error().field, "recipients[2].to");
  EXPECT_EQ(r.error().message, c.message) << "'" << c.input << "'";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RejectsInvalidNumbers,
    ::testing::Values(
        Rejected{"SA", "", "a phone number is required"},
        Rejected{"SA", std::string(65, '1'), "a phone number has at most 64 characters"},
        Rejected{"SA", "00", "the number is too short"},
        Rejected{"SA", "1", "not a phone number"},
        Rejected{"SA", "12", "not a valid phone number for its country"},
        Rejected{"SA", "+966 50 123 456", "not a valid phone number for its country"},  // one digit short
        Rejected{"SA", "+96650123456789", "not a valid phone number for its country"},  // too many digits
        Rejected{"SA", "05012345678901234567890", "the number is too long"},
        Rejected{"", "+96650", "not a valid phone number for its country"},
        Rejected{"SA", "hello", "a phone number has digits only (and + ( ) - . spaces), no letters"},
        Rejected{"SA", "abc", "a phone number has digits only (and + ( ) - . spaces), no letters"},
        Rejected{"SA", "+", "not a phone number"},
        // No country code and no default region.
        Rejected{"", "0501234567", "the number has no valid country code (use +<country code>...)"},
        Rejected{"", "966501234567", "the number has no valid country code (use +<country code>...)"},
        Rejected{"", "+999 1234567", "the number has no valid country code (use +<country code>...)"}));

TEST(PhoneNormalizer, DefaultFieldIsTo) {
  PhoneNormalizer phones("SA");
  auto r = phones.to_e164("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "to");
}

TEST(PhoneNormalizer, KeepsItsDefaultRegion) {
  EXPECT_EQ(PhoneNormalizer("SA").default_region(), "SA");
  EXPECT_EQ(PhoneNormalizer().default_region(), "");
}

// libphonenumber would drop an extension and dial three or more letters as
// a vanity number; for a patient's mobile those are typos, so any letter is
// refused with a reason.
TEST(PhoneNormalizer, LettersAreRefused) {
  PhoneNormalizer phones("SA");
  for (const char* input : {"+966 50 123 4567 ext. 12", "+966-50-ABC-4567", "05O1234567"}) {
    auto r = phones.to_e164(input);
    ASSERT_FALSE(r.ok()) << input;
    EXPECT_EQ(r.error().field, "to");
    EXPECT_NE(r.error().message.find("no letters"), std::string::npos) << r.error().message;
  }
}

TEST(PhoneNormalizer, KnowsRegionsByUpperCaseIsoCode) {
  EXPECT_TRUE(PhoneNormalizer::is_known_region("SA"));
  EXPECT_TRUE(PhoneNormalizer::is_known_region("AE"));
  EXPECT_TRUE(PhoneNormalizer::is_known_region("EG"));
  EXPECT_TRUE(PhoneNormalizer::is_known_region("US"));
  EXPECT_FALSE(PhoneNormalizer::is_known_region("sa"));
  EXPECT_FALSE(PhoneNormalizer::is_known_region("XX"));
  EXPECT_FALSE(PhoneNormalizer::is_known_region("ZZ"));  // libphonenumber's "unknown"
  EXPECT_FALSE(PhoneNormalizer::is_known_region("001"));
  EXPECT_FALSE(PhoneNormalizer::is_known_region(""));
}

}  // namespace
}  // namespace barid::core

namespace barid::core {
namespace {

// Found by fuzz_phone: libphonenumber calls this German number valid, but
// it has 16 digits and E.164 allows 15.
TEST(PhoneNormalizer, MoreThanFifteenDigitsIsTooLong) {
  PhoneNormalizer sa("SA");
  auto r = sa.to_e164("004971124351351567", "to");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "to");
  EXPECT_NE(r.error().message.find("15 digits"), std::string::npos);
}

TEST(PhoneNormalizer, KnowsTheRegionOfANumber) {
  EXPECT_EQ(PhoneNormalizer::region_of("+966501234567"), "SA");
  EXPECT_EQ(PhoneNormalizer::region_of("+971501234567"), "AE");
  EXPECT_EQ(PhoneNormalizer::region_of("not a number"), "");
}

}  // namespace
}  // namespace barid::core
