// Entry points of the unifonic-sms plugin.
#include "unifonic/unifonic_provider.hpp"

#include <barid/sdk/plugin_entry.hpp>

namespace barid::plugins::unifonic {

const sdk::PluginDescriptor& descriptor() {
  static const sdk::PluginDescriptor d = [] {
    sdk::PluginDescriptor x;
    x.name = "unifonic-sms";
    x.version = "1.0.0";
    x.description = "SMS through Unifonic's REST API (el.cloud.unifonic.com)";
    x.channels = {sdk::Channel::sms};
    x.capabilities = sdk::Capability::status_polling | sdk::Capability::status_webhooks |
                     sdk::Capability::cost_reporting;
    x.config_keys = config_keys();
    return x;
  }();
  return d;
}

sdk::CreateResult create(const sdk::ProviderConfig& config, sdk::HostContext& host) {
  return create_provider(config, host);
}

}  // namespace barid::plugins::unifonic

BARID_PROVIDER_PLUGIN(barid::plugins::unifonic::descriptor, barid::plugins::unifonic::create)
