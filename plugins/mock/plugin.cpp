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
        {"from", false, false, "",
         "the sender a send that names none goes out from (plays a real provider's configured number or "
         "sender ID); empty: such a send has no sender"},
        {"latency_ms", false, false, "0", "milliseconds each send call takes before it answers (a whole number)"},
        {"fail_numbers", false, false, "",
         "comma-separated E.164 numbers whose sends fail permanently (error code MOCK-INVALID-NUMBER)"},
        {"optout_numbers", false, false, "",
         "comma-separated E.164 numbers whose sends fail permanently as unsubscribed (MOCK-OPTED-OUT): the gateway "
         "records an opt-out for the recipient"},
        {"transient_failures", false, false, "0",
         "how many times each message's send fails transiently (retry) before it is accepted: 2 means the "
         "third attempt succeeds"},
        {"retry_after_ms", false, false, "0",
         "the Retry-After hint, in milliseconds, given with each transient failure (0: none)"},
        {"delivered_after_ms", false, false, "0",
         "milliseconds after acceptance when the message is reported delivered"},
        {"read_after_ms", false, false, "",
         "milliseconds after acceptance when the message is reported read; empty: never read"},
        {"report_mode", false, false, "webhook",
         "how delivery is reported: webhook (the mock posts reports to the gateway's "
         "/webhooks/<instance>/status) or poll (only through status polling)"},
        {"webhook_secret", false, true, "",
         "when set, the status and inbound webhooks must carry X-Mock-Signature, the hex HMAC-SHA256 of the body "
         "keyed with it (403 otherwise); without it the instance needs allow_unauthenticated_callbacks: true"},
        {"cost_micros_per_segment", false, false, "0",
         "the cost each accepted send reports, per segment, in millionths of currency (7500 = 0.0075); 0: "
         "no cost"},
        {"currency", false, false, "USD", "the ISO 4217 currency of cost_micros_per_segment"},
        {"health", false, false, "healthy", "what the instance's health check reports: healthy, degraded or unhealthy"},
        {"status_query_error", false, false, "",
         "an error code (such as HTTP-503) with which each status query of a message the mock knows fails "
         "transiently; empty: status queries answer"},
        {"send_log", false, false, "",
         "a file to which each send call appends '<unix time in µs> <message id> <validity in s, or ->' "
         "(to watch pace and order; no numbers or bodies); empty: none"},
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
