// One source for the plugins the plugin-host tests load: a good one, and
// variants broken in one way each, chosen with compile definitions (see
// ../CMakeLists.txt). Each variant is a real MODULE library loaded through
// the real loader.
//
//   TEST_PLUGIN_NAME="..."        the descriptor's name (default "testgood")
//   TEST_ABI_MAJOR / _MINOR       export a hand-made ABI version instead of the SDK's
//   TEST_OMIT_CREATE              export no barid_plugin_create
//   TEST_NO_CHANNELS              declare no channel
//   TEST_DUPLICATE_KEY            declare one config key twice
//   TEST_DESCRIPTOR_THROWS        the descriptor function throws
//   TEST_FACTORY_THROWS           the factory throws
//   TEST_FACTORY_FAILS            the factory returns an error
//   TEST_FACTORY_RETURNS_NOTHING  the factory returns neither a provider nor an error
#include <barid/sdk/plugin_entry.hpp>
#include <barid/sdk/sdk.hpp>

#include <atomic>
#include <stdexcept>
#include <string>

#ifndef TEST_PLUGIN_NAME
#define TEST_PLUGIN_NAME "testgood"
#endif

namespace barid::test_plugin {
namespace {

#ifdef TEST_ABI_MAJOR
// A wrong ABI means the rest of the plugin cannot be trusted: the host must
// refuse it before it reads anything else. If it did read on, these throw
// and the host's error would be about the descriptor, not the ABI.
#define TEST_WRONG_ABI 1
#endif

// Not std::to_string: its digit table is an STB_GNU_UNIQUE symbol, and a
// library with one can never be unloaded, which the lifetime tests check.
std::string decimal(int n) {
  std::string out;
  do {
    out.insert(out.begin(), static_cast<char>('0' + n % 10));
    n /= 10;
  } while (n > 0);
  return out;
}

class TestProvider final : public sdk::Provider {
 public:
  TestProvider(const sdk::ProviderConfig& config, sdk::HostContext& host)
      : instance_(config.instance_name),
        endpoint_(config.get("endpoint")),
        token_(config.get("token")),
        greeting_(config.get("greeting")),
        host_(host) {
    host_.logger().info("created");
  }
  ~TestProvider() override {
    // Uses its HostContext while being destroyed: the host must destroy the
    // provider before the context.
    host_.logger().info("provider " + instance_ + " destroyed");
  }

  sdk::SendResult send(const sdk::OutboundMessage& m) noexcept override {
    return sdk::guard(
        [&] {
          if (m.body == "log-token") host_.logger().warn("using token " + token_);
          if (m.body == "throw") throw std::runtime_error("asked to throw");
          if (m.body == "retry") return sdk::SendResult::transient({"BUSY", "try later"}, std::chrono::seconds(3));
          if (m.body == "reject") return sdk::SendResult::rejected({"STOP", "unsubscribed"}, true);
          auto r = sdk::SendResult::accepted(greeting_ + "/" + instance_ + "/" + m.to + "/" +
                                            decimal(++sent_));
          r.segments = m.segments;
          return r;
        },
        [](std::string why) { return sdk::SendResult::transient({"INTERNAL", why}); });
  }

  sdk::StatusResult fetch_status(const std::string& id) noexcept override {
    sdk::StatusResult r;
    r.outcome = id.empty() ? sdk::Outcome::permanent : sdk::Outcome::ok;
    r.status = sdk::MessageStatus::delivered;
    return r;
  }

  sdk::CallbackResult parse_callback(const sdk::CallbackRequest& request) noexcept override {
    if (request.header("X-Token") != token_) return sdk::CallbackResult::forbidden("bad token");
    auto r = sdk::CallbackResult::accept();
    sdk::StatusUpdate u;
    u.provider_message_id = request.body;
    u.status = sdk::MessageStatus::delivered;
    r.status_updates.push_back(u);
    return r;
  }

  sdk::HealthReport check_health() noexcept override {
    return {sdk::HealthState::healthy, "endpoint " + endpoint_};
  }

 private:
  std::string instance_, endpoint_, token_, greeting_;
  sdk::HostContext& host_;
  std::atomic<int> sent_{0};
};

const sdk::PluginDescriptor& descriptor() {
#ifdef TEST_WRONG_ABI
  throw std::logic_error("the descriptor was read before the ABI handshake");
#endif
#ifdef TEST_DESCRIPTOR_THROWS
  throw std::runtime_error("descriptor exploded");
#endif
  static const sdk::PluginDescriptor d = [] {
    sdk::PluginDescriptor x;
    x.name = TEST_PLUGIN_NAME;
    x.version = "0.0.7";
    x.description = "a plugin for the plugin-host tests";
#ifndef TEST_NO_CHANNELS
    x.channels = {sdk::Channel::sms, sdk::Channel::whatsapp};
#endif
    x.capabilities = sdk::Capability::status_polling | sdk::Capability::status_webhooks;
    x.config_keys = {
        {"endpoint", true, false, "", "the provider's base URL"},
        {"token", true, true, "", "the API token"},
        {"greeting", false, false, "hello", "prefix of provider message ids"},
        {"region", false, false, "", "an optional key without a default"},
#ifdef TEST_DUPLICATE_KEY
        {"token", false, false, "", "the same key again"},
#endif
    };
    return x;
  }();
  return d;
}

[[maybe_unused]] sdk::CreateResult create(const sdk::ProviderConfig& config, sdk::HostContext& host) {
#ifdef TEST_WRONG_ABI
  throw std::logic_error("the factory was called despite a wrong ABI");
#endif
#ifdef TEST_FACTORY_THROWS
  throw std::runtime_error("factory exploded for " + config.instance_name);
#endif
#ifdef TEST_FACTORY_FAILS
  return sdk::CreateResult::fail("config key 'endpoint' must start with https:// (got '" + config.get("endpoint") +
                                 "')");
#endif
#ifdef TEST_FACTORY_RETURNS_NOTHING
  return sdk::CreateResult{};
#endif
  return sdk::CreateResult::ok(std::make_unique<TestProvider>(config, host));
}

#ifdef TEST_WRONG_ABI
sdk::AbiVersion wrong_abi() { return sdk::AbiVersion{TEST_ABI_MAJOR, TEST_ABI_MINOR}; }
#endif

}  // namespace
}  // namespace barid::test_plugin

#if defined(TEST_WRONG_ABI)
BOOST_DLL_ALIAS(barid::test_plugin::wrong_abi, barid_plugin_abi)
BOOST_DLL_ALIAS(barid::test_plugin::descriptor, barid_plugin_descriptor)
BOOST_DLL_ALIAS(barid::test_plugin::create, barid_plugin_create)
#elif defined(TEST_OMIT_CREATE)
BOOST_DLL_ALIAS(barid::sdk::entry::compiled_abi_version, barid_plugin_abi)
BOOST_DLL_ALIAS(barid::test_plugin::descriptor, barid_plugin_descriptor)
#else
BARID_PROVIDER_PLUGIN(barid::test_plugin::descriptor, barid::test_plugin::create)
#endif
