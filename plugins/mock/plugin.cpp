// Entry points of the mock plugin.
#include "mock_provider.hpp"

#include <barid/sdk/plugin_entry.hpp>

namespace barid::plugins::mock {

const sdk::PluginDescriptor& descriptor() {
  static const sdk::PluginDescriptor d = [] {
    sdk::PluginDescriptor x;
    x.name = "mock";
    x.version = "1.0.0";
    x.description = "A provider that never leaves the machine, for development, demos and tests";
    x.channels = {sdk::Channel::sms, sdk::Channel::whatsapp};
    x.capabilities = sdk::Capability::status_polling | sdk::Capability::status_webhooks |
                     sdk::Capability::inbound_messages | sdk::Capability::cost_reporting;
    x.config_keys = {
        {"channel", false, false, "sms", "the channel this instance serves: sms or whatsapp"},
        {"from", false, false, "", "the sender of a send that names none (empty: none)"},
        {"latency_ms", false, false, "0", "how long each send takes"},
        {"fail_numbers", false, false, "", "comma-separated E.164 numbers that fail permanently"},
        {"optout_numbers", false, false, "",
         "comma-separated E.164 numbers that fail as unsubscribed (the gateway records an opt-out)"},
        {"transient_failures", false, false, "0",
         "how many times each message fails transiently before it is accepted"},
        {"retry_after_ms", false, false, "0", "retry-after hint given with a transient failure"},
        {"delivered_after_ms", false, false, "0", "time after acceptance when a message is delivered"},
        {"read_after_ms", false, false, "", "time after acceptance when a message is read (empty: never)"},
        {"report_mode", false, false, "webhook",
         "how delivery is reported: webhook (posted to the gateway) or poll (fetch_status only)"},
        {"webhook_secret", false, true, "",
         "when set, delivery-report and inbound webhooks are signed with HMAC-SHA256 (X-Mock-Signature)"},
        {"cost_micros_per_segment", false, false, "0", "price of one segment in millionths"},
        {"currency", false, false, "USD", "currency of the price"},
        {"health", false, false, "healthy", "what check_health reports: healthy, degraded, unhealthy"},
        {"status_query_error", false, false, "",
         "when set, fetch_status of a message the mock knows fails transiently with this error code "
         "(e.g. HTTP-503)"},
        {"send_log", false, false, "",
         "a file to which each send call appends '<unix time in µs> <message id> <validity in s, or ->' "
         "(to watch pace and order; no numbers or bodies)"},
    };
    return x;
  }();
  return d;
}

sdk::CreateResult create(const sdk::ProviderConfig& config, sdk::HostContext& host) {
  MockSettings settings;
  std::string error;
  if (!parse_settings(config, settings, error)) return sdk::CreateResult::fail(error);
  const bool unsigned_webhooks = settings.webhook_secret.empty();
  std::string sender = settings.from;
  auto created = sdk::CreateResult::ok(std::make_unique<MockProvider>(std::move(settings), host));
  created.default_sender = std::move(sender);
  if (unsigned_webhooks)
    created.unauthenticated_callbacks =
        "no webhook_secret is set, so its status and inbound webhooks take any request (set webhook_secret)";
  return created;
}

}  // namespace barid::plugins::mock

BARID_PROVIDER_PLUGIN(barid::plugins::mock::descriptor, barid::plugins::mock::create)
