// The Unifonic provider driven directly.
#include "test_host.hpp"
#include "unifonic/unifonic_api.hpp"
#include "unifonic/unifonic_provider.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace barid::plugins::unifonic {
namespace {

using namespace std::chrono_literals;
using sdk::MessageStatus;
using sdk::Outcome;
using testing::TestHost;

const std::string kAppSid = "uf-app-sid-secret-789";
const std::string kBase = "https://unifonic.test";
const std::string kMid = "5d2c7c1e-8a53-4f0e-9a57-0c1b2d3e4f50";
const std::string kBody = "موعدك غدا الساعة 10 - secret body";
const std::string kHookSecret = "hook-secret-abc-0123";

std::string accepted(const std::string& success = "true", const std::string& status = "Sent") {
  return R"({"success":)" + success + R"(,"message":"","errorCode":"ER-00","data":{"MessageID":42000348806924,)"
         R"("CorrelationID":")" + kMid + R"(","Status":")" + status + R"(","NumberOfUnits":2,"Cost":0.0375,)"
         R"("Balance":99.5,"Recipient":"966501234567","TimeCreated":"2022-09-06 14:06:25.979","CurrencyCode":"SAR"}})";
}

std::string refused(const std::string& code, const std::string& message = "refused") {
  return nlohmann::json{{"success", false}, {"message", message}, {"errorCode", code}, {"data", nlohmann::json::object()}}
      .dump();
}

struct Fixture {
  explicit Fixture(std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> values = {
        {"app_sid", kAppSid}, {"sender_id", "Clinic"}, {"base_url", kBase}};
    for (auto& kv : extra) values.push_back(kv);
    auto r = create_provider(testing::config_of(config_keys(), values), host);
    EXPECT_TRUE(r.provider) << r.error;
    provider = std::move(r.provider);
  }
  sdk::OutboundMessage message() const {
    sdk::OutboundMessage m;
    m.id = kMid;
    m.to = "+966501234567";
    m.body = kBody;
    m.status_callback_url = host.webhook_url("status");
    return m;
  }
  sdk::CallbackRequest dlr(std::string body, std::string content_type = "application/json", std::string url = {}) {
    sdk::CallbackRequest r;
    r.kind = "status";
    r.method = "POST";
    r.url = url.empty() ? host.webhook_url("status") : url;
    r.body = std::move(body);
    r.headers = {{"Content-Type", std::move(content_type)}};
    return r;
  }
  void expect_no_secrets_logged() const {
    const std::string logs = host.log.all();
    EXPECT_EQ(logs.find(kAppSid), std::string::npos) << logs;
    EXPECT_EQ(logs.find(kHookSecret), std::string::npos) << logs;
    EXPECT_EQ(logs.find(kBody), std::string::npos) << logs;
  }
  TestHost host;
  std::unique_ptr<sdk::Provider> provider;
};

TEST(UnifonicSend, RequestShape) {
  Fixture f;
  f.host.http_client.answer_json(200, accepted());
  auto r = f.provider->send(f.message());
  ASSERT_EQ(r.outcome, Outcome::ok) << r.error.message;
  const auto& req = f.host.http_client.requests.at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, kBase + "/rest/SMS/messages");
  EXPECT_FALSE(req.basic_auth);
  EXPECT_EQ(sdk::find_header(req.headers, "Content-Type"), "application/x-www-form-urlencoded");
  const auto form = testing::form_of(req);
  EXPECT_EQ(sdk::form_value(form, "AppSid"), kAppSid);
  EXPECT_EQ(sdk::form_value(form, "SenderID"), "Clinic");
  EXPECT_EQ(sdk::form_value(form, "Recipient"), "966501234567");
  EXPECT_EQ(sdk::form_value(form, "Body"), kBody);
  EXPECT_EQ(sdk::form_value(form, "CorrelationID"), kMid);
  EXPECT_EQ(sdk::form_value(form, "responseType"), "JSON");
  EXPECT_EQ(sdk::form_value(form, "statusCallback"), "https://gw.example.com/webhooks/test/status");
  f.expect_no_secrets_logged();
}

TEST(UnifonicSend, StatusCallbackCarriesTheTokenWhenASecretIsSet) {
  Fixture f({{"webhook_secret", kHookSecret}});
  f.host.http_client.answer_json(200, accepted());
  f.provider->send(f.message());
  EXPECT_EQ(sdk::form_value(testing::form_of(f.host.http_client.requests.at(0)), "statusCallback"),
            "https://gw.example.com/webhooks/test/status?token=" + kHookSecret);
  f.expect_no_secrets_logged();
}

TEST(UnifonicSend, NoStatusCallbackWhenTurnedOff) {
  Fixture f({{"status_callback", "false"}, {"sender_id", ""}});
  f.host.http_client.answer_json(200, accepted());
  f.provider->send(f.message());
  const auto form = testing::form_of(f.host.http_client.requests.at(0));
  for (const auto& [k, v] : form) {
    EXPECT_NE(k, "statusCallback");
    EXPECT_NE(k, "SenderID");
  }
}

TEST(UnifonicSend, NumericMessageIdUnitsAndCost) {
  Fixture f;
  f.host.http_client.answer_json(200, accepted());
  auto r = f.provider->send(f.message());
  ASSERT_EQ(r.outcome, Outcome::ok);
  EXPECT_EQ(r.provider_message_id, "42000348806924");
  EXPECT_EQ(r.status, MessageStatus::sent);
  EXPECT_EQ(r.segments, 2);
  ASSERT_TRUE(r.cost);
  EXPECT_EQ(r.cost->micros, 37500);
  EXPECT_EQ(r.cost->currency, "SAR");
}

TEST(UnifonicSend, SuccessAsAString) {
  Fixture f;
  f.host.http_client.answer_json(200, accepted("\"true\"", "Queued"));
  auto r = f.provider->send(f.message());
  EXPECT_EQ(r.outcome, Outcome::ok);
  EXPECT_EQ(r.provider_message_id, "42000348806924");

  Fixture g;
  g.host.http_client.answer_json(200, R"({"success":"false","message":"Dest num is too short","errorCode":"ER-04","data":{}})");
  auto s = g.provider->send(g.message());
  EXPECT_EQ(s.outcome, Outcome::permanent);
  EXPECT_EQ(s.error.code, "ER-04");
}

TEST(UnifonicSend, DocumentedExampleWithoutCurrencyHasNoCost) {
  Fixture f;
  f.host.http_client.answer_json(
      200, R"({"success": true, "message": "", "errorCode": "ER-00", "data": {"MessageID": 42000348806924, )"
           R"("CorrelationID": "CorrelationID", "Status": "Sent", "NumberOfUnits": 0, "Cost": 0, "Balance": 0, )"
           R"("Recipient": "9660000000000", "TimeCreated": "2022-09-06 14:06:25.979", "CurrencyCode": ""}})");
  auto r = f.provider->send(f.message());
  ASSERT_EQ(r.outcome, Outcome::ok);
  EXPECT_FALSE(r.cost);
  EXPECT_EQ(r.segments, 0);
}

TEST(UnifonicSend, MessageErrorCodesArePermanent) {
  for (std::string code : {"ER-02", "ER-03", "ER-04", "ER-05", "ER-06", "ER-07", "ER-08", "ER-33"}) {
    Fixture f;
    f.host.http_client.answer_json(200, refused(code));
    auto r = f.provider->send(f.message());
    EXPECT_EQ(r.outcome, Outcome::permanent) << code;
    EXPECT_EQ(r.error.code, code);
    EXPECT_FALSE(r.error.message.empty());
    f.expect_no_secrets_logged();
  }
}

TEST(UnifonicSend, InsufficientFundsRetriesAndDegradesHealth) {
  Fixture f;
  f.host.http_client.answer_json(200, refused("ER-01", "Insufficient balance"));
  auto r = f.provider->send(f.message());
  EXPECT_EQ(r.outcome, Outcome::retry);
  EXPECT_EQ(r.error.code, "ER-01");
  f.host.http_client.answer_json(200, R"({"success":true,"message":"","errorCode":"ER-00","data":{"messages":[]}})");
  auto h = f.provider->check_health();
  EXPECT_EQ(h.state, sdk::HealthState::degraded);
  EXPECT_NE(h.detail.find("ER-01"), std::string::npos);
  // A later successful send clears it.
  f.host.http_client.answer_json(200, accepted());
  EXPECT_EQ(f.provider->send(f.message()).outcome, Outcome::ok);
  f.host.http_client.answer_json(200, R"({"success":true,"data":{"messages":[]}})");
  EXPECT_EQ(f.provider->check_health().state, sdk::HealthState::healthy);
}

// Account problems found by a send travel with it (SendResult::health), once
// per change, so the gateway records them at once.
TEST(UnifonicSend, AccountProblemsAreReportedWithTheSend) {
  Fixture f;
  f.host.http_client.answer_json(401, refused("", "Authentication failed"));
  f.host.http_client.answer_json(401, refused("", "Authentication failed"));
  f.host.http_client.answer_json(200, refused("ER-01", "Insufficient balance"));
  f.host.http_client.answer_json(200, refused("ER-04", "Dest num is too short"));
  f.host.http_client.answer_json(200, accepted());
  f.host.http_client.answer_json(200, accepted());
  auto rejected = f.provider->send(f.message());
  EXPECT_EQ(rejected.outcome, Outcome::permanent);
  ASSERT_TRUE(rejected.health);
  EXPECT_EQ(rejected.health->state, sdk::HealthState::unhealthy);
  EXPECT_FALSE(f.provider->send(f.message()).health);
  auto funds = f.provider->send(f.message());
  ASSERT_TRUE(funds.health);
  EXPECT_EQ(funds.health->state, sdk::HealthState::degraded);
  EXPECT_NE(funds.health->detail.find("ER-01"), std::string::npos);
  EXPECT_FALSE(f.provider->send(f.message()).health);  // a message error says nothing of the account
  auto ok = f.provider->send(f.message());
  ASSERT_TRUE(ok.health);
  EXPECT_EQ(ok.health->state, sdk::HealthState::healthy);
  EXPECT_FALSE(f.provider->send(f.message()).health);
  f.expect_no_secrets_logged();
}

TEST(UnifonicSend, InvalidSenderDegradesHealth) {
  Fixture f;
  f.host.http_client.answer_json(200, refused("ER-08"));
  EXPECT_EQ(f.provider->send(f.message()).outcome, Outcome::permanent);
  f.host.http_client.answer_json(200, R"({"success":true,"data":{"messages":[]}})");
  EXPECT_EQ(f.provider->check_health().state, sdk::HealthState::degraded);
}

TEST(UnifonicSend, DuplicateOfOurOwnEarlierSendIsOk) {
  Fixture f;
  f.host.http_client.answer_json(200, refused("ER-09", "Duplicated message"));
  f.host.http_client.answer_json(
      200, R"({"success":true,"message":"","errorCode":"ER-00","data":{"messages":[{"MessageID":3200017891896,)"
           R"("CorrelationID":")" + kMid + R"(","Status":"Sent","DLR":"Delivered","NumberOfUnits":1,"Cost":0.05,)"
           R"("Recipient":"966501234567"}],"CurrencyCode":"SAR","TotalTextMessages":1}})");
  auto r = f.provider->send(f.message());
  ASSERT_EQ(r.outcome, Outcome::ok) << r.error.message;
  EXPECT_EQ(r.provider_message_id, "3200017891896");
  EXPECT_EQ(r.status, MessageStatus::delivered);
  ASSERT_TRUE(r.cost);
  EXPECT_EQ(r.cost->micros, 50000);
  ASSERT_EQ(f.host.http_client.requests.size(), 2u);
  const auto& lookup = f.host.http_client.requests[1];
  EXPECT_EQ(lookup.url, kBase + "/rest/SMS/Messages/GetMessagesDetails");
  EXPECT_EQ(sdk::form_value(testing::form_of(lookup), "CorrelationID"), kMid);
  EXPECT_EQ(sdk::form_value(testing::form_of(lookup), "AppSid"), kAppSid);
}

TEST(UnifonicSend, DuplicateOfAnotherMessageIsPermanent) {
  Fixture f;
  f.host.http_client.answer_json(409, refused("ER-09"));
  f.host.http_client.answer_json(200, R"({"success":true,"data":{"messages":[]}})");
  auto r = f.provider->send(f.message());
  EXPECT_EQ(r.outcome, Outcome::permanent);
  EXPECT_NE(r.error.message.find("duplicate"), std::string::npos);
}

TEST(UnifonicSend, DuplicateWhoseLookupFailsIsRetried) {
  Fixture f;
  f.host.http_client.answer_json(200, refused("ER-09"));
  f.host.http_client.fail(sdk::TransportError::timeout, "slow");
  EXPECT_EQ(f.provider->send(f.message()).outcome, Outcome::retry);
}

// The gateway's HTTP client gave up reading an answer past
// providers.<name>.http.max_response_bytes.
TEST(UnifonicSend, AnAnswerTooLargeToReadFailsWithResponseTooLarge) {
  Fixture f;
  f.host.http_client.fail(sdk::TransportError::other, "response-too-large");
  auto r = f.provider->send(f.message());
  EXPECT_EQ(r.outcome, Outcome::retry);
  EXPECT_EQ(r.error.code, "response-too-large");
}

TEST(UnifonicSend, HttpStatuses) {
  {
    Fixture f;
    f.host.http_client.answer_json(401, R"({"success":false,"message":"Authentication failed","errorCode":"ER-401"})");
    auto r = f.provider->send(f.message());
    EXPECT_EQ(r.outcome, Outcome::permanent);
    f.host.http_client.answer_json(401, "{}");
    EXPECT_EQ(f.provider->check_health().state, sdk::HealthState::unhealthy);
    f.expect_no_secrets_logged();
  }
  {
    Fixture f;
    f.host.http_client.answer(429, "", {{"Retry-After", "3"}});
    auto r = f.provider->send(f.message());
    EXPECT_EQ(r.outcome, Outcome::retry);
    EXPECT_EQ(r.retry_after, std::optional<std::chrono::milliseconds>(3000ms));
  }
  {
    Fixture f;
    f.host.http_client.answer(429, "");
    auto r = f.provider->send(f.message());
    EXPECT_EQ(r.outcome, Outcome::retry);
    EXPECT_FALSE(r.retry_after);
  }
  for (int status : {500, 503, 599}) {
    Fixture f;
    f.host.http_client.answer(status, "");
    EXPECT_EQ(f.provider->send(f.message()).outcome, Outcome::retry) << status;
  }
  {
    Fixture f;
    f.host.http_client.answer(482, "");
    auto r = f.provider->send(f.message());
    EXPECT_EQ(r.outcome, Outcome::permanent);
    EXPECT_EQ(r.error.code, "HTTP-482");
    EXPECT_EQ(r.error.message, "invalid destination number");
  }
  {
    Fixture f;
    f.host.http_client.fail(sdk::TransportError::connect, "refused");
    EXPECT_EQ(f.provider->send(f.message()).outcome, Outcome::retry);
  }
  {
    Fixture f;
    f.host.http_client.answer(200, "<html>maintenance</html>");
    EXPECT_EQ(f.provider->send(f.message()).outcome, Outcome::retry);
  }
}

TEST(UnifonicSend, LocalChecks) {
  Fixture f;
  auto m = f.message();
  m.to = "not a number";
  EXPECT_EQ(f.provider->send(m).outcome, Outcome::permanent);
  m = f.message();
  m.body.clear();
  m.provider_template = "tpl";
  EXPECT_EQ(f.provider->send(m).outcome, Outcome::permanent);
  EXPECT_TRUE(f.host.http_client.requests.empty());
  EXPECT_EQ(recipient_digits("+966501234567"), "966501234567");
  EXPECT_EQ(recipient_digits("00966501234567"), "966501234567");
  EXPECT_EQ(recipient_digits("+9665O1234567"), "");
}

TEST(UnifonicFetch, RequestAndMapping) {
  Fixture f;
  f.host.http_client.answer_json(
      200, R"({"success":"true","message":"","errorCode":"ER-00","data":{"messages":[{"MessageID":3200017891896,)"
           R"("CorrelationID":"","Status":"Sent","MessageBody":"test","Country":"World","DLR":"Undeliverable",)"
           R"("NumberOfUnits":1,"Cost":0.05,"SenderID":"sender","Recipient":"966000000000"}],"CurrencyCode":"SAR",)"
           R"("TotalTextMessages":1,"Next":"","Prev":""}})");
  auto r = f.provider->fetch_status("3200017891896");
  const auto& req = f.host.http_client.requests.at(0);
  EXPECT_EQ(req.url, kBase + "/rest/SMS/Messages/GetMessagesDetails");
  EXPECT_EQ(sdk::form_value(testing::form_of(req), "MessageID"), "3200017891896");
  EXPECT_EQ(sdk::form_value(testing::form_of(req), "AppSid"), kAppSid);
  EXPECT_EQ(r.outcome, Outcome::ok);
  EXPECT_EQ(r.status, MessageStatus::undelivered);
  EXPECT_EQ(r.error.code, "Undeliverable");
  EXPECT_EQ(r.segments, 1);
  ASSERT_TRUE(r.cost);
  EXPECT_EQ(r.cost->currency, "SAR");
}

TEST(UnifonicFetch, NotFoundRetryAndBadId) {
  Fixture f;
  f.host.http_client.answer_json(200, R"({"success":true,"data":{"messages":[]}})");
  f.host.http_client.answer(503, "");
  f.host.http_client.answer_json(432, R"({"success":false,"message":"MessageId must be numeric","errorCode":""})");
  auto unknown = f.provider->fetch_status("1");
  EXPECT_EQ(unknown.outcome, Outcome::permanent);
  EXPECT_TRUE(unknown.message_unknown);  // Unifonic answered: it has no such message
  EXPECT_EQ(unknown.error.code, "NOT-FOUND");
  auto down = f.provider->fetch_status("1");
  EXPECT_EQ(down.outcome, Outcome::retry);
  EXPECT_FALSE(down.message_unknown);
  auto refused = f.provider->fetch_status("2");
  EXPECT_EQ(refused.outcome, Outcome::permanent);
  EXPECT_FALSE(refused.message_unknown);
  EXPECT_EQ(f.provider->fetch_status("abc").outcome, Outcome::permanent);
  EXPECT_EQ(f.host.http_client.requests.size(), 3u);
}

TEST(UnifonicStatusWords, Mapping) {
  for (auto w : {"Delivered", "delivered", "DELIVERED"}) EXPECT_EQ(map_status(w), MessageStatus::delivered) << w;
  for (auto w : {"Undelivered", "Undeliverable", "Expired", "Deleted"})
    EXPECT_EQ(map_status(w), MessageStatus::undelivered) << w;
  for (auto w : {"Rejected", "Failed"}) EXPECT_EQ(map_status(w), MessageStatus::failed) << w;
  for (auto w : {"Sent", "Queued", "Enroute", "Accepted", "Pending"}) EXPECT_EQ(map_status(w), MessageStatus::sent) << w;
  EXPECT_EQ(map_status("Unknown"), std::nullopt);
  EXPECT_EQ(map_status("Delivery not confirmed"), std::nullopt);
}

TEST(UnifonicWebhook, JsonReport) {
  Fixture f;
  auto r = f.provider->parse_callback(f.dlr(R"({"MessageID":42000348806924,"DLR":"Delivered","Recipient":"966501234567",)"
                                            R"("CorrelationID":")" + kMid + R"(","TimeCreated":"2024-01-01 10:00:00",)"
                                            R"("SCTS":"x","DLRTimestamp":"y","SomethingNew":{"a":1}})"));
  ASSERT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted) << r.reason;
  ASSERT_EQ(r.status_updates.size(), 1u);
  EXPECT_EQ(r.status_updates[0].provider_message_id, "42000348806924");
  EXPECT_EQ(r.status_updates[0].message_id, kMid);
  EXPECT_EQ(r.status_updates[0].status, MessageStatus::delivered);
  EXPECT_EQ(r.http_status, 200);
}

TEST(UnifonicWebhook, FormReportWithStatusField) {
  Fixture f;
  auto r = f.provider->parse_callback(
      f.dlr("MessageID=42000348806924&Status=Undeliverable&Recipient=966501234567", "application/x-www-form-urlencoded"));
  ASSERT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted) << r.reason;
  EXPECT_EQ(r.status_updates.at(0).status, MessageStatus::undelivered);
  EXPECT_EQ(r.status_updates.at(0).error.code, "Undeliverable");
  EXPECT_TRUE(r.status_updates.at(0).message_id.empty());
}

TEST(UnifonicWebhook, StatusWordsOfReports) {
  for (auto [word, expected] : std::vector<std::pair<std::string, MessageStatus>>{{"Delivered", MessageStatus::delivered},
                                                                                  {"Undelivered", MessageStatus::undelivered},
                                                                                  {"Undeliverable", MessageStatus::undelivered},
                                                                                  {"Rejected", MessageStatus::failed},
                                                                                  {"Failed", MessageStatus::failed},
                                                                                  {"Expired", MessageStatus::undelivered},
                                                                                  {"Sent", MessageStatus::sent},
                                                                                  {"Queued", MessageStatus::sent},
                                                                                  {"Enroute", MessageStatus::sent},
                                                                                  {"Accepted", MessageStatus::sent}}) {
    Fixture f;
    auto r = f.provider->parse_callback(f.dlr(R"({"MessageID":"1","DLR":")" + word + R"("})"));
    ASSERT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted) << word;
    ASSERT_EQ(r.status_updates.size(), 1u) << word;
    EXPECT_EQ(r.status_updates[0].status, expected) << word;
  }
}

TEST(UnifonicWebhook, ArrayOfReportsAndUnknownStatusIgnored) {
  Fixture f;
  auto r = f.provider->parse_callback(
      f.dlr(R"([{"MessageID":1,"DLR":"Delivered"},{"MessageID":2,"DLR":"Unknown"},{"messageId":"3","status":"Sent"}])"));
  ASSERT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted) << r.reason;
  ASSERT_EQ(r.status_updates.size(), 2u);
  EXPECT_EQ(r.status_updates[1].provider_message_id, "3");
}

TEST(UnifonicWebhook, MissingRequiredFieldsAreMalformed) {
  Fixture f;
  EXPECT_EQ(f.provider->parse_callback(f.dlr(R"({"DLR":"Delivered","Recipient":"9665"})")).verdict,
            sdk::CallbackResult::Verdict::bad_request);
  EXPECT_EQ(f.provider->parse_callback(f.dlr(R"({"MessageID":1})")).verdict, sdk::CallbackResult::Verdict::bad_request);
  EXPECT_EQ(f.provider->parse_callback(f.dlr(R"({"MessageID":1,)")).verdict, sdk::CallbackResult::Verdict::bad_request);
  EXPECT_EQ(f.provider->parse_callback(f.dlr("")).verdict, sdk::CallbackResult::Verdict::bad_request);
  auto inbound = f.dlr(R"({"MessageID":1,"DLR":"Delivered"})");
  inbound.kind = "inbound";
  EXPECT_EQ(f.provider->parse_callback(inbound).verdict, sdk::CallbackResult::Verdict::bad_request);
}

TEST(UnifonicWebhook, CorrelationIdAloneIsEnough) {
  Fixture f;
  auto r = f.provider->parse_callback(f.dlr(R"({"CorrelationID":")" + kMid + R"(","DLR":"Delivered"})"));
  ASSERT_EQ(r.verdict, sdk::CallbackResult::Verdict::accepted);
  EXPECT_EQ(r.status_updates.at(0).message_id, kMid);
}

TEST(UnifonicWebhook, TokenWhenASecretIsSet) {
  Fixture f({{"webhook_secret", kHookSecret}});
  const std::string body = R"({"MessageID":1,"DLR":"Delivered"})";
  const std::string url = f.host.webhook_url("status");
  EXPECT_EQ(f.provider->parse_callback(f.dlr(body, "application/json", url + "?token=" + kHookSecret)).verdict,
            sdk::CallbackResult::Verdict::accepted);
  auto with_header = f.dlr(body);
  with_header.headers.emplace_back("x-webhook-token", kHookSecret);
  EXPECT_EQ(f.provider->parse_callback(with_header).verdict, sdk::CallbackResult::Verdict::accepted);
  EXPECT_EQ(f.provider->parse_callback(f.dlr(body)).verdict, sdk::CallbackResult::Verdict::forbidden);
  EXPECT_EQ(f.provider->parse_callback(f.dlr(body, "application/json", url + "?token=nope")).verdict,
            sdk::CallbackResult::Verdict::forbidden);
  f.expect_no_secrets_logged();
}

TEST(UnifonicWebhook, WithoutASecretReportsAreAcceptedAsTheyCome) {
  Fixture f;
  EXPECT_EQ(f.provider->parse_callback(f.dlr(R"({"MessageID":1,"DLR":"Delivered"})")).verdict,
            sdk::CallbackResult::Verdict::accepted);
}

TEST(UnifonicHealth, States) {
  Fixture f;
  f.host.http_client.answer_json(200, R"({"success":true,"data":{"messages":[]}})");
  f.host.http_client.answer(503, "");
  f.host.http_client.fail(sdk::TransportError::connect, "refused");
  f.host.http_client.answer_json(200, R"({"success":false,"message":"No messages","errorCode":"ER-10"})");
  EXPECT_EQ(f.provider->check_health().state, sdk::HealthState::healthy);
  EXPECT_EQ(f.provider->check_health().state, sdk::HealthState::degraded);
  EXPECT_EQ(f.provider->check_health().state, sdk::HealthState::unhealthy);
  EXPECT_EQ(f.provider->check_health().state, sdk::HealthState::healthy);
  EXPECT_EQ(sdk::form_value(testing::form_of(f.host.http_client.requests.at(0)), "AppSid"), kAppSid);
}

// Without webhook_secret, delivery reports prove nothing: a warning at start
// when the plugin asks Unifonic to post them, an info line otherwise.
// Without webhook_secret nothing proves a report came from Unifonic: the
// instance says so, and the gateway refuses it unless the operator allows it.
TEST(UnifonicConfig, WithoutAWebhookSecretTheInstanceSaysItsReportsAreUnauthenticated) {
  const std::vector<std::pair<std::string, std::string>> base = {
      {"app_sid", kAppSid}, {"sender_id", "Clinic"}, {"base_url", kBase}};
  for (const char* status_callback : {"true", "false"}) {
    TestHost host;
    auto values = base;
    values.emplace_back("status_callback", status_callback);
    auto r = create_provider(testing::config_of(config_keys(), values), host);
    ASSERT_TRUE(r.provider) << r.error;
    EXPECT_NE(r.unauthenticated_callbacks.find("webhook_secret"), std::string::npos) << status_callback;
  }
  TestHost host;
  auto values = base;
  values.emplace_back("webhook_secret", kHookSecret);
  auto r = create_provider(testing::config_of(config_keys(), values), host);
  ASSERT_TRUE(r.provider) << r.error;
  EXPECT_EQ(r.unauthenticated_callbacks, "");
  EXPECT_TRUE(host.log.lines.empty()) << host.log.all();
}

TEST(UnifonicConfig, Errors) {
  TestHost host;
  auto r = create_provider(testing::config_of(config_keys(), {}), host);
  ASSERT_FALSE(r.provider);
  EXPECT_NE(r.error.find("'app_sid'"), std::string::npos);
  r = create_provider(testing::config_of(config_keys(), {{"app_sid", kAppSid}, {"webhook_secret", "short"}}), host);
  EXPECT_NE(r.error.find("'webhook_secret'"), std::string::npos);
  r = create_provider(testing::config_of(config_keys(), {{"app_sid", kAppSid}, {"webhook_secret", "has spaces and & in it!"}}),
                      host);
  EXPECT_NE(r.error.find("'webhook_secret'"), std::string::npos);
  EXPECT_EQ(r.error.find("has spaces"), std::string::npos);
  r = create_provider(testing::config_of(config_keys(), {{"app_sid", kAppSid}, {"base_url", "nope"}}), host);
  EXPECT_NE(r.error.find("'base_url'"), std::string::npos);
  EXPECT_EQ(r.error.find(kAppSid), std::string::npos);
  for (const auto& k : config_keys()) {
    if (k.name == "app_sid") {
      EXPECT_TRUE(k.required && k.secret);
    }
    if (k.name == "webhook_secret") {
      EXPECT_TRUE(k.secret);
    }
  }
}

}  // namespace
}  // namespace barid::plugins::unifonic
