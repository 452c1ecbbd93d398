#pragma once
// The Echo provider: a small HTTP SMS API, the shape most SMS providers
// have. Everything the plugin does goes through the HostContext the gateway
// lends it (HTTP client, logger, crypto); it links nothing but the SDK.
//
//   POST {base_url}/messages        form: to, from, body, reference[, status_callback]
//        -> 2xx  form: id, status[, segments, price, currency]
//        -> 429 / 5xx (Retry-After: seconds)  transient
//        -> 401 / 403  bad credentials; 410  recipient unsubscribed; other 4xx  rejected
//   GET  {base_url}/messages/{id}   -> 200 form: status[, error]
//   GET  {base_url}/health          -> 200 when the account works
//   Authorization: Bearer {api_key} on every request.
//
// Delivery reports and inbound messages are form posts to the gateway's
// webhooks, signed with X-Echo-Signature = hex(HMAC-SHA256(webhook_secret, body)).

#include <barid/sdk/sdk.hpp>

#include <chrono>
#include <string>

namespace echo {

struct EchoSettings {
  std::string base_url;  // without a trailing '/'
  std::string api_key;
  std::string sender;
  std::string webhook_secret;  // empty: webhooks are not accepted
  std::chrono::milliseconds timeout{10000};
};

// Reads and checks the validated configuration; on failure `error` names
// the key.
bool parse_settings(const barid::sdk::ProviderConfig& config, EchoSettings& out, std::string& error);

class EchoProvider final : public barid::sdk::Provider {
 public:
  EchoProvider(EchoSettings settings, barid::sdk::HostContext& host);

  barid::sdk::SendResult send(const barid::sdk::OutboundMessage& message) noexcept override;
  barid::sdk::StatusResult fetch_status(const std::string& provider_message_id) noexcept override;
  barid::sdk::CallbackResult parse_callback(const barid::sdk::CallbackRequest& request) noexcept override;
  barid::sdk::HealthReport check_health() noexcept override;

 private:
  barid::sdk::SendResult do_send(const barid::sdk::OutboundMessage& message);
  barid::sdk::StatusResult do_fetch_status(const std::string& provider_message_id);
  barid::sdk::CallbackResult do_parse_callback(const barid::sdk::CallbackRequest& request);
  barid::sdk::HttpRequest request(std::string method, const std::string& path) const;

  EchoSettings settings_;
  barid::sdk::HostContext& host_;
};

}  // namespace echo
