// What the MySQL store lets reach a log of a server error.
#include "connection.hpp"

#include <gtest/gtest.h>

namespace barid::core::mysql {
namespace {

TEST(LoggableServerMessage, HidesAValueTheServerQuotes) {
  const std::string text = "Incorrect string value: '\\xF0\\x9F\\x98' for column `barid`.`messages`.`body` at row 1";
  EXPECT_EQ(loggable_server_message(text), "Incorrect string value: '…' for column `barid`.`messages`.`body` at row 1");
}

TEST(LoggableServerMessage, HidesEverythingBetweenTheFirstAndLastQuote) {
  // A quote inside the value must not let the rest of it through.
  EXPECT_EQ(loggable_server_message("Duplicate entry '7-it's mine' for key 'uq_messages_idempotency'"),
            "Duplicate entry '…'");
  EXPECT_EQ(loggable_server_message("You have an error in your SQL syntax; check the manual near 'Results ready "
                                    "for Ahmad' at line 1"),
            "You have an error in your SQL syntax; check the manual near '…' at line 1");
}

TEST(LoggableServerMessage, KeepsAMessageWithoutQuotes) {
  EXPECT_EQ(loggable_server_message("Lost connection to server during query"), "Lost connection to server during query");
  EXPECT_EQ(loggable_server_message("unbalanced ' quote"), "unbalanced '…'");
}

}  // namespace
}  // namespace barid::core::mysql
