// The Twilio provider driven directly: request shapes, answers, errors,
// webhooks and configuration.
#include "test_host.hpp"
#include "twilio/twilio_client.hpp"
#include "twilio/twilio_provider.hpp"
#include "twilio/twilio_signature.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace barid::plugins::twilio {
namespace {

using namespace std::chrono_literals;
using sdk::MessageStatus;
using sdk::Outcome;
using testing::TestHost;

const std::string kAccount = "AC" + std::string(32, 'a');
const std::string kToken = "tw-secret-token-123";
const std::string kApiKey = "SK" + std::string(32, 'b');
const std::string kApiSecret = "api-secret-456";
const std::string kService = "MG" + std::string(32, 'c');
const std::string kContent = "HX" + std::string(32, 'd');
const std::string kSid = "SM" + std::string(32, 'e');
const std::string kMid = "0f8e5b1c-3c1d-4a52-9c8e-2f1b7a6d9e10";
const std::string kBody = "Your appointment is at 10:00 - secret body text";
const std::string kBase = "https://api.twilio.test";

std::string created(const std::string& status = "queued", const std::string& price = "null",
                    const std::string& segments = "\"1\"") {
  return R"({"account_sid":")" + kAccount + R"(","api_version":"2010-04-01","body":"x","error_code":null,)" +
         R"("error_message":null,"from":"+14155552345","num_media":"0","num_segments":)" + segments +
         R"(,"price":)" + price + R"(,"price_unit":"USD","sid":")" + kSid + R"(","status":")" + status +
         R"(","to":"+14155552345"})";
}

std::string error_body(int code, int status, const std::string& message = "something") {
  return nlohmann::json{{"code", code},
                        {"message", message},
                        {"more_info", "https://www.twilio.com/docs/errors/" + std::to_string(code)},
                        {"status", status}}
      .dump();
}

struct Fixture {
  explicit Fixture(sdk::Channel channel = sdk::Channel::sms,
                   std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> values = {
        {"account_sid", kAccount}, {"auth_token", kToken}, {"from", "+15017250604"}, {"base_url", kBase}};
    for (auto& kv : extra) values.push_back(kv);
    auto created = create_provider(testing::config_of(config_keys(channel), values), host, channel);
    EXPECT_TRUE(created.provider) << created.error;
    provider = std::move(created.provider);
  }

  sdk::OutboundMessage message(std::string to = "+966501234567") const {
    sdk::OutboundMessage m;
    m.id = kMid;
    m.to = std::move(to);
    m.body = kBody;
    m.status_callback_url = host.webhook_url("status");
    return m;
  }

  sdk::SendResult send(const sdk::OutboundMessage& m) { return provider->send(m); }

  // A webhook request signed the way Twilio signs it.
  sdk::CallbackRequest webhook(std::string kind, const sdk::FormFields& params, std::string url = {}) {
    sdk::CallbackRequest r;
    r.kind = kind;
    r.method = "POST";
    r.url = url.empty() ? host.webhook_url(kind) : url;
    r.body = sdk::form_encode(params);
    r.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"X-Twilio-Signature", compute_signature(host.crypto(), kToken, r.url, params)}};
    return r;
  }

  void expect_no_secrets_logged() const {
    const std::string logs = host.log.all();
    EXPECT_EQ(logs.find(kToken), std::string::npos) << logs;
    EXPECT_EQ(logs.find(kApiSecret), std::string::npos) << logs;
    EXPECT_EQ(logs.find(kBody), std::string::npos) << logs;
  }

  TestHost host;
  std::unique_ptr<sdk::Provider> provider;
};

// ------------------------------------------------------------------ send

TEST(TwilioSend, SmsRequestShape) {
  Fixture f;
  f.host.http_client.answer_json(201, created());
  auto r = f.send(f.message());
  ASSERT_EQ(r.outcome, Outcome::ok) << r.error.message;

  ASSERT_EQ(f.host.http_client.requests.size(), 1u);
  const auto& req = f.host.http_client.requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, kBase + "/2010-04-01/Accounts/" + kAccount + "/Messages.json");
  ASSERT_TRUE(req.basic_auth);
  EXPECT_EQ(req.basic_auth->user, kAccount);
  EXPECT_EQ(req.basic_auth->password, kToken);
  EXPECT_EQ(sdk::find_header(req.headers, "content-type"), "application/x-www-form-urlencoded");
  const auto form = testing::form_of(req);
  EXPECT_EQ(sdk::form_value(form, "To"), "+966501234567");
  EXPECT_EQ(sdk::form_value(form, "From"), "+15017250604");
  EXPECT_EQ(sdk::form_value(form, "Body"), kBody);
  EXPECT_EQ(sdk::form_value(form, "StatusCallback"), "https://gw.example.com/webhooks/test/status?mid=" + kMid);
  for (const auto& [k, v] : form) {
    EXPECT_NE(k, "ContentSid");
    EXPECT_NE(k, "MessagingServiceSid");
  }
  f.expect_no_secrets_logged();
}

TEST(TwilioSend, ApiKeyAuthenticatesAndMessagingServiceIsSent) {
  Fixture f(sdk::Channel::sms, {{"api_key_sid", kApiKey}, {"api_key_secret", kApiSecret}, {"messaging_service_sid", kService}});
  f.host.http_client.answer_json(201, created("accepted"));
  auto m = f.message();
  m.from = "BARID";  // a per-message sender overrides the configured one
  auto r = f.send(m);
  EXPECT_EQ(r.outcome, Outcome::ok);
  const auto& req = f.host.http_client.requests.at(0);
  EXPECT_EQ(req.basic_auth->user, kApiKey);
  EXPECT_EQ(req.basic_auth->password, kApiSecret);
  const auto form = testing::form_of(req);
  EXPECT_EQ(sdk::form_value(form, "MessagingServiceSid"), kService);
  EXPECT_EQ(sdk::form_value(form, "From"), "BARID");
  f.expect_no_secrets_logged();
}

TEST(TwilioSend, NoStatusCallbackWhenTurnedOffOrNoPublicUrl) {
  Fixture off(sdk::Channel::sms, {{"status_callback", "false"}});
  off.host.http_client.answer_json(201, created());
  off.send(off.message());
  EXPECT_EQ(sdk::form_value(testing::form_of(off.host.http_client.requests.at(0)), "StatusCallback"), "");

  Fixture on;
  on.host.http_client.answer_json(201, created());
  auto m = on.message();
  m.status_callback_url.clear();
  on.send(m);
  EXPECT_EQ(sdk::form_value(testing::form_of(on.host.http_client.requests.at(0)), "StatusCallback"), "");
}

TEST(TwilioSend, AcceptedAnswerGivesSidSegmentsAndCost) {
  Fixture f;
  f.host.http_client.answer_json(201, created("queued", "\"-0.00750\"", "\"2\""));
  auto r = f.send(f.message());
  ASSERT_EQ(r.outcome, Outcome::ok);
  EXPECT_EQ(r.provider_message_id, kSid);
  EXPECT_EQ(r.status, MessageStatus::sent);
  EXPECT_EQ(r.segments, 2);
  ASSERT_TRUE(r.cost);
  EXPECT_EQ(r.cost->micros, 7500);
  EXPECT_EQ(r.cost->currency, "USD");
}

TEST(TwilioSend, NullPriceMeansNoCost) {
  Fixture f;
  f.host.http_client.answer_json(201, created("queued", "null", "\"0\""));
  auto r = f.send(f.message());
  ASSERT_EQ(r.outcome, Outcome::ok);
  EXPECT_FALSE(r.cost);
  EXPECT_EQ(r.segments, 0);
}

TEST(TwilioSend, StatusOfTheAnswerIsMapped) {
  for (auto [word, expected] : std::vector<std::pair<std::string, MessageStatus>>{
           {"queued", MessageStatus::sent},
           {"accepted", MessageStatus::sent},
           {"sending", MessageStatus::sent},
           {"sent", MessageStatus::sent},
           {"delivered", MessageStatus::delivered},
           {"read", MessageStatus::read}}) {
    Fixture f;
    f.host.http_client.answer_json(201, created(word));
    auto r = f.send(f.message());
    EXPECT_EQ(r.outcome, Outcome::ok) << word;
    EXPECT_EQ(r.status, expected) << word;
  }
  Fixture failed;
  failed.host.http_client.answer_json(201, created("failed"));
  auto r = failed.send(failed.message());
  EXPECT_EQ(r.outcome, Outcome::permanent);
  EXPECT_EQ(r.provider_message_id, kSid);
}

TEST(TwilioStatusMapping, AllWords) {
  EXPECT_EQ(map_status("queued"), MessageStatus::sent);
  EXPECT_EQ(map_status("accepted"), MessageStatus::sent);
  EXPECT_EQ(map_status("scheduled"), MessageStatus::sent);
  EXPECT_EQ(map_status("sending"), MessageStatus::sent);
  EXPECT_EQ(map_status("sent"), MessageStatus::sent);
  EXPECT_EQ(map_status("delivered"), MessageStatus::delivered);
  EXPECT_EQ(map_status("partially_delivered"), MessageStatus::delivered);
  EXPECT_EQ(map_status("read"), MessageStatus::read);
  EXPECT_EQ(map_status("undelivered"), MessageStatus::undelivered);
  EXPECT_EQ(map_status("failed"), MessageStatus::failed);
  EXPECT_EQ(map_status("canceled"), MessageStatus::failed);
  EXPECT_EQ(map_status("received"), std::nullopt);
  EXPECT_EQ(map_status("something-new"), std::nullopt);
}

TEST(TwilioPrice, Parsing) {
  using nlohmann::json;
  EXPECT_EQ(parse_price(json("-0.00750"), json("USD"))->micros, 7500);
  EXPECT_EQ(parse_price(json("-0.0075"), json("usd"))->currency, "USD");
  EXPECT_EQ(parse_price(json("0.05"), json("EUR"))->micros, 50000);
  EXPECT_EQ(parse_price(json("-1.2345678"), json("USD"))->micros, 1234568);
  EXPECT_EQ(parse_price(json(-0.0075), json("USD"))->micros, 7500);
  EXPECT_FALSE(parse_price(json(nullptr), json("USD")));
  EXPECT_FALSE(parse_price(json("-0.00750"), json(nullptr)));
  EXPECT_FALSE(parse_price(json("free"), json("USD")));
}

struct ErrorCase {
  int http;
  int code;
  bool opted_out;
};

TEST(TwilioSend, ValidationErrorsArePermanent) {
  for (auto c : std::vector<ErrorCase>{{400, 21211, false},
                                       {400, 21614, false},
                                       {400, 21612, false},
                                       {400, 21606, false},
                                       {400, 21659, false},
                                       {400, 21408, false},
                                       {400, 21608, false},
                                       {400, 21617, false},
                                       {400, 21635, false},
                                       {400, 21609, false},
                                       {404, 20404, false},
                                       {400, 21610, true},
                                       {400, 63014, true}}) {
    Fixture f;
    f.host.http_client.answer_json(c.http, error_body(c.code, c.http));
    auto r = f.send(f.message());
    EXPECT_EQ(r.outcome, Outcome::permanent) << c.code;
    EXPECT_EQ(r.error.code, std::to_string(c.code));
    EXPECT_EQ(r.recipient_opted_out, c.opted_out) << c.code;
    EXPECT_FALSE(r.retry_after);
    f.expect_no_secrets_logged();
  }
}

TEST(TwilioSend, UnknownErrorBodyStillPermanentWithHttpCode) {
  Fixture f;
  f.host.http_client.answer(400, "<html>bad</html>");
  auto r = f.send(f.message());
  EXPECT_EQ(r.outcome, Outcome::permanent);
  EXPECT_EQ(r.error.code, "HTTP-400");
}

TEST(TwilioSend, BadCredentialsArePermanentAndMakeHealthUnhealthy) {
  Fixture f;
  f.host.http_client.answer_json(401, error_body(20003, 401, "Authenticate"));
  auto r = f.send(f.message());
  EXPECT_EQ(r.outcome, Outcome::permanent);
  EXPECT_EQ(r.error.code, "20003");
  EXPECT_FALSE(r.recipient_opted_out);

  f.host.http_client.answer_json(401, error_body(20003, 401, "Authenticate"));
  auto h = f.provider->check_health();
  EXPECT_EQ(h.state, sdk::HealthState::unhealthy);
  EXPECT_EQ(f.host.http_client.requests.back().url, kBase + "/2010-04-01/Accounts/" + kAccount + ".json");
  EXPECT_EQ(f.host.http_client.requests.back().method, "GET");
  f.expect_no_secrets_logged();
}

// The send that finds the credentials rejected says so (SendResult::health),
// once; while Twilio then gives no verdict, check_health keeps reporting it;
// the first accepted send reports the recovery.
TEST(TwilioSend, RejectedCredentialsAreReportedWithTheSendUntilASendSucceeds) {
  Fixture f;
  f.host.http_client.answer_json(401, error_body(20003, 401, "Authenticate"));
  f.host.http_client.answer_json(401, error_body(20003, 401, "Authenticate"));
  auto first = f.send(f.message());
  ASSERT_TRUE(first.health);
  EXPECT_EQ(first.health->state, sdk::HealthState::unhealthy);
  EXPECT_NE(first.health->detail.find("20003"), std::string::npos) << first.health->detail;
  EXPECT_FALSE(f.send(f.message()).health);  // nothing new

  f.host.http_client.answer_json(503, error_body(20500, 503));
  f.host.http_client.fail(sdk::TransportError::connect, "refused");
  auto h = f.provider->check_health();
  EXPECT_EQ(h.state, sdk::HealthState::unhealthy);
  EXPECT_NE(h.detail.find("rejected the credentials"), std::string::npos) << h.detail;
  EXPECT_EQ(f.provider->check_health().state, sdk::HealthState::unhealthy);

  // A 429 on a send is no verdict either.
  f.host.http_client.answer_json(429, error_body(20429, 429));
  auto limited = f.send(f.message());
  EXPECT_EQ(limited.outcome, Outcome::retry);
  EXPECT_FALSE(limited.health);

  f.host.http_client.answer_json(201, created());
  auto ok = f.send(f.message());
  EXPECT_EQ(ok.outcome, Outcome::ok);
  ASSERT_TRUE(ok.health);
  EXPECT_EQ(ok.health->state, sdk::HealthState::healthy);
  f.host.http_client.answer_json(503, error_body(20500, 503));
  EXPECT_EQ(f.provider->check_health().state, sdk::HealthState::degraded);
  f.host.http_client.answer_json(201, created());
  EXPECT_FALSE(f.send(f.message()).health);
  f.expect_no_secrets_logged();
}

TEST(TwilioSend, TooManyRequestsRetriesHonouringRetryAfterSeconds) {
  Fixture f;
  f.host.http_client.answer_json(429, error_body(20429, 429, "Too Many Requests"), {{"retry-after", "7"}});
  auto r = f.send(f.message());
  EXPECT_EQ(r.outcome, Outcome::retry);
  EXPECT_EQ(r.error.code, "20429");
  ASSERT_TRUE(r.retry_after);
  EXPECT_EQ(*r.retry_after, 7000ms);
}

TEST(TwilioSend, TooManyRequestsWithoutRetryAfter) {
  Fixture f;
  f.host.http_client.answer_json(429, error_body(20429, 429, "Too Many Requests"));
  auto r = f.send(f.message());
  EXPECT_EQ(r.outcome, Outcome::retry);
  EXPECT_FALSE(r.retry_after);
}

TEST(TwilioSend, RetryAfterAsHttpDate) {
  Fixture f;
  // The host clock is 1700000000 = Tue, 14 Nov 2023 22:13:20 GMT.
  f.host.http_client.answer_json(503, "{}", {{"Retry-After", "Tue, 14 Nov 2023 22:13:50 GMT"}});
  auto r = f.send(f.message());
  EXPECT_EQ(r.outcome, Outcome::retry);
  ASSERT_TRUE(r.retry_after);
  EXPECT_EQ(*r.retry_after, 30000ms);
}

TEST(TwilioSend, ServerErrorsAndTransportFailuresRetry) {
  for (int status : {500, 502, 503, 504}) {
    Fixture f;
    f.host.http_client.answer(status, "oops");
    auto r = f.send(f.message());
    EXPECT_EQ(r.outcome, Outcome::retry) << status;
    EXPECT_EQ(r.error.code, "HTTP-" + std::to_string(status));
  }
  for (auto e : {sdk::TransportError::timeout, sdk::TransportError::connect, sdk::TransportError::tls}) {
    Fixture f;
    f.host.http_client.fail(e, "simulated");
    auto r = f.send(f.message());
    EXPECT_EQ(r.outcome, Outcome::retry);
    EXPECT_FALSE(r.error.code.empty());
  }
}

// The gateway's HTTP client gave up reading an answer past
// providers.<name>.http.max_response_bytes.
TEST(TwilioSend, AnAnswerTooLargeToReadFailsWithResponseTooLarge) {
  Fixture f;
  f.host.http_client.fail(sdk::TransportError::other, "response-too-large");
  auto r = f.send(f.message());
  EXPECT_EQ(r.outcome, Outcome::retry);
  EXPECT_EQ(r.error.code, "response-too-large");
}

TEST(TwilioSend, UnreadableSuccessIsRetried) {
  Fixture f;
  f.host.http_client.answer(201, "not json");
  EXPECT_EQ(f.send(f.message()).outcome, Outcome::retry);
}

TEST(TwilioSend, EmptyMessageIsRefusedWithoutACall) {
  Fixture f;
  auto m = f.message();
  m.body.clear();
  auto r = f.send(m);
  EXPECT_EQ(r.outcome, Outcome::permanent);
  EXPECT_TRUE(f.host.http_client.requests.empty());
}

// ------------------------------------------------------------------ WhatsApp

TEST(TwilioWhatsApp, AddressesCarryTheChannelPrefix) {
  Fixture f(sdk::Channel::whatsapp, {{"from", "+14155238886"}});
  f.host.http_client.answer_json(201, created());
  auto r = f.send(f.message());
  ASSERT_EQ(r.outcome, Outcome::ok);
  const auto form = testing::form_of(f.host.http_client.requests.at(0));
  EXPECT_EQ(sdk::form_value(form, "To"), "whatsapp:+966501234567");
  EXPECT_EQ(sdk::form_value(form, "From"), "whatsapp:+14155238886");
  EXPECT_EQ(sdk::form_value(form, "Body"), kBody);
}

TEST(TwilioWhatsApp, TemplateIsSentAsContentSidWithOrderedVariablesAndNoBody) {
  Fixture f(sdk::Channel::whatsapp, {{"from", "whatsapp:+14155238886"}});
  f.host.http_client.answer_json(201, created());
  auto m = f.message();
  m.body.clear();
  m.provider_template = kContent;
  m.template_variables = {"أحمد", "3pm", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "ten \"quoted\""};
  auto r = f.send(m);
  ASSERT_EQ(r.outcome, Outcome::ok);
  const auto form = testing::form_of(f.host.http_client.requests.at(0));
  EXPECT_EQ(sdk::form_value(form, "From"), "whatsapp:+14155238886");
  EXPECT_EQ(sdk::form_value(form, "ContentSid"), kContent);
  const auto vars = nlohmann::json::parse(sdk::form_value(form, "ContentVariables"));
  ASSERT_TRUE(vars.is_object());
  EXPECT_EQ(vars.size(), 10u);
  EXPECT_EQ(vars["1"], "أحمد");
  EXPECT_EQ(vars["2"], "3pm");
  EXPECT_EQ(vars["10"], "ten \"quoted\"");
  EXPECT_EQ(sdk::form_value(form, "ContentVariables").rfind("{\"1\":\"أحمد\",\"2\":\"3pm\"", 0), 0u);
  for (const auto& [k, v] : form) EXPECT_NE(k, "Body");
}

TEST(TwilioWhatsApp, TemplateWithoutVariablesOmitsContentVariables) {
  Fixture f(sdk::Channel::whatsapp);
  f.host.http_client.answer_json(201, created());
  auto m = f.message();
  m.provider_template = kContent;
  f.send(m);
  const auto form = testing::form_of(f.host.http_client.requests.at(0));
  EXPECT_EQ(sdk::form_value(form, "ContentSid"), kContent);
  for (const auto& [k, v] : form) {
    EXPECT_NE(k, "ContentVariables");
    EXPECT_NE(k, "Body");
  }
}

TEST(TwilioWhatsApp, MalformedTemplateSidIsRefusedWithoutACall) {
  Fixture f(sdk::Channel::whatsapp);
  auto m = f.message();
  m.provider_template = "order_ready";
  auto r = f.send(m);
  EXPECT_EQ(r.outcome, Outcome::permanent);
  EXPECT_EQ(r.error.code, "INVALID-TEMPLATE");
  EXPECT_TRUE(f.host.http_client.requests.empty());
}

TEST(TwilioWhatsApp, OutsideTheWindowSaysATemplateIsNeeded) {
  Fixture f(sdk::Channel::whatsapp);
  f.host.http_client.answer_json(400, error_body(63016, 400, "Failed to send freeform message"));
  auto r = f.send(f.message());
  EXPECT_EQ(r.outcome, Outcome::permanent);
  EXPECT_EQ(r.error.code, "63016");
  EXPECT_NE(r.error.message.find("24-hour"), std::string::npos) << r.error.message;
  EXPECT_NE(r.error.message.find("template"), std::string::npos) << r.error.message;
  EXPECT_FALSE(r.recipient_opted_out);
}

TEST(TwilioWhatsApp, BlockedByUserIsAnOptOut) {
  Fixture f(sdk::Channel::whatsapp);
  f.host.http_client.answer_json(400, error_body(63014, 400));
  auto r = f.send(f.message());
  EXPECT_EQ(r.outcome, Outcome::permanent);
  EXPECT_TRUE(r.recipient_opted_out);
}

// ------------------------------------------------------------------ fetch_status

TEST(TwilioFetch, RequestAndMapping) {
  Fixture f;
  f.host.http_client.answer_json(
      200, R"({"sid":")" + kSid + R"(","status":"undelivered","num_segments":"3","price":"-0.02250",)"
                                  R"("price_unit":"USD","error_code":30003,"error_message":"Unreachable destination handset"})");
  auto r = f.provider->fetch_status(kSid);
  const auto& req = f.host.http_client.requests.at(0);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.url, kBase + "/2010-04-01/Accounts/" + kAccount + "/Messages/" + kSid + ".json");
  ASSERT_TRUE(req.basic_auth);
  EXPECT_EQ(r.outcome, Outcome::ok);
  EXPECT_EQ(r.status, MessageStatus::undelivered);
  EXPECT_EQ(r.segments, 3);
  ASSERT_TRUE(r.cost);
  EXPECT_EQ(r.cost->micros, 22500);
  EXPECT_EQ(r.error.code, "30003");
}

TEST(TwilioFetch, DeliveredAndRead) {
  Fixture f;
  f.host.http_client.answer_json(200, R"({"sid":")" + kSid + R"(","status":"delivered","error_code":null})");
  f.host.http_client.answer_json(200, R"({"sid":")" + kSid + R"(","status":"read"})");
  EXPECT_EQ(f.provider->fetch_status(kSid).status, MessageStatus::delivered);
  EXPECT_EQ(f.provider->fetch_status(kSid).status, MessageStatus::read);
}

TEST(TwilioFetch, PartiallyDeliveredCountsAsDelivered) {
  Fixture f;
  f.host.http_client.answer_json(200, R"({"sid":")" + kSid + R"(","status":"partially_delivered","error_code":null})");
  auto r = f.provider->fetch_status(kSid);
  EXPECT_EQ(r.outcome, Outcome::ok);
  EXPECT_EQ(r.status, MessageStatus::delivered);
}

TEST(TwilioFetch, OutsideTheWhatsAppWindowSaysATemplateIsNeeded) {
  Fixture f(sdk::Channel::whatsapp);
  f.host.http_client.answer_json(
      200, R"({"sid":")" + kSid + R"(","status":"failed","to":"whatsapp:+966501234567","error_code":63016,)"
                                  R"("error_message":"Failed to send freeform message because you are outside the allowed window."})");
  auto r = f.provider->fetch_status(kSid);
  EXPECT_EQ(r.outcome, Outcome::ok);
  EXPECT_EQ(r.status, MessageStatus::failed);
  EXPECT_EQ(r.error.code, "63016");
  EXPECT_NE(r.error.message.find("24-hour"), std::string::npos) << r.error.message;
  EXPECT_NE(r.error.message.find("template"), std::string::npos) << r.error.message;
  EXPECT_FALSE(r.retryable);
}

TEST(TwilioFetch, ErrorsAreClassified) {
  Fixture f;
  f.host.http_client.answer_json(404, error_body(20404, 404));
  f.host.http_client.answer_json(429, error_body(20429, 429), {{"Retry-After", "2"}});
  f.host.http_client.fail(sdk::TransportError::timeout, "slow");
  auto nf = f.provider->fetch_status(kSid);
  EXPECT_EQ(nf.outcome, Outcome::permanent);
  EXPECT_EQ(nf.error.code, "20404");
  EXPECT_TRUE(nf.message_unknown);  // the account has no such message: not an outage
  auto busy = f.provider->fetch_status(kSid);
  EXPECT_EQ(busy.outcome, Outcome::retry);
  EXPECT_EQ(busy.retry_after, std::optional<std::chrono::milliseconds>(2000ms));
  EXPECT_FALSE(busy.message_unknown);
  EXPECT_EQ(f.provider->fetch_status(kSid).outcome, Outcome::retry);
  // Not something that can go into a URL path: refused without a call.
  EXPECT_EQ(f.provider->fetch_status("../../Accounts").outcome, Outcome::permanent);
  EXPECT_EQ(f.host.http_client.requests.size(), 3u);
}

// ------------------------------------------------------------------ health

TEST(TwilioHealth, States) {
  Fixture f;
  f.host.http_client.answer_json(200, R"({"sid":")" + kAccount + R"(","status":"active"})");
  f.host.http_client.answer_json(200, R"({"sid":")" + kAccount + R"(","status":"suspended"})");
  f.host.http_client.answer_json(503, "{}");
  f.host.http_client.fail(sdk::TransportError::connect, "refused");
  EXPECT_EQ(f.provider->check_health().state, sdk::HealthState::healthy);
  EXPECT_EQ(f.provider->check_health().state, sdk::HealthState::unhealthy);
  EXPECT_EQ(f.provider->check_health().state, sdk::HealthState::degraded);
  EXPECT_EQ(f.provider->check_health().state, sdk::HealthState::unhealthy);
}

// ------------------------------------------------------------------ webhooks

sdk::FormFields status_params(const std::string& status) {
  return {{"AccountSid", kAccount}, {"From", "+15017250604"}, {"MessageSid", kSid},
          {"MessageStatus", status}, {"SmsSid", kSid},           {"SmsStatus", status},
          {"To", "+966501234567"},   {"ApiVersion", "2010-04-01"}};
}

TEST(TwilioWebhook, SignedStatusCallbackBecomesAnUpdateWithOurId) {
  Fixture f;
  auto req = f.webhook("status", status_params("delivered"), f.host.webhook_url("status") + "?mid=" + kMid);
  auto r = f.provider->parse_callback(req);
  ASSERT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted) << r.reason;
  ASSERT_EQ(r.status_updates.size(), 1u);
  EXPECT_EQ(r.status_updates[0].provider_message_id, kSid);
  EXPECT_EQ(r.status_updates[0].message_id, kMid);
  EXPECT_EQ(r.status_updates[0].status, MessageStatus::delivered);
  EXPECT_TRUE(r.status_updates[0].error.code.empty());
  EXPECT_EQ(r.http_status, 200);
}

TEST(TwilioWebhook, UndeliveredCarriesTheErrorCode) {
  Fixture f;
  auto params = status_params("undelivered");
  params.emplace_back("ErrorCode", "30003");
  auto r = f.provider->parse_callback(f.webhook("status", params));
  ASSERT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted) << r.reason;
  EXPECT_EQ(r.status_updates.at(0).status, MessageStatus::undelivered);
  EXPECT_EQ(r.status_updates.at(0).error.code, "30003");
  EXPECT_FALSE(r.status_updates.at(0).error.message.empty());
  EXPECT_TRUE(r.status_updates.at(0).message_id.empty());
  EXPECT_FALSE(r.status_updates.at(0).retryable);
}

TEST(TwilioWebhook, PartiallyDeliveredCountsAsDelivered) {
  Fixture f;
  auto r = f.provider->parse_callback(f.webhook("status", status_params("partially_delivered")));
  ASSERT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted) << r.reason;
  ASSERT_EQ(r.status_updates.size(), 1u);
  EXPECT_EQ(r.status_updates[0].status, MessageStatus::delivered);
}

// 63016 usually arrives after the 201, in the report: permanent, and the
// message says a template is needed whatever text Twilio sent with it.
TEST(TwilioWebhook, OutsideTheWhatsAppWindowSaysATemplateIsNeeded) {
  Fixture f(sdk::Channel::whatsapp);
  auto params = status_params("failed");
  params.emplace_back("ErrorCode", "63016");
  params.emplace_back("ChannelPrefix", "whatsapp");
  params.emplace_back("ChannelStatusMessage", "Failed to send freeform message because you are outside the allowed window.");
  auto r = f.provider->parse_callback(f.webhook("status", params));
  ASSERT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted) << r.reason;
  const auto& u = r.status_updates.at(0);
  EXPECT_EQ(u.status, MessageStatus::failed);
  EXPECT_EQ(u.error.code, "63016");
  EXPECT_NE(u.error.message.find("24-hour"), std::string::npos) << u.error.message;
  EXPECT_NE(u.error.message.find("template"), std::string::npos) << u.error.message;
  EXPECT_FALSE(u.retryable);
}

TEST(TwilioWebhook, TransientFailuresAreMarkedRetryable) {
  for (auto [code, retryable] : std::vector<std::pair<std::string, bool>>{
           {"30001", true}, {"30036", true}, {"30500", true}, {"30007", false}, {"30006", false}, {"99999", false}}) {
    Fixture f;
    auto params = status_params("failed");
    params.emplace_back("ErrorCode", code);
    auto r = f.provider->parse_callback(f.webhook("status", params));
    ASSERT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted) << r.reason;
    EXPECT_EQ(r.status_updates.at(0).status, MessageStatus::failed);
    EXPECT_EQ(r.status_updates.at(0).retryable, retryable) << code;
  }
}

TEST(TwilioWebhook, WhatsAppReadEvent) {
  Fixture f(sdk::Channel::whatsapp);
  auto params = status_params("read");
  params.emplace_back("EventType", "READ");
  params.emplace_back("ChannelPrefix", "whatsapp");
  auto r = f.provider->parse_callback(f.webhook("status", params));
  ASSERT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted) << r.reason;
  EXPECT_EQ(r.status_updates.at(0).status, MessageStatus::read);
}

TEST(TwilioWebhook, MissingOrBadSignatureIsForbidden) {
  Fixture f;
  auto req = f.webhook("status", status_params("delivered"));
  auto missing = req;
  missing.headers.erase(missing.headers.begin() + 1);
  EXPECT_EQ(f.provider->parse_callback(missing).verdict, sdk::CallbackResult::Verdict::forbidden);
  auto bad = req;
  bad.headers[1].second = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  EXPECT_EQ(f.provider->parse_callback(bad).verdict, sdk::CallbackResult::Verdict::forbidden);
  auto tampered = req;
  tampered.body += "&Extra=1";
  EXPECT_EQ(f.provider->parse_callback(tampered).verdict, sdk::CallbackResult::Verdict::forbidden);
  auto other_url = req;
  other_url.url += "?mid=" + kMid;  // signed without mid
  EXPECT_EQ(f.provider->parse_callback(other_url).verdict, sdk::CallbackResult::Verdict::forbidden);
  const auto r = f.provider->parse_callback(missing);
  EXPECT_TRUE(r.status_updates.empty());
  f.expect_no_secrets_logged();
}

TEST(TwilioWebhook, SignatureCheckCanBeTurnedOffWithAnApiKey) {
  Fixture f(sdk::Channel::sms, {{"auth_token", ""},
                                {"api_key_sid", kApiKey},
                                {"api_key_secret", kApiSecret},
                                {"validate_signatures", "false"}});
  auto req = f.webhook("status", status_params("sent"));
  req.headers.pop_back();
  auto r = f.provider->parse_callback(req);
  EXPECT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted) << r.reason;
}

TEST(TwilioWebhook, AnotherAccountIsForbidden) {
  Fixture f;
  auto params = status_params("delivered");
  params[0].second = "AC" + std::string(32, 'f');
  EXPECT_EQ(f.provider->parse_callback(f.webhook("status", params)).verdict, sdk::CallbackResult::Verdict::forbidden);
}

TEST(TwilioWebhook, MalformedReports) {
  Fixture f;
  EXPECT_EQ(f.provider->parse_callback(f.webhook("status", {{"MessageStatus", "sent"}})).verdict,
            sdk::CallbackResult::Verdict::bad_request);
  EXPECT_EQ(f.provider->parse_callback(f.webhook("status", {{"MessageSid", kSid}})).verdict,
            sdk::CallbackResult::Verdict::bad_request);
  EXPECT_EQ(f.provider->parse_callback(f.webhook("whatever", status_params("sent"))).verdict,
            sdk::CallbackResult::Verdict::bad_request);
  // A status word Twilio may add later is acknowledged and ignored.
  auto r = f.provider->parse_callback(f.webhook("status", status_params("teleported")));
  EXPECT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted);
  EXPECT_TRUE(r.status_updates.empty());
}

TEST(TwilioWebhook, InboundStop) {
  Fixture f;
  auto r = f.provider->parse_callback(f.webhook("inbound", {{"AccountSid", kAccount},
                                                            {"MessageSid", kSid},
                                                            {"SmsMessageSid", kSid},
                                                            {"From", "+966501234567"},
                                                            {"To", "+15017250604"},
                                                            {"Body", "STOP"},
                                                            {"NumSegments", "1"},
                                                            {"OptOutType", "STOP"}}));
  ASSERT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted) << r.reason;
  ASSERT_EQ(r.inbound_messages.size(), 1u);
  const auto& m = r.inbound_messages[0];
  EXPECT_EQ(m.channel, sdk::Channel::sms);
  EXPECT_EQ(m.from, "+966501234567");
  EXPECT_EQ(m.to, "+15017250604");
  EXPECT_EQ(m.body, "STOP");
  EXPECT_EQ(m.provider_message_id, kSid);
  EXPECT_NE(r.response_body.find("<Response></Response>"), std::string::npos);
  EXPECT_EQ(r.response_content_type, "text/xml");
}

TEST(TwilioWebhook, WhatsAppInboundLosesThePrefix) {
  Fixture f(sdk::Channel::whatsapp);
  auto r = f.provider->parse_callback(f.webhook(
      "inbound", {{"From", "whatsapp:+966501234567"}, {"To", "whatsapp:+14155238886"}, {"Body", "stop"}, {"MessageSid", kSid}}));
  ASSERT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted) << r.reason;
  EXPECT_EQ(r.inbound_messages.at(0).channel, sdk::Channel::whatsapp);
  EXPECT_EQ(r.inbound_messages.at(0).from, "+966501234567");
  EXPECT_EQ(r.inbound_messages.at(0).to, "+14155238886");
  EXPECT_EQ(r.inbound_messages.at(0).body, "stop");
}

// A quick-reply button press carries the button's payload (and its text).
TEST(TwilioWebhook, AWhatsAppButtonPressCarriesItsPayload) {
  Fixture f(sdk::Channel::whatsapp);
  auto r = f.provider->parse_callback(f.webhook("inbound", {{"From", "whatsapp:+966501234567"},
                                                            {"To", "whatsapp:+14155238886"},
                                                            {"ButtonText", "Cancel appointment"},
                                                            {"ButtonPayload", "2"},
                                                            {"MessageSid", kSid}}));
  ASSERT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted) << r.reason;
  EXPECT_EQ(r.inbound_messages.at(0).button_payload, "2");
  EXPECT_EQ(r.inbound_messages.at(0).body, "Cancel appointment");  // no Body: the button's text
}

TEST(TwilioWebhook, InboundWithoutFromIsMalformed) {
  Fixture f;
  EXPECT_EQ(f.provider->parse_callback(f.webhook("inbound", {{"Body", "STOP"}})).verdict,
            sdk::CallbackResult::Verdict::bad_request);
}

// ------------------------------------------------------------------ configuration

std::string create_error(std::vector<std::pair<std::string, std::string>> values,
                         sdk::Channel channel = sdk::Channel::sms) {
  TestHost host;
  auto r = create_provider(testing::config_of(config_keys(channel), values), host, channel);
  return r.provider ? std::string() : r.error;
}

// Webhooks taken without the signature check are unauthenticated: the host
// refuses such an instance unless the operator allows it.
TEST(TwilioConfig, AnInstanceThatDoesNotVerifySignaturesSaysItsWebhooksAreUnauthenticated) {
  const sdk::ProviderConfig base = testing::config_of(
      config_keys(sdk::Channel::sms), {{"account_sid", kAccount}, {"auth_token", kToken}, {"from", "+15017250604"}});
  TestHost host;
  auto checked = create_provider(base, host, sdk::Channel::sms);
  ASSERT_TRUE(checked.provider) << checked.error;
  EXPECT_EQ(checked.unauthenticated_callbacks, "");
  for (auto channel : {sdk::Channel::sms, sdk::Channel::whatsapp}) {
    auto config = testing::config_of(config_keys(channel), {{"account_sid", kAccount},
                                                            {"auth_token", kToken},
                                                            {"from", "+15017250604"},
                                                            {"validate_signatures", "false"}});
    auto unchecked = create_provider(config, host, channel);
    ASSERT_TRUE(unchecked.provider) << unchecked.error;
    EXPECT_NE(unchecked.unauthenticated_callbacks.find("validate_signatures"), std::string::npos);
  }
}

// The sender a send without `from` goes out from, as a send would name it:
// the gateway stores it as the message's sender.
TEST(TwilioConfig, TheDefaultSenderIsTheConfiguredFromAsASendNamesIt) {
  TestHost host;
  for (auto channel : {sdk::Channel::sms, sdk::Channel::whatsapp}) {
    auto created = create_provider(testing::config_of(config_keys(channel), {{"account_sid", kAccount},
                                                                             {"auth_token", kToken},
                                                                             {"from", "+15017250604"}}),
                                   host, channel);
    ASSERT_TRUE(created.provider) << created.error;
    EXPECT_EQ(created.default_sender, "+15017250604");
  }
  auto service = create_provider(testing::config_of(config_keys(sdk::Channel::sms),
                                                    {{"account_sid", kAccount}, {"auth_token", kToken},
                                                     {"messaging_service_sid", kService}}),
                                 host, sdk::Channel::sms);
  ASSERT_TRUE(service.provider) << service.error;
  EXPECT_EQ(service.default_sender, "");  // the service picks it
}

TEST(TwilioConfig, ErrorsNameTheKey) {
  const std::pair<std::string, std::string> sid{"account_sid", kAccount}, tok{"auth_token", kToken},
      from{"from", "+15017250604"};
  EXPECT_EQ(create_error({sid, tok, from}), "");
  EXPECT_NE(create_error({{"account_sid", "ACxyz"}, tok, from}).find("'account_sid'"), std::string::npos);
  EXPECT_NE(create_error({sid, from}).find("'auth_token'"), std::string::npos);
  // An API key alone cannot verify webhook signatures.
  EXPECT_NE(create_error({sid, from, {"api_key_sid", kApiKey}, {"api_key_secret", kApiSecret}}).find("'auth_token'"),
            std::string::npos);
  EXPECT_EQ(create_error({sid, from, {"api_key_sid", kApiKey}, {"api_key_secret", kApiSecret}, {"validate_signatures", "false"}}),
            "");
  EXPECT_NE(create_error({sid, tok, from, {"api_key_sid", kApiKey}}).find("'api_key_secret'"), std::string::npos);
  EXPECT_NE(create_error({sid, tok, from, {"api_key_sid", "SK1"}, {"api_key_secret", "x"}}).find("'api_key_sid'"),
            std::string::npos);
  EXPECT_NE(create_error({sid, tok}).find("'from'"), std::string::npos);
  EXPECT_EQ(create_error({sid, tok, {"messaging_service_sid", kService}}), "");
  EXPECT_NE(create_error({sid, tok, {"messaging_service_sid", "MG1"}}).find("'messaging_service_sid'"),
            std::string::npos);
  EXPECT_NE(create_error({sid, tok, from, {"status_callback", "maybe"}}).find("'status_callback'"), std::string::npos);
  EXPECT_NE(create_error({sid, tok, from, {"base_url", "ftp://x"}}).find("'base_url'"), std::string::npos);
  // The secret never appears in an error.
  EXPECT_EQ(create_error({sid, tok, from, {"base_url", "ftp://x"}}).find(kToken), std::string::npos);
}

TEST(TwilioConfig, DeclaredKeys) {
  auto keys = config_keys(sdk::Channel::whatsapp);
  auto find = [&](const std::string& name) {
    for (const auto& k : keys)
      if (k.name == name) return k;
    ADD_FAILURE() << name;
    return sdk::ConfigKey{};
  };
  EXPECT_TRUE(find("account_sid").required);
  EXPECT_TRUE(find("auth_token").secret);
  EXPECT_TRUE(find("api_key_secret").secret);
  EXPECT_FALSE(find("api_key_sid").secret);
  EXPECT_EQ(find("base_url").default_value, "https://api.twilio.com");
  EXPECT_EQ(find("status_callback").default_value, "true");
  EXPECT_EQ(find("validate_signatures").default_value, "true");
}

}  // namespace
}  // namespace barid::plugins::twilio
