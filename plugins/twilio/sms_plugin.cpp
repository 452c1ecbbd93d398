// Entry points of the twilio-sms plugin.
#include "twilio/twilio_provider.hpp"

#include <barid/sdk/plugin_entry.hpp>

namespace barid::plugins::twilio {

const sdk::PluginDescriptor& sms_descriptor() {
  static const sdk::PluginDescriptor d = [] {
    sdk::PluginDescriptor x;
    x.name = "twilio-sms";
    x.version = "1.0.0";
    x.description = "SMS through Twilio Programmable Messaging (REST API 2010-04-01)";
    x.channels = {sdk::Channel::sms};
    x.capabilities = sdk::Capability::status_polling | sdk::Capability::status_webhooks |
                     sdk::Capability::inbound_messages | sdk::Capability::cost_reporting;
    x.config_keys = config_keys(sdk::Channel::sms);
    return x;
  }();
  return d;
}

sdk::CreateResult create_sms(const sdk::ProviderConfig& config, sdk::HostContext& host) {
  return create_provider(config, host, sdk::Channel::sms);
}

}  // namespace barid::plugins::twilio

BARID_PROVIDER_PLUGIN(barid::plugins::twilio::sms_descriptor, barid::plugins::twilio::create_sms)
