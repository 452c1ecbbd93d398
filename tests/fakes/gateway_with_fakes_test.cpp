// End to end with the provider plugins: the real barid-gateway binary loads
// twilio-sms, twilio-whatsapp and unifonic-sms from the build's plugin
// folder, a real MariaDB stores the messages, and the fake provider servers
// stand in for Twilio and Unifonic: they accept the sends and post delivery
// reports back to the gateway's webhooks, Twilio's signed over the URL the
// gateway rebuilds for the plugin. Needs the MariaDB that scripts/test
// starts (BARID_DB_*), like the other e2e tests.
#include "fake_process.hpp"
#include "gateway_harness.hpp"

#include <barid/core/time.hpp>

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

const std::string kNoJobs = R"yaml(
jobs: {poll: 200ms, status_refresh: {enabled: false}, retry_sweep: {enabled: false}, retention: {enabled: false},
       provider_health: {enabled: false}}
)yaml";

class GatewayWithFakes : public ::testing::Test {
 protected:
  GatewayWithFakes()
      : twilio(BARID_FAKE_TWILIO, {"--account-sid", kAccount, "--auth-token", kToken}),
        unifonic(BARID_FAKE_UNIFONIC, {"--app-sid", kAppSid}) {}

  // `jobs` replaces the default periodic-job configuration (all off).
  void start(const std::string& sms_route, const std::string& jobs = kNoJobs) {
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
)yaml" + jobs;
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

// The next attempt waits at least as long as the provider's Retry-After.
TEST_F(GatewayWithFakes, TwilioRetryAfterIsHonoured) {
  start("tw-sms");
  control(twilio, "POST", "/_control/rules", {{"to", "+966501234580"}, {"status", 429}, {"retry_after", "2"}, {"times", 1}});
  const std::string id = send({{"to", "+966501234580"}, {"body", "x"}});
  ASSERT_EQ(gw->wait_for_status(key, id, "delivered", seconds(20))["status"], "delivered");
  auto events = gw->json("GET", "/v1/messages/" + id + "/events", nullptr, key)["events"];
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[1]["type"], "retry_scheduled");
  std::smatch m;
  const std::string detail = events[1]["detail"];
  ASSERT_TRUE(std::regex_search(detail, m, std::regex("next attempt in ([0-9]+) ms"))) << detail;
  EXPECT_GE(std::stoi(m[1].str()), 2000) << detail;
  const auto first = core::parse_iso8601(events[1]["at"].get<std::string>());
  const auto sent = core::parse_iso8601(gw->json("GET", "/v1/messages/" + id, nullptr, key)["sent_at"].get<std::string>());
  ASSERT_TRUE(first && sent);
  EXPECT_GE(*sent - *first, seconds(2));
}

TEST_F(GatewayWithFakes, RepeatedServerErrorsFailAfterTheConfiguredAttempts) {
  start("tw-sms");
  control(twilio, "POST", "/_control/rules", {{"to", "+966501234581"}, {"status", 503}});
  const std::string id = send({{"to", "+966501234581"}, {"body", "x"}});
  auto m = gw->wait_for_status(key, id, "failed", seconds(20));
  ASSERT_EQ(m["status"], "failed") << m.dump();
  EXPECT_EQ(m["attempts"], 3);
  int creates = 0;
  const json requests = control(twilio, "GET", "/_control/requests");
  for (const auto& r : requests["requests"])
    if (r["method"] == "POST") ++creates;
  EXPECT_EQ(creates, 3) << requests.dump();
}

TEST_F(GatewayWithFakes, CallbacksOutOfOrderNeverMoveAMessageBack) {
  start("tw-sms");
  control(twilio, "POST", "/_control/rules", {{"to", "+966501234582"}, {"order", "reversed"}});
  const std::string id = send({{"to", "+966501234582"}, {"body", "x"}});
  ASSERT_EQ(gw->wait_for_status(key, id, "delivered")["status"], "delivered");
  ASSERT_TRUE(eventually(
      [&] {
        auto cbs = control(twilio, "GET", "/_control/callbacks")["callbacks"];
        return cbs.size() == 2 && cbs[0]["http_status"] == 200 && cbs[1]["http_status"] == 200;
      },
      seconds(10)));
  EXPECT_EQ(gw->json("GET", "/v1/messages/" + id, nullptr, key)["status"], "delivered");
  const auto events = event_types(id);
  EXPECT_NE(std::find(events.begin(), events.end(), "report_ignored"), events.end());
}

TEST_F(GatewayWithFakes, AStopRepliedToTwilioSuppressesLaterSends) {
  start("tw-sms");
  auto r = control(twilio, "POST", "/_control/inbound",
                   {{"url", gw->base_url() + "/webhooks/tw-sms/inbound"}, {"from", "+966501234583"}, {"body", "Stop"}});
  ASSERT_EQ(r["http_status"], 200);
  long status = 0;
  auto later = gw->json("POST", "/v1/messages", {{"to", "+966501234583"}, {"body", "x"}}, key, &status);
  EXPECT_EQ(status, 202);
  EXPECT_EQ(later["status"], "suppressed");
  int creates = 0;
  for (const auto& q : control(twilio, "GET", "/_control/requests")["requests"])
    if (q["method"] == "POST") ++creates;
  EXPECT_EQ(creates, 0);
  r = control(twilio, "POST", "/_control/inbound",
              {{"url", gw->base_url() + "/webhooks/tw-sms/inbound"}, {"from", "+966501234583"}, {"body", "START"}});
  ASSERT_EQ(r["http_status"], 200);
  EXPECT_EQ(gw->json("POST", "/v1/messages", {{"to", "+966501234583"}, {"body", "x"}}, key)["status"], "queued");
}

// Twilio prices a message after it is final; the status-refresh job polls
// delivered messages that have no cost yet.
TEST_F(GatewayWithFakes, TwilioCostArrivesByPollingAfterDelivery) {
  start("tw-sms", R"yaml(
jobs: {poll: 200ms, status_refresh: {every: 1s}, retry_sweep: {enabled: false}, retention: {enabled: false},
       provider_health: {enabled: false}}
)yaml");
  control(twilio, "POST", "/_control/rules", {{"to", "+966501234584"}, {"price", "-0.00750"}, {"num_segments", 2}});
  const std::string id = send({{"to", "+966501234584"}, {"body", "x"}});
  ASSERT_EQ(gw->wait_for_status(key, id, "delivered")["status"], "delivered");
  json m;
  ASSERT_TRUE(eventually(
      [&] {
        m = gw->json("GET", "/v1/messages/" + id, nullptr, key);
        return !m["cost"].is_null();
      },
      seconds(20)))
      << m.dump() << "\n" << gw->log();
  EXPECT_EQ(m["cost"]["amount"], "0.015000");
  EXPECT_EQ(m["cost"]["currency"], "USD");
  EXPECT_EQ(m["segments"], 2);
  EXPECT_EQ(m["status"], "delivered");
}

TEST_F(GatewayWithFakes, UnifonicErrorsRetryOrFail) {
  start("uf");
  control(unifonic, "POST", "/_control/rules",
          json::array({{{"to", "+966501234590"}, {"http_status", 429}, {"times", 1}},
                       {{"to", "+966501234591"}, {"http_status", 503}},
                       {{"to", "+966501234592"}, {"error_code", "ER-04"}, {"message", "Dest num is too short"}}}));
  const std::string limited = send({{"to", "+966501234590"}, {"body", "x"}});
  const std::string down = send({{"to", "+966501234591"}, {"body", "x"}});
  const std::string invalid = send({{"to", "+966501234592"}, {"body", "x"}});
  auto m = gw->wait_for_status(key, limited, "delivered", seconds(20));
  EXPECT_EQ(m["status"], "delivered") << m.dump();
  EXPECT_EQ(m["attempts"], 2);
  m = gw->wait_for_status(key, down, "failed", seconds(20));
  EXPECT_EQ(m["status"], "failed") << m.dump();
  EXPECT_EQ(m["attempts"], 3);
  m = gw->wait_for_status(key, invalid, "failed");
  EXPECT_EQ(m["status"], "failed") << m.dump();
  EXPECT_EQ(m["attempts"], 1);
  EXPECT_EQ(m["error"]["code"], "ER-04");
}

TEST_F(GatewayWithFakes, UnifonicReportsOutOfOrderNeverMoveAMessageBack) {
  start("uf");
  control(unifonic, "POST", "/_control/rules",
          {{"to", "+966501234593"}, {"progression", {"Sent", "Delivered"}}, {"order", "reversed"}});
  const std::string id = send({{"to", "+966501234593"}, {"body", "x"}});
  ASSERT_EQ(gw->wait_for_status(key, id, "delivered")["status"], "delivered");
  ASSERT_TRUE(eventually(
      [&] {
        auto cbs = control(unifonic, "GET", "/_control/callbacks")["callbacks"];
        return cbs.size() == 2 && cbs[1]["http_status"] == 200;
      },
      seconds(10)));
  EXPECT_EQ(gw->json("GET", "/v1/messages/" + id, nullptr, key)["status"], "delivered");
}

}  // namespace
}  // namespace barid::fakes
