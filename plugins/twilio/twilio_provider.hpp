#pragma once
// One Twilio account used for one channel: the provider behind both the
// twilio-sms and the twilio-whatsapp plugins. The channel decides the
// addressing (whatsapp: prefix), the descriptor and the template support.

#include "twilio/twilio_client.hpp"

#include <barid/sdk/sdk.hpp>

#include <atomic>
#include <optional>
#include <string>
#include <vector>

namespace barid::plugins::twilio {

struct TwilioSettings {
  sdk::Channel channel = sdk::Channel::sms;
  std::string account_sid;
  std::string auth_token;
  std::string api_key_sid;
  std::string api_key_secret;
  std::string from;  // with the whatsapp: prefix for WhatsApp
  std::string messaging_service_sid;
  std::string base_url = "https://api.twilio.com";
  bool status_callback = true;
  bool validate_signatures = true;
};

// The configuration keys both Twilio plugins declare.
std::vector<sdk::ConfigKey> config_keys(sdk::Channel channel);

// Reads and checks an instance's configuration; the error names the key.
bool parse_settings(const sdk::ProviderConfig& config, sdk::Channel channel, TwilioSettings& out,
                    std::string& error);

// The factory both plugins export, for their channel.
sdk::CreateResult create_provider(const sdk::ProviderConfig& config, sdk::HostContext& host,
                                  sdk::Channel channel);

class TwilioProvider final : public sdk::Provider {
 public:
  TwilioProvider(TwilioSettings settings, sdk::HostContext& host);

  sdk::SendResult send(const sdk::OutboundMessage& message) noexcept override;
  sdk::StatusResult fetch_status(const std::string& provider_message_id) noexcept override;
  sdk::CallbackResult parse_callback(const sdk::CallbackRequest& request) noexcept override;
  sdk::HealthReport check_health() noexcept override;

  // The form fields of the create-message request for `message` (exposed
  // for tests); sets `error` and returns false when the message cannot be
  // sent as it is.
  bool build_create_fields(const sdk::OutboundMessage& message, sdk::FormFields& fields,
                           sdk::ProviderError& error) const;

 private:
  sdk::SendResult do_send(const sdk::OutboundMessage& message);
  sdk::StatusResult do_fetch_status(const std::string& sid);
  sdk::CallbackResult do_parse_callback(const sdk::CallbackRequest& request);
  sdk::CallbackResult parse_status(const sdk::FormFields& params, const sdk::CallbackRequest& request);
  sdk::CallbackResult parse_inbound(const sdk::FormFields& params);
  sdk::HealthReport do_check_health();
  std::string address(const std::string& number) const;  // adds whatsapp: for WhatsApp
  std::string strip_channel_prefix(std::string address) const;
  // Keeps track of whether Twilio accepts the credentials; a report when an
  // answer changed that (for SendResult::health).
  std::optional<sdk::HealthReport> note(const TwilioReply& reply, std::string_view what);
  sdk::SendResult send_outcome(const sdk::OutboundMessage& message, const TwilioReply& reply);

  TwilioSettings settings_;
  sdk::HostContext& host_;
  TwilioClient client_;
  std::atomic<bool> credentials_rejected_{false};
  mutable std::atomic<bool> warned_no_callback_url_{false};
};

}  // namespace barid::plugins::twilio
