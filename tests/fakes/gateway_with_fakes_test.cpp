// End to end with the provider plugins: the real barid-gateway binary loads
// twilio-sms, twilio-whatsapp and unifonic-sms from the build's plugin
// folder, a real MariaDB stores the messages, and the fake provider servers
// stand in for Twilio and Unifonic: they accept the sends and post delivery
// reports back to the gateway's webhooks, Twilio's signed over the URL the
// gateway rebuilds for the plugin. Needs the MariaDB that scripts/test
// starts (BARID_DB_*), like the other e2e tests.
#include "fake_process.hpp"
#include "gateway_harness.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace barid::fakes {
namespace {

using namespace std::chrono;
using nlohmann::json;
using barid::testing::eventually;
using barid::testing::GatewayUnderTest;
using barid::testing::TestDatabase;

const std::string kAccount = "AC" + std::string(32, '7');
const std::string kToken = "e2e-twilio-token";
const std::string kAppSid = "e2e-unifonic-app-sid";
const std::string kHookSecret = "e2e-unifonic-hook-secret";
const std::string kContent = "HX" + std::string(32, '8');

class GatewayWithFakes : public ::testing::Test {
 protected:
  GatewayWithFakes()
      : twilio(BARID_FAKE_TWILIO, {"--account-sid", kAccount, "--auth-token", kToken}),
        unifonic(BARID_FAKE_UNIFONIC, {"--app-sid", kAppSid}) {}

  void start(const std::string& sms_route) {
    const std::string sections = R"yaml(
providers:
  tw-sms:
    plugin: twilio-sms
    config: {account_sid: ")yaml" + kAccount + R"yaml(", auth_token: ")yaml" + kToken +
                                 R"yaml(", from: "+15017122661", base_url: ")yaml" + twilio.base() + R"yaml("}
  tw-wa:
    plugin: twilio-whatsapp
    config: {account_sid: ")yaml" + kAccount + R"yaml(", auth_token: ")yaml" + kToken +
                                 R"yaml(", from: "+14155238886", base_url: ")yaml" + twilio.base() + R"yaml("}
  uf:
    plugin: unifonic-sms
    config: {app_sid: ")yaml" + kAppSid + R"yaml(", sender_id: "Clinic", webhook_secret: ")yaml" + kHookSecret +
                                 R"yaml(", base_url: ")yaml" + unifonic.base() + R"yaml("}
routing:
  sms: {provider: )yaml" + sms_route + R"yaml(}
  whatsapp: {provider: tw-wa}
retry: {max_attempts: 3, initial_backoff: 100ms, max_backoff: 2s, jitter: 0}
dispatch: {poll_interval: 100ms, lease: 30s}
messaging: {default_region: SA}
)yaml";
    gw = std::make_unique<GatewayUnderTest>(db, sections);
    gw->start();
    key = gw->create_api_key("clinic");
    ASSERT_FALSE(key.empty());
  }

  std::string send(const json& body) {
    long status = 0;
    auto r = gw->json("POST", "/v1/messages", body, key, &status);
    EXPECT_EQ(status, 202) << r.dump();
    return r.is_object() ? r.value("id", "") : "";
  }

  json control(const FakeProcess& fake, const std::string& method, const std::string& path, const json& body = {}) {
    sdk::HttpRequest r;
    r.method = method;
    r.url = fake.base() + path;
    if (!body.is_null()) {
      r.body = body.dump();
      r.headers = {{"Content-Type", "application/json"}};
    }
    auto resp = http.perform(r);
    EXPECT_EQ(resp.status, 200) << path << " " << resp.body;
    return json::parse(resp.body, nullptr, false);
  }

  std::vector<std::string> event_types(const std::string& id) {
    std::vector<std::string> out;
    auto r = gw->json("GET", "/v1/messages/" + id + "/events", nullptr, key);
    if (r.is_object())
      for (const auto& e : r["events"]) out.push_back(e["type"].get<std::string>());
    return out;
  }

  FakeProcess twilio;
  FakeProcess unifonic;
  TestDatabase db;
  std::unique_ptr<GatewayUnderTest> gw;
  std::string key;
  core::CurlHttpClient http;
};

TEST_F(GatewayWithFakes, TwilioSmsIsDeliveredThroughSignedStatusCallbacks) {
  start("tw-sms");
  const std::string id = send({{"to", "0501234567"}, {"body", "Your appointment is tomorrow at 10:00"}});
  auto m = gw->wait_for_status(key, id, "delivered");
  ASSERT_EQ(m["status"], "delivered") << m.dump() << "\n" << gw->log();
  EXPECT_EQ(m["provider"]["instance"], "tw-sms");
  EXPECT_TRUE(std::regex_match(m["provider"]["message_id"].get<std::string>(), std::regex("SM[0-9a-f]{32}")));
  EXPECT_EQ(m["segments"], 1);

  // The gateway's health job also calls the fake (GET Accounts/{sid}.json).
  std::vector<json> creates;
  const json requests = control(twilio, "GET", "/_control/requests")["requests"];
  for (const auto& r : requests)
    if (r["method"] == "POST") creates.push_back(r);
  ASSERT_EQ(creates.size(), 1u);
  std::string callback;
  for (const auto& kv : creates[0]["form"])
    if (kv[0] == "StatusCallback") callback = kv[1];
  EXPECT_EQ(callback, gw->base_url() + "/webhooks/tw-sms/status?mid=" + id);
  // Both reports were accepted by the gateway (the signature verified).
  EXPECT_TRUE(eventually(
      [&] {
        auto cbs = control(twilio, "GET", "/_control/callbacks")["callbacks"];
        return cbs.size() == 2 && cbs[0]["http_status"] == 200 && cbs[1]["http_status"] == 200;
      },
      seconds(10)));
  const auto events = event_types(id);
  EXPECT_NE(std::find(events.begin(), events.end(), "delivered"), events.end());
}

TEST_F(GatewayWithFakes, ForgedTwilioCallbacksAreRefusedAndChangeNothing) {
  start("tw-sms");
  control(twilio, "POST", "/_control/rules", {{"to", "+966501234568"}, {"signature", "invalid"}});
  const std::string id = send({{"to", "+966501234568"}, {"body", "hello"}});
  ASSERT_EQ(gw->wait_for_status(key, id, "sent")["status"], "sent");
  EXPECT_TRUE(eventually(
      [&] {
        auto cbs = control(twilio, "GET", "/_control/callbacks")["callbacks"];
        return cbs.size() == 2 && cbs[0]["http_status"] == 403 && cbs[1]["http_status"] == 403;
      },
      seconds(10)));
  EXPECT_EQ(gw->json("GET", "/v1/messages/" + id, nullptr, key)["status"], "sent");
  EXPECT_EQ(gw->log().find(kToken), std::string::npos);
}

TEST_F(GatewayWithFakes, TwilioErrorsRetryOrFail) {
  start("tw-sms");
  control(twilio, "POST", "/_control/rules",
          json::array({{{"to", "+966501234570"}, {"status", 429}, {"retry_after", "1"}, {"times", 1}},
                        {{"to", "+966501234571"}, {"status", 400}, {"code", 21610}, {"message", "unsubscribed"}},
                        {{"to", "+966501234572"}, {"status", 400}, {"code", 21211}, {"message", "invalid To"}}}));
  const std::string limited = send({{"to", "+966501234570"}, {"body", "x"}});
  const std::string stopped = send({{"to", "+966501234571"}, {"body", "x"}});
  const std::string invalid = send({{"to", "+966501234572"}, {"body", "x"}});

  auto m = gw->wait_for_status(key, limited, "delivered", seconds(20));
  ASSERT_EQ(m["status"], "delivered") << m.dump();
  EXPECT_EQ(m["attempts"], 2);
  m = gw->wait_for_status(key, stopped, "failed");
  ASSERT_EQ(m["status"], "failed") << m.dump();
  EXPECT_NE(m["error"].dump().find("21610"), std::string::npos) << m.dump();
  m = gw->wait_for_status(key, invalid, "failed");
  ASSERT_EQ(m["status"], "failed") << m.dump();
  EXPECT_EQ(m["attempts"], 1);
  EXPECT_NE(m["error"].dump().find("21211"), std::string::npos) << m.dump();
}

TEST_F(GatewayWithFakes, WhatsAppTemplateIsReadAndInboundIsVerified) {
  start("tw-sms");
  control(twilio, "POST", "/_control/rules", {{"to", "+966501234573"}, {"progression", {"sent", "delivered", "read"}}});
  const std::string id = send({{"to", "+966501234573"},
                               {"channel", "whatsapp"},
                               {"provider_template", {{"id", kContent}, {"variables", {"Sara", "10:00"}}}}});
  auto m = gw->wait_for_status(key, id, "read");
  ASSERT_EQ(m["status"], "read") << m.dump() << "\n" << gw->log();
  auto messages = control(twilio, "GET", "/_control/messages")["messages"];
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]["to"], "whatsapp:+966501234573");
  EXPECT_EQ(messages[0]["content_sid"], kContent);
  EXPECT_EQ(json::parse(messages[0]["content_variables"].get<std::string>()), (json{{"1", "Sara"}, {"2", "10:00"}}));

  auto ok = control(twilio, "POST", "/_control/inbound",
                    {{"url", gw->base_url() + "/webhooks/tw-sms/inbound"}, {"from", "+966501234573"}, {"body", "STOP"}});
  EXPECT_EQ(ok["http_status"], 200);
  auto forged = control(twilio, "POST", "/_control/inbound",
                        {{"url", gw->base_url() + "/webhooks/tw-sms/inbound"},
                         {"from", "+966501234573"},
                         {"body", "STOP"},
                         {"signature", "invalid"}});
  EXPECT_EQ(forged["http_status"], 403);
}

TEST_F(GatewayWithFakes, UnifonicIsDeliveredThroughTokenCheckedReports) {
  start("uf");
  const std::string id = send({{"to", "+966501234574"}, {"body", "موعدك غدا الساعة العاشرة"}});
  auto m = gw->wait_for_status(key, id, "delivered");
  ASSERT_EQ(m["status"], "delivered") << m.dump() << "\n" << gw->log();
  EXPECT_EQ(m["provider"]["instance"], "uf");
  EXPECT_TRUE(std::regex_match(m["provider"]["message_id"].get<std::string>(), std::regex("[0-9]{14}")));
  EXPECT_EQ(m["cost"]["currency"], "SAR");
  std::string correlation;
  const json requests = control(unifonic, "GET", "/_control/requests")["requests"];
  for (const auto& r : requests)
    if (r["path"] == "/rest/SMS/messages")
      for (const auto& kv : r["params"])
        if (kv[0] == "CorrelationID") correlation = kv[1];
  EXPECT_EQ(correlation, id);

  // A report without the token is refused.
  control(unifonic, "POST", "/_control/config", {{"dlr_url", gw->base_url() + "/webhooks/uf/status"}});
  const std::string id2 = send({{"to", "+966501234575"}, {"body", "second"}});
  ASSERT_EQ(gw->wait_for_status(key, id2, "sent")["status"], "sent");
  EXPECT_TRUE(eventually(
      [&] {
        const json callbacks = control(unifonic, "GET", "/_control/callbacks")["callbacks"];
        for (const auto& c : callbacks)
          if (c["http_status"] == 403) return true;
        return false;
      },
      seconds(10)))
      << control(unifonic, "GET", "/_control/callbacks").dump() << "\n" << gw->log();
  EXPECT_EQ(gw->json("GET", "/v1/messages/" + id2, nullptr, key)["status"], "sent");
  EXPECT_EQ(gw->log().find(kAppSid), std::string::npos);
  EXPECT_EQ(gw->log().find(kHookSecret), std::string::npos);
}

}  // namespace
}  // namespace barid::fakes
