// Entry points of the twilio-whatsapp plugin.
#include "twilio/twilio_provider.hpp"

#include <barid/sdk/plugin_entry.hpp>

namespace barid::plugins::twilio {

const sdk::PluginDescriptor& whatsapp_descriptor() {
  static const sdk::PluginDescriptor d = [] {
    sdk::PluginDescriptor x;
    x.name = "twilio-whatsapp";
    x.version = "1.0.0";
    x.description = "WhatsApp through Twilio Programmable Messaging, with Content API templates";
    x.channels = {sdk::Channel::whatsapp};
    x.capabilities = sdk::Capability::status_polling | sdk::Capability::status_webhooks |
                     sdk::Capability::inbound_messages | sdk::Capability::provider_templates |
                     sdk::Capability::cost_reporting;
    x.config_keys = config_keys(sdk::Channel::whatsapp);
    return x;
  }();
  return d;
}

sdk::CreateResult create_whatsapp(const sdk::ProviderConfig& config, sdk::HostContext& host) {
  return create_provider(config, host, sdk::Channel::whatsapp);
}

}  // namespace barid::plugins::twilio

BARID_PROVIDER_PLUGIN(barid::plugins::twilio::whatsapp_descriptor, barid::plugins::twilio::create_whatsapp)
