#include <barid/core/log.hpp>

#include <gtest/gtest.h>

using barid::core::mask_phone_numbers;

TEST(MaskPhoneNumbersTest, NumbersKeepTheirFirstFourAndLastTwoDigits) {
  EXPECT_EQ(mask_phone_numbers("+966501234567"), "+9665******67");
  EXPECT_EQ(mask_phone_numbers("The 'To' number +966501234567 is not a valid phone number."),
            "The 'To' number +9665******67 is not a valid phone number.");
  EXPECT_EQ(mask_phone_numbers("recipient 966501234567 unsubscribed"), "recipient 9665******67 unsubscribed");
  EXPECT_EQ(mask_phone_numbers("to=0501234567,"), "to=0501****67,");
  EXPECT_EQ(mask_phone_numbers("+14155550100 and +447700900123"), "+1415*****00 and +4477******23");
  EXPECT_EQ(mask_phone_numbers("number: 966501234567."), "number: 9665******67.");
}

TEST(MaskPhoneNumbersTest, NumbersAsPeopleAndClientsWriteThem) {
  EXPECT_EQ(mask_phone_numbers("from 966 50 123 4567 today"), "from 9665******67 today");
  EXPECT_EQ(mask_phone_numbers("call +1 (415) 555-0199."), "call +1415*****99.");
  EXPECT_EQ(mask_phone_numbers("tel:0501234567"), "tel:0501****67");
  EXPECT_EQ(mask_phone_numbers("<tel:+966501234567>"), "<tel:+9665******67>");
  EXPECT_EQ(mask_phone_numbers("GET /v1/messages?to=%2B966501234567&limit=5"), "GET /v1/messages?to=%2B9665******67&limit=5");
  EXPECT_EQ(mask_phone_numbers("to=%2b966501234567"), "to=%2b9665******67");
  EXPECT_EQ(mask_phone_numbers("(0501234567)"), "(0501****67)");
  EXPECT_EQ(mask_phone_numbers("050-123-4567"), "0501****67");
}

TEST(MaskPhoneNumbersTest, IdsTimesAndCountsAreLeftAlone) {
  for (const char* text : {"message 01937412-5555-7abc-8def-123456789012 sent",
                           "2026-12-02T14:02:02.123Z", "batch of 1000 in 250 ms", "error 21211 (HTTP 400)",
                           "key brd_0123456789abcdef", "instance tw-sms/123456789012", "seq 123456789012:5",
                           "SM1234567890abcdef1234567890abcdef", "short +12345 number",
                           "2026-12-02 14:02:02", "error 21211 (HTTP 400)", "100%", "50%2B", "hotel:123",
                           "a 12 b 34 c", "id 01937412-5555-7777-8888-123456789012"})
    EXPECT_EQ(mask_phone_numbers(text), text);
}
