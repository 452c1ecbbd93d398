#pragma once
// What the gateway needs to know about Twilio's error codes: a short
// explanation, and whether the recipient has unsubscribed.

#include <optional>
#include <string>
#include <string_view>

namespace barid::plugins::twilio {

struct TwilioErrorInfo {
  std::string_view title;     // what the code means, for people
  bool recipient_opted_out;   // the recipient unsubscribed or blocked the sender
  bool transient = false;     // a later attempt may succeed (queue overflow, Twilio's own failure)
};

// Known codes (see docs/providers.md); nullopt for the others.
std::optional<TwilioErrorInfo> describe_error(std::string_view code);

// Twilio's own message when it gave one, else the title of a known code,
// else a generic text. For codes where the gateway's operator needs advice
// (63016: the WhatsApp 24-hour window) the advice is used instead.
std::string error_text(std::string_view code, std::string_view twilio_message);

}  // namespace barid::plugins::twilio
