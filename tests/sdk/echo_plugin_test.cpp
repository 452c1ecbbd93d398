// Drives sdk/examples/echo-provider, built out of tree against the installed
// SDK, through the gateway's own plugin host. Run by sdk_install_test.cmake
// with BARID_ECHO_PLUGIN set to the path of echo.so.
#include "test_host_context.hpp"

#include <barid/core/host_context.hpp>
#include <barid/core/plugin_host.hpp>
#include <barid/sdk/encoding.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

namespace barid {
namespace {

using ::testing::HasSubstr;
using test_host::TestHostContextFactory;

class EchoPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* path = std::getenv("BARID_ECHO_PLUGIN");
    ASSERT_NE(path, nullptr) << "set BARID_ECHO_PLUGIN to the echo.so built from sdk/examples/echo-provider";
    path_ = path;
    auto r = host_.load(path_);
    ASSERT_TRUE(r.ok()) << r.error().message;
    plugin_ = *r;
  }

  // An instance whose HTTP client answers with `handler`.
  std::shared_ptr<core::ProviderInstance> instance(test_host::ScriptedHttpClient::Handler handler,
                                                   std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> config = {{"base_url", "https://api.echo.example/v1/"},
                                                 {"api_key", "k3y"},
                                                 {"webhook_secret", "whs3cret"}};
    for (auto& [k, v] : extra) config[k] = v;
    contexts_.answer_with(std::move(handler));
    auto r = host_.instantiate("echo", "echo-main", config, contexts_);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : nullptr;
  }

  test_host::ScriptedHttpClient& http() { return contexts_.context_of("echo-main")->scripted_http(); }

  static sdk::HttpResponse answer(int status, std::string body, sdk::HttpHeaders headers = {}) {
    sdk::HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
  }

  static sdk::OutboundMessage message() {
    sdk::OutboundMessage m;
    m.id = "0190f0e4-6a1b-7c2d-8e3f-405162738495";
    m.to = "+966501234567";
    m.body = "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 & welcome";  // مرحبا & welcome
    m.segments = 1;
    m.status_callback_url = "https://gw.example.com/webhooks/echo-main/status";
    return m;
  }

  std::string path_;
  core::PluginHost host_;
  std::shared_ptr<const core::LoadedPlugin> plugin_;
  TestHostContextFactory contexts_;
};

TEST_F(EchoPlugin, PassesTheHandshakeAndDescribesItself) {
  EXPECT_EQ(plugin_->abi().major, sdk::kAbiVersion.major);
  EXPECT_LE(plugin_->abi().minor, sdk::kAbiVersion.minor);
  const auto& d = plugin_->descriptor();
  EXPECT_EQ(d.name, "echo");
  EXPECT_EQ(d.version, "1.0.0");
  EXPECT_TRUE(d.serves(sdk::Channel::sms));
  EXPECT_FALSE(d.serves(sdk::Channel::whatsapp));
  EXPECT_TRUE(d.has(sdk::Capability::status_polling));
  EXPECT_TRUE(d.has(sdk::Capability::status_webhooks));
  EXPECT_TRUE(d.has(sdk::Capability::cost_reporting));
  EXPECT_EQ(host_.find("echo"), plugin_);
}

TEST_F(EchoPlugin, SendsAMessage) {
  auto echo = instance([](const sdk::HttpRequest&) {
    return answer(202, "id=EC-1&status=sent&segments=1&price=5000&currency=SAR");
  });
  ASSERT_NE(echo, nullptr);
  auto result = echo->provider().send(message());
  ASSERT_EQ(result.outcome, sdk::Outcome::ok) << result.error.message;
  EXPECT_EQ(result.provider_message_id, "EC-1");
  EXPECT_EQ(result.status, sdk::MessageStatus::sent);
  EXPECT_EQ(result.segments, 1);
  ASSERT_TRUE(result.cost.has_value());
  EXPECT_EQ(result.cost->micros, 5000);
  EXPECT_EQ(result.cost->currency, "SAR");

  // What went over the wire, through the host's HTTP client.
  const auto requests = http().requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& r = requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://api.echo.example/v1/messages");
  EXPECT_EQ(sdk::find_header(r.headers, "authorization"), "Bearer k3y");
  EXPECT_EQ(sdk::find_header(r.headers, "content-type"), "application/x-www-form-urlencoded");
  const auto form = sdk::form_decode(r.body);
  EXPECT_EQ(sdk::form_value(form, "to"), "+966501234567");
  EXPECT_EQ(sdk::form_value(form, "from"), "Barid");  // the sender key's default
  EXPECT_EQ(sdk::form_value(form, "body"), message().body);
  EXPECT_EQ(sdk::form_value(form, "reference"), message().id);
  EXPECT_EQ(sdk::form_value(form, "status_callback"), message().status_callback_url);
}

TEST_F(EchoPlugin, MapsTransientFailuresToRetry) {
  auto echo = instance([](const sdk::HttpRequest&) { return answer(503, "error=maintenance", {{"Retry-After", "7"}}); });
  ASSERT_NE(echo, nullptr);
  auto result = echo->provider().send(message());
  EXPECT_EQ(result.outcome, sdk::Outcome::retry);
  EXPECT_EQ(result.retry_after, std::chrono::milliseconds(7000));
  EXPECT_EQ(result.error.code, "HTTP-503");
  EXPECT_EQ(result.error.message, "maintenance");
  EXPECT_TRUE(contexts_.journal()->contains("failed transiently"));
}

TEST_F(EchoPlugin, MapsATimeoutToRetry) {
  auto echo = instance([](const sdk::HttpRequest&) {
    sdk::HttpResponse r;
    r.error = sdk::TransportError::timeout;
    r.error_message = "timed out after 10000 ms";
    return r;
  });
  ASSERT_NE(echo, nullptr);
  auto result = echo->provider().send(message());
  EXPECT_EQ(result.outcome, sdk::Outcome::retry);
  EXPECT_FALSE(result.retry_after.has_value());
  EXPECT_EQ(result.error.message, "timed out after 10000 ms");
}

TEST_F(EchoPlugin, MapsRejectionsToPermanent) {
  int status = 400;
  auto echo = instance([&](const sdk::HttpRequest&) { return answer(status, "error=invalid+number"); });
  ASSERT_NE(echo, nullptr);
  auto invalid = echo->provider().send(message());
  EXPECT_EQ(invalid.outcome, sdk::Outcome::permanent);
  EXPECT_EQ(invalid.error.message, "invalid number");
  EXPECT_FALSE(invalid.recipient_opted_out);

  status = 410;
  auto unsubscribed = echo->provider().send(message());
  EXPECT_EQ(unsubscribed.outcome, sdk::Outcome::permanent);
  EXPECT_TRUE(unsubscribed.recipient_opted_out);

  status = 401;
  auto auth = echo->provider().send(message());
  EXPECT_EQ(auth.outcome, sdk::Outcome::permanent);
  EXPECT_EQ(auth.error.code, "ECHO-AUTH");
}

TEST_F(EchoPlugin, FetchesStatus) {
  auto echo = instance([](const sdk::HttpRequest& r) {
    return r.url == "https://api.echo.example/v1/messages/EC-1" ? answer(200, "status=delivered")
                                                                 : answer(404, "error=unknown");
  });
  ASSERT_NE(echo, nullptr);
  auto status = echo->provider().fetch_status("EC-1");
  EXPECT_EQ(status.outcome, sdk::Outcome::ok);
  EXPECT_EQ(status.status, sdk::MessageStatus::delivered);
  EXPECT_EQ(echo->provider().fetch_status("EC-2").outcome, sdk::Outcome::permanent);
}

TEST_F(EchoPlugin, VerifiesSignedDeliveryReports) {
  auto echo = instance(nullptr);
  ASSERT_NE(echo, nullptr);
  core::OpenSslCrypto crypto;
  sdk::CallbackRequest request;
  request.kind = "status";
  request.method = "POST";
  request.body = "id=EC-1&status=delivered&reference=0190f0e4-6a1b-7c2d-8e3f-405162738495";
  request.headers = {{"X-Echo-Signature", sdk::hex_encode(crypto.hmac_sha256("whs3cret", request.body))}};
  auto accepted = echo->provider().parse_callback(request);
  ASSERT_EQ(accepted.verdict, sdk::CallbackResult::Verdict::accepted) << accepted.reason;
  ASSERT_EQ(accepted.status_updates.size(), 1u);
  EXPECT_EQ(accepted.status_updates[0].provider_message_id, "EC-1");
  EXPECT_EQ(accepted.status_updates[0].message_id, "0190f0e4-6a1b-7c2d-8e3f-405162738495");
  EXPECT_EQ(accepted.status_updates[0].status, sdk::MessageStatus::delivered);

  request.body = "id=EC-1&status=failed&reference=0190f0e4-6a1b-7c2d-8e3f-405162738495";  // tampered
  EXPECT_EQ(echo->provider().parse_callback(request).verdict, sdk::CallbackResult::Verdict::forbidden);
}

TEST_F(EchoPlugin, ReportsHealth) {
  auto echo = instance([](const sdk::HttpRequest&) { return answer(401, ""); });
  ASSERT_NE(echo, nullptr);
  auto health = echo->provider().check_health();
  EXPECT_EQ(health.state, sdk::HealthState::unhealthy);
  EXPECT_THAT(health.detail, HasSubstr("API key"));
}

TEST_F(EchoPlugin, ConfigurationIsValidatedByTheHostAndThePlugin) {
  auto missing = host_.instantiate("echo", "echo-main", {{"base_url", "https://x"}}, contexts_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().field, "providers.echo-main.config.api_key");
  auto bad = host_.instantiate("echo", "echo-main", {{"base_url", "ftp://x"}, {"api_key", "k"}}, contexts_);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("config key 'base_url' must start with https://"));
}

TEST_F(EchoPlugin, OutlivesTheHost) {
  std::shared_ptr<core::ProviderInstance> echo;
  {
    core::PluginHost other;
    ASSERT_TRUE(other.load(path_).ok());
    contexts_.answer_with([](const sdk::HttpRequest&) { return answer(200, "id=EC-9&status=delivered"); });
    auto r = other.instantiate("echo", "echo-main", {{"base_url", "https://x"}, {"api_key", "k"}}, contexts_);
    ASSERT_TRUE(r.ok()) << r.error().message;
    echo = *r;
  }
  auto result = echo->provider().send(message());
  EXPECT_EQ(result.outcome, sdk::Outcome::ok);
  EXPECT_EQ(result.status, sdk::MessageStatus::delivered);
}

}  // namespace
}  // namespace barid
