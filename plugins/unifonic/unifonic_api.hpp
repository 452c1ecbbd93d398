#pragma once
// What the Unifonic SMS REST API answers, read defensively: the envelope
// {"success": true|"true", "message", "errorCode": "ER-xx", "data": {...}},
// message ids that are JSON numbers, status words in several spellings.

#include <barid/sdk/sdk.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace barid::plugins::unifonic {

struct Envelope {
  bool parsed = false;   // the body was a JSON object
  bool success = false;  // "success" as a boolean or the string "true"
  std::string error_code;
  std::string message;
  nlohmann::json data;  // the "data" member (null when absent)
};

Envelope parse_envelope(std::string_view body);

// A JSON string or integer as text ("" for anything else).
std::string json_text(const nlohmann::json& value);

// The member of `object` whose name equals one of `names` ignoring case.
const nlohmann::json* find_member(const nlohmann::json& object, std::initializer_list<std::string_view> names);

// How an errorCode (ER-xx) is handled.
struct ErrorCodeInfo {
  sdk::Outcome outcome;
  std::string_view title;
  bool account_problem;  // the account or its configuration, not the message
};
ErrorCodeInfo classify_error_code(std::string_view error_code);

// A Unifonic HTTP status (the documented 4xx list), for people; "" if unknown.
std::string_view http_status_text(int status);

// A status word from a send answer, a details query or a delivery report
// (case-insensitive): Delivered; Undelivered, Undeliverable, Expired,
// Deleted; Rejected, Failed, Not Sent; Sent, Queued, Enroute, Accepted,
// Pending, Scheduled. nullopt for words that say nothing (Unknown,
// Delivery not confirmed) and for unknown words.
std::optional<sdk::MessageStatus> map_status(std::string_view word);

// "Cost" (number or string) in "CurrencyCode"; nullopt when either is
// missing or unreadable.
std::optional<sdk::Money> parse_cost(const nlohmann::json* cost, const nlohmann::json* currency);

// A recipient in the form Unifonic wants: digits only, no '+' or '00'.
// "" when `e164` is not a phone number.
std::string recipient_digits(std::string_view e164);

}  // namespace barid::plugins::unifonic
