#include "twilio/twilio_errors.hpp"

#include <utility>

namespace barid::plugins::twilio {
namespace {

struct Entry {
  std::string_view code;
  TwilioErrorInfo info;
};

constexpr Entry kErrors[] = {
    {"20003", {"authentication failed: check account_sid and the auth token or API key", false}},
    {"20404", {"the resource was not found", false}},
    {"20429", {"too many concurrent requests to Twilio", false}},
    {"21211", {"invalid 'To' phone number", false}},
    {"21408", {"the account may not send to this country or region (Messaging Geo Permissions)", false}},
    {"21606", {"the 'From' number cannot send messages", false}},
    {"21608", {"trial account: the 'To' number is not verified", false}},
    {"21609", {"invalid StatusCallback URL", false}},
    {"21610", {"the recipient unsubscribed from this sender (replied STOP)", true}},
    {"21612", {"Twilio cannot route between this 'To' and 'From'", false}},
    {"21614", {"the 'To' number is not a mobile number", false}},
    {"21617", {"the message body is longer than 1600 characters", false}},
    {"21635", {"the 'To' number is a landline", false}},
    {"21659", {"the 'From' number is not a Twilio number of this account", false}},
    {"30001", {"queue overflow at Twilio", false, true}},
    {"30002", {"the Twilio account is suspended", false}},
    {"30003", {"the destination handset is unreachable", false}},
    {"30004", {"the message was blocked", false}},
    {"30005", {"unknown destination handset", false}},
    {"30006", {"landline or unreachable carrier", false}},
    {"30007", {"the carrier filtered the message", false}},
    {"30008", {"unknown delivery error", false}},
    {"30036", {"the message expired in Twilio's queue (validity period)", false, true}},
    {"30500", {"Twilio internal error", false, true}},
    {"35115", {"the scheduled send time is out of range", false}},
    {"63014", {"the WhatsApp user blocked or opted out of this sender", true}},
    {"63016",
     {"outside the WhatsApp 24-hour customer service window: free-form text is only allowed within 24 hours "
      "of the recipient's last message; send an approved template (provider_template, a Content SID) instead",
      false}},
    {"63021", {"invalid WhatsApp content (template over 1024 characters)", false}},
    {"63030", {"unsupported WhatsApp template parameter", false}},
    {"63024", {"invalid WhatsApp message recipient", false}},
};

}  // namespace

std::optional<TwilioErrorInfo> describe_error(std::string_view code) {
  for (const auto& e : kErrors)
    if (e.code == code) return e.info;
  return std::nullopt;
}

std::string error_text(std::string_view code, std::string_view twilio_message) {
  if (code == "63016") return std::string(describe_error(code)->title);
  if (!twilio_message.empty()) return std::string(twilio_message);
  if (auto info = describe_error(code)) return std::string(info->title);
  if (!code.empty()) return "Twilio error " + std::string(code);
  return "Twilio reported an error";
}

}  // namespace barid::plugins::twilio
