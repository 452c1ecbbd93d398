// End to end with the provider plugins: the real barid-gateway binary loads
// twilio-sms, twilio-whatsapp and unifonic-sms from the build's plugin
// folder, a real MariaDB stores the messages, and the fake provider servers
// stand in for Twilio and Unifonic: they accept the sends and post delivery
// reports back to the gateway's webhooks, Twilio's signed over the URL the
// gateway rebuilds for the plugin. Needs the MariaDB that scripts/test
// starts (BARID_DB_*), like the other e2e tests.
#include "fake_process.hpp"
#include "gateway_harness.hpp"
#include "log_scan.hpp"

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
    gw = std::make_unique<GatewayUnderTest>(db, sections(sms_route, jobs));
    gw->start();
    key = gw->create_api_key("clinic");
    ASSERT_FALSE(key.empty());
  }

  // The configuration's sections: tw-sms, tw-wa and uf against the fakes.
  std::string sections(const std::string& sms_route, const std::string& jobs = kNoJobs,
                       const std::string& sms_from = "+15017122661") {
    return R"yaml(
providers:
  tw-sms:
    plugin: twilio-sms
    config: {account_sid: ")yaml" + kAccount + R"yaml(", auth_token: ")yaml" + kToken +
                                 R"yaml(", from: ")yaml" + sms_from + R"yaml(", base_url: ")yaml" + twilio.base() +
                                 R"yaml("}
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
    // What the fake passes on to the gateway (an inbound message's number)
    // is for the log scan what the test sent.
    barid::testing::record_sent(method, path, r.body);
    auto resp = http.perform(r);
    EXPECT_EQ(resp.status, 200) << path << " " << resp.body;
    return json::parse(resp.body, nullptr, false);
  }

  // The create-message requests (POST Messages.json) the fake Twilio
  // received; a health check would add GET Accounts/{sid}.json requests.
  std::vector<json> creates() {
    std::vector<json> out;
    const json requests = control(twilio, "GET", "/_control/requests")["requests"];
    for (const auto& r : requests)
      if (r["method"] == "POST") out.push_back(r);
    return out;
  }

  // How many of them went to `number` (E.164; with or without whatsapp:).
  int creates_to(const std::string& number) {
    int n = 0;
    for (const auto& r : creates()) {
      const std::string to = form_value(r, "To");
      if (to.size() >= number.size() && to.compare(to.size() - number.size(), number.size(), number) == 0) ++n;
    }
    return n;
  }

  // A field of a request the fake recorded ("" when absent).
  static std::string form_value(const json& request, const std::string& name) {
    for (const auto& kv : request["form"])
      if (kv[0] == name) return kv[1];
    return {};
  }

  // The first attempt of message `id` was refused and retried: the retry
  // was scheduled at least `wait` later, and the message was sent no sooner.
  void expect_second_attempt_waited(const std::string& id, milliseconds wait) {
    auto events = gw->json("GET", "/v1/messages/" + id + "/events", nullptr, key)["events"];
    ASSERT_GE(events.size(), 2u) << events.dump();
    EXPECT_EQ(events[1]["type"], "retry_scheduled");
    std::smatch m;
    const std::string detail = events[1]["detail"];
    ASSERT_TRUE(std::regex_search(detail, m, std::regex("next attempt in ([0-9]+) ms"))) << detail;
    EXPECT_GE(std::stoll(m[1].str()), wait.count()) << detail;
    const auto refused = core::parse_iso8601(events[1]["at"].get<std::string>());
    const auto sent = core::parse_iso8601(gw->json("GET", "/v1/messages/" + id, nullptr, key)["sent_at"].get<std::string>());
    ASSERT_TRUE(refused && sent);
    EXPECT_GE(*sent - *refused, wait);
    EXPECT_EQ(gw->json("GET", "/v1/messages/" + id, nullptr, key)["attempts"], 2);
  }

  // The health of `instance` as GET /v1/admin/providers shows it (null if unknown).
  json instance_health(const std::string& instance) {
    if (operator_key.empty()) operator_key = gw->create_operator_key();
    const json instances = gw->json("GET", "/v1/admin/providers", nullptr, operator_key)["instances"];
    for (const auto& i : instances)
      if (i["name"] == instance) return i["health"];
    return nullptr;
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
  std::string operator_key;
  core::CurlHttpClient http;
};

// The Twilio behaviours both plugins share, run once per channel: SMS through
// the twilio-sms instance tw-sms, WhatsApp through the twilio-whatsapp
// instance tw-wa (whatsapp: addresses, EventType=READ reports).
struct TwilioChannel {
  std::string channel;                   // as in POST /v1/messages
  std::string instance;                  // the provider instance it is routed to
  std::vector<std::string> progression;  // the reports of a message that goes all the way
  std::string other_channel;             // the channel an opt-out on this one does not cover
};

void PrintTo(const TwilioChannel& c, std::ostream* os) { *os << c.channel << " through " << c.instance; }

std::string channel_name(const ::testing::TestParamInfo<TwilioChannel>& info) {
  return info.param.channel == "sms" ? "Sms" : "WhatsApp";
}

class TwilioOnEachChannel : public GatewayWithFakes, public ::testing::WithParamInterface<TwilioChannel> {
 protected:
  const TwilioChannel& ch() const { return GetParam(); }
  std::string final_status() const { return ch().progression.back(); }

  json message_to(const std::string& to, const std::string& channel = {}) const {
    return {{"to", to}, {"body", "x"}, {"channel", channel.empty() ? ch().channel : channel}};
  }

  // Has the fake post a signed inbound message (STOP, START...) from `from`
  // to this channel's inbound webhook; the HTTP status the gateway answered.
  json inbound(const std::string& from, const std::string& body, const std::string& signature = "valid") {
    return control(twilio, "POST", "/_control/inbound",
                   {{"url", gw->base_url() + "/webhooks/" + ch().instance + "/inbound"},
                    {"from", from},
                    {"body", body},
                    {"channel", ch().channel},
                    {"signature", signature}});
  }

  // True once the fake has posted `n` status reports and all got `http_status`.
  bool callbacks_answered(std::size_t n, int http_status) {
    auto cbs = control(twilio, "GET", "/_control/callbacks")["callbacks"];
    if (cbs.size() != n) return false;
    for (const auto& c : cbs)
      if (c["http_status"] != http_status) return false;
    return true;
  }
};

INSTANTIATE_TEST_SUITE_P(Twilio, TwilioOnEachChannel,
                         ::testing::Values(TwilioChannel{"sms", "tw-sms", {"sent", "delivered"}, "whatsapp"},
                                           TwilioChannel{"whatsapp", "tw-wa", {"sent", "delivered", "read"}, "sms"}),
                         channel_name);

TEST_P(TwilioOnEachChannel, IsDeliveredThroughSignedStatusCallbacks) {
  start("tw-sms");
  control(twilio, "POST", "/_control/rules", {{"to", "+966501234567"}, {"progression", ch().progression}});
  const std::string id = send(message_to("0501234567"));
  auto m = gw->wait_for_status(key, id, final_status());
  ASSERT_EQ(m["status"], final_status()) << m.dump() << "\n" << gw->log();
  EXPECT_EQ(m["provider"]["instance"], ch().instance);
  EXPECT_TRUE(std::regex_match(m["provider"]["message_id"].get<std::string>(), std::regex("SM[0-9a-f]{32}")));
  EXPECT_EQ(m["segments"], 1);

  const auto requests = creates();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(form_value(requests[0], "To"), (ch().channel == "whatsapp" ? "whatsapp:" : "") + std::string("+966501234567"));
  EXPECT_EQ(form_value(requests[0], "StatusCallback"),
            gw->base_url() + "/webhooks/" + ch().instance + "/status?mid=" + id);
  // Every report was accepted by the gateway (the signature verified).
  EXPECT_TRUE(eventually([&] { return callbacks_answered(ch().progression.size(), 200); }, seconds(10)))
      << control(twilio, "GET", "/_control/callbacks").dump();
  const auto events = event_types(id);
  EXPECT_NE(std::find(events.begin(), events.end(), final_status()), events.end());
}

TEST_P(TwilioOnEachChannel, ForgedCallbacksAreRefusedAndChangeNothing) {
  start("tw-sms");
  control(twilio, "POST", "/_control/rules",
          {{"to", "+966501234568"}, {"progression", ch().progression}, {"signature", "invalid"}});
  const std::string id = send(message_to("+966501234568"));
  ASSERT_EQ(gw->wait_for_status(key, id, "sent")["status"], "sent");
  EXPECT_TRUE(eventually([&] { return callbacks_answered(ch().progression.size(), 403); }, seconds(10)))
      << control(twilio, "GET", "/_control/callbacks").dump();
  EXPECT_EQ(gw->json("GET", "/v1/messages/" + id, nullptr, key)["status"], "sent");
  const auto events = event_types(id);
  EXPECT_EQ(std::find(events.begin(), events.end(), "delivered"), events.end());
  EXPECT_EQ(gw->log().find(kToken), std::string::npos);
}

// 429 is retried, 21610 (the recipient replied STOP to the sender) fails and
// suppresses later sends to that number, an invalid number fails at once.
TEST_P(TwilioOnEachChannel, ErrorsRetryOrFail) {
  start("tw-sms");
  control(twilio, "POST", "/_control/rules",
          json::array({{{"to", "+966501234570"}, {"status", 429}, {"retry_after", "1"}, {"times", 1}},
                       {{"to", "+966501234571"}, {"status", 400}, {"code", 21610}, {"message", "unsubscribed"}},
                       {{"to", "+966501234572"}, {"status", 400}, {"code", 21211}, {"message", "invalid To"}}}));
  const std::string limited = send(message_to("+966501234570"));
  const std::string stopped = send(message_to("+966501234571"));
  const std::string invalid = send(message_to("+966501234572"));

  auto m = gw->wait_for_status(key, limited, "delivered", seconds(20));
  ASSERT_EQ(m["status"], "delivered") << m.dump();
  EXPECT_EQ(m["attempts"], 2);
  m = gw->wait_for_status(key, stopped, "failed");
  ASSERT_EQ(m["status"], "failed") << m.dump();
  EXPECT_EQ(m["attempts"], 1);
  EXPECT_NE(m["error"].dump().find("21610"), std::string::npos) << m.dump();
  m = gw->wait_for_status(key, invalid, "failed");
  ASSERT_EQ(m["status"], "failed") << m.dump();
  EXPECT_EQ(m["attempts"], 1);
  EXPECT_NE(m["error"].dump().find("21211"), std::string::npos) << m.dump();
  EXPECT_EQ(creates_to("+966501234572"), 1);

  // The refusal was recorded as an opt-out: the next send to that number on
  // this channel is suppressed and never reaches Twilio.
  long status = 0;
  auto later = gw->json("POST", "/v1/messages", message_to("+966501234571"), key, &status);
  EXPECT_EQ(status, 202) << later.dump();
  EXPECT_EQ(later["status"], "suppressed") << later.dump();
  EXPECT_EQ(creates_to("+966501234571"), 1);
}

// The next attempt waits at least as long as the provider's Retry-After.
TEST_P(TwilioOnEachChannel, RetryAfterIsHonoured) {
  start("tw-sms");
  control(twilio, "POST", "/_control/rules", {{"to", "+966501234580"}, {"status", 429}, {"retry_after", "2"}, {"times", 1}});
  const std::string id = send(message_to("+966501234580"));
  ASSERT_EQ(gw->wait_for_status(key, id, "delivered", seconds(20))["status"], "delivered");
  expect_second_attempt_waited(id, seconds(2));
  EXPECT_EQ(creates_to("+966501234580"), 2);
}

TEST_P(TwilioOnEachChannel, RepeatedServerErrorsFailAfterTheConfiguredAttempts) {
  start("tw-sms");
  control(twilio, "POST", "/_control/rules", {{"to", "+966501234581"}, {"status", 503}});
  const std::string id = send(message_to("+966501234581"));
  auto m = gw->wait_for_status(key, id, "failed", seconds(20));
  ASSERT_EQ(m["status"], "failed") << m.dump();
  EXPECT_EQ(m["attempts"], 3);
  EXPECT_EQ(creates_to("+966501234581"), 3);
}

// The fake posts the reports in reverse order (read, delivered, sent for
// WhatsApp): the late ones are recorded as ignored and change nothing.
TEST_P(TwilioOnEachChannel, CallbacksOutOfOrderNeverMoveAMessageBack) {
  start("tw-sms");
  control(twilio, "POST", "/_control/rules",
          {{"to", "+966501234582"}, {"progression", ch().progression}, {"order", "reversed"}});
  const std::string id = send(message_to("+966501234582"));
  ASSERT_EQ(gw->wait_for_status(key, id, final_status())["status"], final_status());
  ASSERT_TRUE(eventually([&] { return callbacks_answered(ch().progression.size(), 200); }, seconds(10)))
      << control(twilio, "GET", "/_control/callbacks").dump();
  EXPECT_EQ(gw->json("GET", "/v1/messages/" + id, nullptr, key)["status"], final_status());
  const auto events = event_types(id);
  EXPECT_NE(std::find(events.begin(), events.end(), "report_ignored"), events.end());

  // A `sent` that comes in even later still changes nothing.
  const std::string sid = gw->json("GET", "/v1/messages/" + id, nullptr, key)["provider"]["message_id"];
  auto r = control(twilio, "POST", "/_control/messages/" + sid + "/status", {{"status", "sent"}});
  EXPECT_EQ(r["http_status"], 200);
  EXPECT_EQ(gw->json("GET", "/v1/messages/" + id, nullptr, key)["status"], final_status());
}

// STOP posted to the instance's own inbound webhook opts the sender out of
// this channel (not the other one); START opts back in.
TEST_P(TwilioOnEachChannel, AStopRepliedToTwilioSuppressesLaterSends) {
  start("tw-sms");
  ASSERT_EQ(inbound("+966501234583", "Stop")["http_status"], 200);
  long status = 0;
  auto later = gw->json("POST", "/v1/messages", message_to("+966501234583"), key, &status);
  EXPECT_EQ(status, 202);
  EXPECT_EQ(later["status"], "suppressed") << later.dump();
  EXPECT_EQ(creates().size(), 0u);
  // A forged STOP changes nothing.
  EXPECT_EQ(inbound("+966501234584", "STOP", "invalid")["http_status"], 403);
  EXPECT_EQ(gw->json("POST", "/v1/messages", message_to("+966501234584"), key)["status"], "queued");
  // The opt-out is for the channel the recipient replied on.
  EXPECT_EQ(gw->json("POST", "/v1/messages", message_to("+966501234583", ch().other_channel), key)["status"], "queued");

  ASSERT_EQ(inbound("+966501234583", "START")["http_status"], 200);
  EXPECT_EQ(gw->json("POST", "/v1/messages", message_to("+966501234583"), key)["status"], "queued");
}

TEST_F(GatewayWithFakes, WhatsAppTemplateIsRead) {
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
  const auto requests = creates();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(form_value(requests[0], "Body"), "");
}

// A patient's WhatsApp reply opens their 24-hour session window, shown with
// their preferences to the clinic that wrote to them (through the same
// instance), and to that clinic only.
TEST_F(GatewayWithFakes, AWhatsAppReplyOpensTheSessionWindowForTheClinicThatWrote) {
  start("tw-sms");
  long status = 0;
  gw->json("GET", "/v1/recipients/+966501234591/preferences", nullptr, key, &status);
  EXPECT_EQ(status, 404);  // nothing known about this number yet
  control(twilio, "POST", "/_control/rules", {{"to", "+966501234591"}, {"progression", {"sent"}}});
  const std::string id = send({{"to", "+966501234591"},
                               {"channel", "whatsapp"},
                               {"provider_template", {{"id", kContent}, {"variables", {"Sara", "10:00"}}}}});
  ASSERT_EQ(gw->wait_for_status(key, id, "sent")["status"], "sent");
  auto r = control(twilio, "POST", "/_control/inbound",
                   {{"url", gw->base_url() + "/webhooks/tw-wa/inbound"},
                    {"from", "+966501234591"},
                    {"body", "Thank you, see you tomorrow"},
                    {"channel", "whatsapp"},
                    {"signature", "valid"}});
  ASSERT_EQ(r["http_status"], 200);
  auto prefs = gw->json("GET", "/v1/recipients/+966501234591/preferences", nullptr, key, &status);
  ASSERT_EQ(status, 200) << prefs.dump();
  EXPECT_EQ(prefs["whatsapp_session"]["open"], true) << prefs.dump();
  const auto last = core::parse_iso8601(prefs["whatsapp_session"]["last_inbound_at"].get<std::string>());
  const auto closes = core::parse_iso8601(prefs["whatsapp_session"]["closes_at"].get<std::string>());
  ASSERT_TRUE(last && closes);
  EXPECT_EQ(*closes - *last, std::chrono::hours(24));
  EXPECT_LT(core::now_us() - *last, std::chrono::minutes(1));
  // Not an opt-out.
  EXPECT_EQ(prefs["opt_outs"].size(), 0u);
  EXPECT_EQ(gw->json("POST", "/v1/messages", {{"to", "+966501234591"}, {"channel", "whatsapp"}, {"body", "x"}}, key)["status"],
            "queued");
  auto kept = gw->json("GET", "/v1/inbound?include=body", nullptr, key);
  ASSERT_EQ(kept["inbound"].size(), 1u) << kept.dump();
  EXPECT_EQ(kept["inbound"][0]["body"], "Thank you, see you tomorrow");
  EXPECT_EQ(kept["inbound"][0]["channel"], "whatsapp");
  EXPECT_EQ(kept["inbound"][0]["from"], "+966501234591");
  // Another clinic on the same sender learns nothing of it.
  const std::string other = gw->create_api_key("clinic-other");
  gw->json("GET", "/v1/recipients/+966501234591/preferences", nullptr, other, &status);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(gw->json("GET", "/v1/inbound", nullptr, other)["inbound"].size(), 0u);
}

// A send the provider refuses for bad credentials fails at once, and the
// instance is unhealthy in GET /v1/providers and /ready straight away: the
// periodic health check is off here, so the send itself recorded it. The
// next accepted send makes it healthy again.
class RejectedCredentials : public GatewayWithFakes {
 protected:
  void check(const std::string& instance, const std::string& error_code) {
    start(instance);
    EXPECT_EQ(instance_health(instance), nullptr);
    EXPECT_EQ(gw->request("GET", "/ready").status, 200);

    const std::string id = send({{"to", "+966501234585"}, {"body", "x"}});
    auto m = gw->wait_for_status(key, id, "failed");
    ASSERT_EQ(m["status"], "failed") << m.dump();
    EXPECT_EQ(m["attempts"], 1);
    EXPECT_EQ(m["error"]["code"], error_code) << m.dump();
    const json h = instance_health(instance);
    ASSERT_TRUE(h.is_object()) << gw->log();
    EXPECT_EQ(h["state"], "unhealthy") << h.dump();
    auto ready = gw->request("GET", "/ready");
    EXPECT_EQ(ready.status, 503) << ready.body;
    EXPECT_EQ(json::parse(ready.body)["checks"]["channels"]["sms"]["instances"][instance], "unhealthy") << ready.body;
    EXPECT_EQ(gw->log().find(kToken), std::string::npos);
    EXPECT_EQ(gw->log().find(kAppSid), std::string::npos);

    const std::string ok = send({{"to", "+966501234586"}, {"body", "x"}});
    ASSERT_EQ(gw->wait_for_status(key, ok, "delivered")["status"], "delivered");
    EXPECT_EQ(instance_health(instance)["state"], "healthy");
    EXPECT_EQ(gw->request("GET", "/ready").status, 200);
  }
};

TEST_F(RejectedCredentials, TwilioMarksTheInstanceUnhealthyAtOnce) {
  control(twilio, "POST", "/_control/rules", {{"to", "+966501234585"}, {"status", 401}, {"times", 1}});
  check("tw-sms", "20003");
}

// Once the credentials are fixed and the configuration reloaded (SIGHUP),
// the changed instance is checked at once: healthy again without a send and
// with the periodic health check off.
TEST_F(RejectedCredentials, AReloadedInstanceIsCheckedAtOnce) {
  control(twilio, "POST", "/_control/rules",
          json::array({{{"status", 401}}, {{"op", "account"}, {"status", 401}}}));
  start("tw-sms");
  const std::string id = send({{"to", "+966501234587"}, {"body", "x"}});
  ASSERT_EQ(gw->wait_for_status(key, id, "failed")["status"], "failed");
  ASSERT_EQ(instance_health("tw-sms")["state"], "unhealthy");

  control(twilio, "DELETE", "/_control/rules");
  gw->rewrite(sections("tw-sms", kNoJobs, "+15017122662"));
  gw->signal(SIGHUP);
  json h;
  ASSERT_TRUE(eventually(
      [&] {
        h = instance_health("tw-sms");
        return h.is_object() && h["state"] == "healthy";
      },
      seconds(10)))
      << h.dump() << "\n" << gw->log();
  EXPECT_NE(h["detail"].get<std::string>().find("Twilio account reachable"), std::string::npos) << h.dump();
  EXPECT_EQ(gw->request("GET", "/ready").status, 200);
  EXPECT_EQ(creates().size(), 1u);
}

TEST_F(RejectedCredentials, UnifonicMarksTheInstanceUnhealthyAtOnce) {
  control(unifonic, "POST", "/_control/rules", {{"to", "+966501234585"}, {"http_status", 401}, {"times", 1}});
  check("uf", "HTTP-401");
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

// Unifonic documents no Retry-After; when a 429 carries one anyway, the next
// attempt waits for it.
TEST_F(GatewayWithFakes, UnifonicRetryAfterIsHonoured) {
  start("uf");
  control(unifonic, "POST", "/_control/rules",
          {{"to", "+966501234594"}, {"http_status", 429}, {"retry_after", "2"}, {"times", 1}});
  const std::string id = send({{"to", "+966501234594"}, {"body", "x"}});
  ASSERT_EQ(gw->wait_for_status(key, id, "delivered", seconds(20))["status"], "delivered");
  expect_second_attempt_waited(id, seconds(2));
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
