#pragma once
// A client for the parts of Twilio's REST API 2010-04-01 that the gateway
// uses: create and fetch a Message, fetch the Account (health). It speaks
// through the host's HTTP client and classifies every answer into the SDK's
// three outcomes; it never logs credentials or message bodies.

#include <barid/sdk/sdk.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>

namespace barid::plugins::twilio {

struct TwilioCredentials {
  std::string account_sid;  // AC..., the path's {AccountSid}
  std::string username;     // the account SID, or an API key SID (SK...)
  std::string password;     // the auth token, or the API key secret
};

// One REST answer, classified.
struct TwilioReply {
  sdk::Outcome outcome = sdk::Outcome::permanent;
  int http_status = 0;
  nlohmann::json body;  // the parsed JSON object on success, else null
  sdk::ProviderError error;
  std::optional<std::chrono::milliseconds> retry_after;
  bool credentials_rejected = false;  // HTTP 401 / code 20003
  bool recipient_opted_out = false;   // 21610, 63014
};

class TwilioClient {
 public:
  TwilioClient(std::string base_url, TwilioCredentials credentials, sdk::HostContext& host);

  // POST /2010-04-01/Accounts/{AccountSid}/Messages.json (form-encoded).
  TwilioReply create_message(const sdk::FormFields& fields);
  // GET /2010-04-01/Accounts/{AccountSid}/Messages/{sid}.json
  TwilioReply fetch_message(const std::string& sid);
  // GET /2010-04-01/Accounts/{AccountSid}.json
  TwilioReply fetch_account();

  const std::string& account_sid() const noexcept { return credentials_.account_sid; }

 private:
  TwilioReply perform(sdk::HttpRequest request);
  std::string account_url() const;

  std::string base_url_;
  TwilioCredentials credentials_;
  sdk::HostContext& host_;
};

// A Message resource as the gateway needs it.
struct TwilioMessage {
  std::string sid;
  std::string status;  // Twilio's own word (queued, sent, delivered, ...)
  int segments = 0;    // num_segments; 0 when unknown
  std::optional<sdk::Money> cost;
  std::string error_code;  // "" when none
  std::string error_message;
};

TwilioMessage parse_message(const nlohmann::json& body);

// Twilio's status word as the gateway's status: queued, accepted, scheduled,
// sending and sent are "sent"; delivered, read, undelivered and failed map to
// themselves; canceled is failed. nullopt for words that do not describe an
// outbound message (receiving, received) and unknown words.
std::optional<sdk::MessageStatus> map_status(std::string_view twilio_status);

// A Twilio price ("-0.00750", negative for a charge) and unit as a positive
// charge; nullopt when the price is null or unreadable.
std::optional<sdk::Money> parse_price(const nlohmann::json& price, const nlohmann::json& unit);

}  // namespace barid::plugins::twilio
