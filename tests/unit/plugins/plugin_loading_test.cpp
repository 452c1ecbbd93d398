// The built plugin files load through the gateway's plugin host: version
// handshake, descriptors, config validation against the declared keys, and
// the factory's errors.
#include "test_host.hpp"

#include <barid/core/plugin_host.hpp>

#include <gtest/gtest.h>

namespace barid::plugins {
namespace {

class TestContexts final : public core::HostContextFactory {
 public:
  std::unique_ptr<sdk::HostContext> make(const std::string&, const sdk::PluginDescriptor&,
                                         const sdk::ProviderConfig&) override {
    return std::make_unique<testing::TestHost>();
  }
};

const std::string kAccount = "AC" + std::string(32, '0');

class PluginLoading : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"twilio-sms.so", "twilio-whatsapp.so", "unifonic-sms.so"}) {
      auto loaded = host.load(std::filesystem::path(BARID_TEST_PLUGIN_DIR) / name);
      ASSERT_TRUE(loaded) << loaded.error().message;
    }
  }
  core::PluginHost host;
  TestContexts contexts;
};

TEST_F(PluginLoading, Descriptors) {
  auto sms = host.find("twilio-sms");
  auto wa = host.find("twilio-whatsapp");
  auto uf = host.find("unifonic-sms");
  ASSERT_TRUE(sms && wa && uf);
  EXPECT_TRUE(sms->descriptor().serves(sdk::Channel::sms));
  EXPECT_FALSE(sms->descriptor().serves(sdk::Channel::whatsapp));
  EXPECT_TRUE(wa->descriptor().serves(sdk::Channel::whatsapp));
  EXPECT_TRUE(uf->descriptor().serves(sdk::Channel::sms));
  for (auto c : {sdk::Capability::status_polling, sdk::Capability::status_webhooks,
                 sdk::Capability::inbound_messages, sdk::Capability::cost_reporting}) {
    EXPECT_TRUE(sms->descriptor().has(c));
    EXPECT_TRUE(wa->descriptor().has(c));
  }
  EXPECT_FALSE(sms->descriptor().has(sdk::Capability::provider_templates));
  EXPECT_TRUE(wa->descriptor().has(sdk::Capability::provider_templates));
  EXPECT_FALSE(uf->descriptor().has(sdk::Capability::inbound_messages));
  EXPECT_FALSE(uf->descriptor().has(sdk::Capability::provider_templates));
  EXPECT_EQ(sms->abi().major, sdk::kAbiVersion.major);
}

TEST_F(PluginLoading, InstancesAreCreatedAndConfigIsChecked) {
  auto ok = host.instantiate("twilio-sms", "tw", {{"account_sid", kAccount}, {"auth_token", "t"}, {"from", "+15550001111"}},
                             contexts);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok.value()->config().get("base_url"), "https://api.twilio.com");

  auto unknown = host.instantiate("twilio-sms", "tw",
                                  {{"account_sid", kAccount}, {"auth_token", "t"}, {"from", "+1"}, {"colour", "red"}},
                                  contexts);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("colour"), std::string::npos);

  auto missing = host.instantiate("twilio-whatsapp", "wa", {{"account_sid", kAccount}, {"auth_token", "t"}}, contexts);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("'from'"), std::string::npos) << missing.error().message;

  auto uf = host.instantiate("unifonic-sms", "uf", {{"app_sid", "x"}}, contexts);
  ASSERT_TRUE(uf) << uf.error().message;
  auto uf_missing = host.instantiate("unifonic-sms", "uf", {}, contexts);
  ASSERT_FALSE(uf_missing);
  EXPECT_NE(uf_missing.error().message.find("app_sid"), std::string::npos);
}

}  // namespace
}  // namespace barid::plugins
