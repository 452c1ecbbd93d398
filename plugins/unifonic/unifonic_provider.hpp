#pragma once
// One Unifonic account (AppSid) sending SMS through the REST API at
// el.cloud.unifonic.com.

#include "unifonic/unifonic_api.hpp"

#include <barid/sdk/sdk.hpp>

#include <mutex>
#include <string>
#include <vector>

namespace barid::plugins::unifonic {

struct UnifonicSettings {
  std::string app_sid;
  std::string sender_id;
  std::string base_url = "https://el.cloud.unifonic.com";
  std::string webhook_secret;
  bool status_callback = true;
};

std::vector<sdk::ConfigKey> config_keys();
bool parse_settings(const sdk::ProviderConfig& config, UnifonicSettings& out, std::string& error);
sdk::CreateResult create_provider(const sdk::ProviderConfig& config, sdk::HostContext& host);

// The header that may carry webhook_secret instead of ?token=.
inline constexpr std::string_view kWebhookTokenHeader = "X-Webhook-Token";

class UnifonicProvider final : public sdk::Provider {
 public:
  UnifonicProvider(UnifonicSettings settings, sdk::HostContext& host);

  sdk::SendResult send(const sdk::OutboundMessage& message) noexcept override;
  sdk::StatusResult fetch_status(const std::string& provider_message_id) noexcept override;
  sdk::CallbackResult parse_callback(const sdk::CallbackRequest& request) noexcept override;
  sdk::HealthReport check_health() noexcept override;

 private:
  // An answer of the REST API: transport failures and HTTP statuses that
  // decide by themselves are already classified.
  struct Answer {
    sdk::HttpResponse http;
    Envelope envelope;
  };
  Answer post(const std::string& path, const sdk::FormFields& fields);

  sdk::SendResult do_send(const sdk::OutboundMessage& message);
  sdk::SendResult send_once(const sdk::OutboundMessage& message);
  sdk::SendResult resolve_duplicate(const sdk::OutboundMessage& message, sdk::ProviderError duplicate);
  sdk::StatusResult do_fetch_status(const std::string& id);
  sdk::CallbackResult do_parse_callback(const sdk::CallbackRequest& request);
  sdk::HealthReport do_check_health();

  // Account-level trouble seen while sending (bad AppSid, no credit, bad
  // SenderID), reported by check_health until a send succeeds.
  void set_account_problem(sdk::HealthState state, std::string detail);
  void clear_account_problem();
  sdk::HealthReport account_health();

  UnifonicSettings settings_;
  sdk::HostContext& host_;
  std::mutex mutex_;
  sdk::HealthState problem_state_ = sdk::HealthState::healthy;
  std::string problem_detail_;
};

}  // namespace barid::plugins::unifonic
