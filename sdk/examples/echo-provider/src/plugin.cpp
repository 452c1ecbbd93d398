// The plugin's entry points: its descriptor and its factory, exported with
// the SDK's one entry macro. Include <barid/sdk/plugin_entry.hpp> in exactly
// one source file.
#include "echo_provider.hpp"

#include <barid/sdk/plugin_entry.hpp>

namespace echo {

const barid::sdk::PluginDescriptor& descriptor() {
  using barid::sdk::Capability;
  static const barid::sdk::PluginDescriptor d = [] {
    barid::sdk::PluginDescriptor x;
    x.name = "echo";  // unique among the gateway's plugins: [a-z0-9_-]+
    x.version = "1.0.0";
    x.description = "Echo SMS API (an example plugin built against the installed Barid SDK)";
    x.channels = {barid::sdk::Channel::sms};
    x.capabilities = Capability::status_polling | Capability::status_webhooks | Capability::inbound_messages |
                     Capability::cost_reporting;
    // name, required, secret, default, description
    x.config_keys = {
        {"base_url", true, false, "", "the API's base URL, e.g. https://api.echo.example/v1"},
        {"api_key", true, true, "", "the account's API key (sent as a bearer token)"},
        {"sender", false, false, "Barid", "the sender id used when a message names none"},
        {"webhook_secret", false, true, "", "the secret that signs delivery reports and inbound messages"},
        {"timeout_ms", false, false, "10000", "total time allowed for one API request"},
    };
    return x;
  }();
  return d;
}

// Called once per provider instance. The host has already rejected unknown
// keys and filled in defaults; check the values themselves here and return an
// error that names the key. Exceptions are caught by the host, but a plain
// error is kinder.
barid::sdk::CreateResult create(const barid::sdk::ProviderConfig& config, barid::sdk::HostContext& host) {
  EchoSettings settings;
  std::string error;
  if (!parse_settings(config, settings, error)) return barid::sdk::CreateResult::fail(error);
  return barid::sdk::CreateResult::ok(std::make_unique<EchoProvider>(std::move(settings), host));
}

}  // namespace echo

BARID_PROVIDER_PLUGIN(echo::descriptor, echo::create)
