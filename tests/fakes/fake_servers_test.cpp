// The fake provider servers, started as the separate programs they are and
// talked to over HTTP: their protocol, their scripted behaviours and their
// webhooks. The second half drives the real Twilio and Unifonic provider
// code against them (the core's libcurl client, a webhook receiver on
// 127.0.0.1), so the fakes' independent signer and the plugins' verifier
// check each other.
#include "child_process.hpp"
#include "fake_process.hpp"
#include "fake_server.hpp"
#include "test_host.hpp"
#include "twilio/twilio_provider.hpp"
#include "twilio/twilio_signature.hpp"
#include "unifonic/unifonic_provider.hpp"
#include "test_http_client.hpp"

#include <barid/core/http_client.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <regex>

namespace barid::fakes {
namespace {

using barid::testing::client_options;

using namespace std::chrono;
using nlohmann::json;
using barid::testing::ChildProcess;
using barid::testing::eventually;

const std::string kAccount = "AC" + std::string(32, '1');
const std::string kToken = "fake-test-token";
const std::string kAppSid = "fake-test-app-sid";
const std::string kContent = "HX" + std::string(32, '2');

// Receives webhooks on 127.0.0.1 and lets a test wait for them.
class Receiver {
 public:
  Receiver()
      : server_([this](const FakeRequest& r) {
          std::lock_guard lock(mutex_);
          got_.push_back(r);
          cv_.notify_all();
          FakeResponse resp;
          resp.content_type = "text/plain";
          return resp;
        }) {
    server_.start();
  }
  std::string url(const std::string& path) const { return server_.base_url() + path; }
  // The first n requests, waiting up to `timeout` for them.
  std::vector<FakeRequest> wait_for(std::size_t n, milliseconds timeout = seconds(10)) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return got_.size() >= n; });
    return got_;
  }
  // The first request to `path`, waiting up to `timeout` for it.
  std::optional<FakeRequest> wait_for_path(const std::string& path, milliseconds timeout = seconds(10)) {
    std::unique_lock lock(mutex_);
    std::optional<FakeRequest> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& r : got_)
        if (r.path == path) found = r;
      return found.has_value();
    });
    return found;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<FakeRequest> got_;
  FakeHttpServer server_;
};

struct Http {
  core::CurlHttpClient client{client_options(milliseconds(2000), milliseconds(5000), "barid-test")};

  sdk::HttpResponse call(const std::string& method, const std::string& url, const std::string& body = {},
                         const std::string& content_type = "application/x-www-form-urlencoded",
                         std::optional<sdk::BasicAuth> auth = std::nullopt,
                         std::optional<milliseconds> timeout = std::nullopt) {
    sdk::HttpRequest r;
    r.method = method;
    r.url = url;
    r.body = body;
    if (!body.empty()) r.headers = {{"Content-Type", content_type}};
    r.basic_auth = std::move(auth);
    r.timeout = timeout;
    return client.perform(r);
  }
  json control(const std::string& method, const std::string& url, const json& body = json::object()) {
    auto r = call(method, url, body.dump(), "application/json");
    EXPECT_EQ(r.status, 200) << url << ": " << r.body;
    return json::parse(r.body);
  }
};

// The URL the fake signed: what a gateway would rebuild for its webhook.
std::string url_of(const Receiver& rx, const FakeRequest& r) {
  std::string url = rx.url(r.path);
  for (std::size_t i = 0; i < r.query.size(); ++i)
    url += (i == 0 ? "?" : "&") + r.query[i].first + "=" + r.query[i].second;
  return url;
}

sdk::CallbackRequest callback_of(const Receiver& rx, const FakeRequest& r, std::string kind) {
  sdk::CallbackRequest cb;
  cb.kind = std::move(kind);
  cb.method = r.method;
  cb.url = url_of(rx, r);
  cb.body = r.body;
  for (const auto& h : r.headers) cb.headers.push_back(h);
  return cb;
}

// ================================================================== fake Twilio

class FakeTwilioTest : public ::testing::Test {
 protected:
  FakeTwilioTest() : fake(BARID_FAKE_TWILIO, {"--account-sid", kAccount, "--auth-token", kToken}) {}

  std::string messages_url() const { return fake.base() + "/2010-04-01/Accounts/" + kAccount + "/Messages.json"; }
  sdk::HttpResponse create(const Fields& form, std::optional<milliseconds> timeout = std::nullopt,
                           sdk::BasicAuth auth = {kAccount, kToken}) {
    return http.call("POST", messages_url(), encode_form(form), "application/x-www-form-urlencoded", auth, timeout);
  }
  void rule(const json& r) { http.control("POST", fake.base() + "/_control/rules", r); }
  json fetch(const std::string& sid) {
    auto r = http.call("GET", fake.base() + "/2010-04-01/Accounts/" + kAccount + "/Messages/" + sid + ".json", {}, {},
                       sdk::BasicAuth{kAccount, kToken});
    return json::parse(r.body);
  }

  FakeProcess fake;
  Http http;
  plugins::testing::OpenSslCrypto crypto;
  Receiver rx;
};

TEST_F(FakeTwilioTest, CreateAnswersLikeTwilioAndTheMessageProgresses) {
  auto r = create({{"To", "+15558675310"}, {"From", "+15017122661"}, {"Body", "Hello"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const json m = json::parse(r.body);
  const std::string sid = m.at("sid");
  EXPECT_TRUE(std::regex_match(sid, std::regex("SM[0-9a-f]{32}"))) << sid;
  EXPECT_EQ(m.at("status"), "queued");
  EXPECT_EQ(m.at("num_segments"), "1");
  EXPECT_TRUE(m.at("price").is_null());
  EXPECT_EQ(m.at("to"), "+15558675310");
  EXPECT_EQ(m.at("account_sid"), kAccount);
  EXPECT_TRUE(eventually([&] { return fetch(sid).value("status", "") == "delivered"; }, seconds(5)));
  EXPECT_EQ(fetch(sid).at("price"), "-0.00750");
}

TEST_F(FakeTwilioTest, BasicAuthIsChecked) {
  const Fields ok = {{"To", "+15558675310"}, {"From", "+15017122661"}, {"Body", "Hello"}};
  auto none = http.call("POST", messages_url(), encode_form(ok));
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(json::parse(none.body).at("code"), 20003);
  EXPECT_EQ(create(ok, std::nullopt, {kAccount, "wrong"}).status, 401);
  auto other = http.call("POST", fake.base() + "/2010-04-01/Accounts/AC" + std::string(32, '9') + "/Messages.json",
                         encode_form(ok), "application/x-www-form-urlencoded", sdk::BasicAuth{kAccount, kToken});
  EXPECT_EQ(other.status, 404);
}

TEST_F(FakeTwilioTest, ValidationAndMagicNumbers) {
  auto no_to = create({{"From", "+15017122661"}, {"Body", "x"}});
  EXPECT_EQ(no_to.status, 400);
  EXPECT_EQ(json::parse(no_to.body).at("code"), 21604);
  for (auto [to, code] : std::vector<std::pair<std::string, int>>{
           {"+15005550001", 21211}, {"+15005550004", 21610}, {"+15005550009", 21614}}) {
    auto r = create({{"To", to}, {"From", "+15017122661"}, {"Body", "x"}});
    EXPECT_EQ(r.status, 400) << to;
    const json e = json::parse(r.body);
    EXPECT_EQ(e.at("code"), code);
    EXPECT_EQ(e.at("status"), 400);
    EXPECT_EQ(e.at("more_info"), "https://www.twilio.com/docs/errors/" + std::to_string(code));
    EXPECT_FALSE(e.at("message").get<std::string>().empty());
  }
}

TEST_F(FakeTwilioTest, ScriptedRateLimitsAndServerErrors) {
  rule({{"to", "+15550000001"}, {"status", 429}, {"retry_after", "2"}, {"times", 1}});
  rule({{"to", "+15550000002"}, {"status", 429}, {"times", 1}});
  rule({{"to", "+15550000003"}, {"status", 503}, {"times", 2}});
  auto with = create({{"To", "+15550000001"}, {"From", "+1555"}, {"Body", "x"}});
  EXPECT_EQ(with.status, 429);
  EXPECT_EQ(json::parse(with.body).at("code"), 20429);
  EXPECT_EQ(with.header("Retry-After"), "2");
  auto without = create({{"To", "+15550000002"}, {"From", "+1555"}, {"Body", "x"}});
  EXPECT_EQ(without.status, 429);
  EXPECT_EQ(without.header("Retry-After"), "");
  EXPECT_EQ(create({{"To", "+15550000003"}, {"From", "+1555"}, {"Body", "x"}}).status, 503);
  EXPECT_EQ(create({{"To", "+15550000003"}, {"From", "+1555"}, {"Body", "x"}}).status, 503);
  EXPECT_EQ(create({{"To", "+15550000003"}, {"From", "+1555"}, {"Body", "x"}}).status, 201);
  EXPECT_EQ(create({{"To", "+15550000001"}, {"From", "+1555"}, {"Body", "x"}}).status, 201);
}

TEST_F(FakeTwilioTest, SlowAnswersDoNotBlockOtherRequests) {
  rule({{"to", "+15550000010"}, {"delay_ms", 1500}, {"times", 1}});
  const auto start = steady_clock::now();
  auto slow = create({{"To", "+15550000010"}, {"From", "+1555"}, {"Body", "x"}}, milliseconds(200));
  EXPECT_EQ(slow.error, sdk::TransportError::timeout);
  auto fast = create({{"To", "+15550000011"}, {"From", "+1555"}, {"Body", "x"}});
  EXPECT_EQ(fast.status, 201);
  EXPECT_LT(steady_clock::now() - start, milliseconds(1400));
}

TEST_F(FakeTwilioTest, SignedStatusCallbacksInOrder) {
  const std::string cb = rx.url("/webhooks/tw/status?mid=m-1");
  auto r = create({{"To", "+15558675310"}, {"From", "+15017122661"}, {"Body", "Hello"}, {"StatusCallback", cb}});
  ASSERT_EQ(r.status, 201);
  const std::string sid = json::parse(r.body).at("sid");
  auto got = rx.wait_for(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(field(parse_form(got[0].body), "MessageStatus"), "sent");
  EXPECT_EQ(field(parse_form(got[1].body), "MessageStatus"), "delivered");
  for (const auto& g : got) {
    EXPECT_EQ(g.path, "/webhooks/tw/status");
    EXPECT_EQ(field(g.query, "mid"), "m-1");
    EXPECT_EQ(field(parse_form(g.body), "MessageSid"), sid);
    EXPECT_EQ(plugins::twilio::verify_signature(crypto, kToken, callback_of(rx, g, "status")),
              plugins::twilio::SignatureCheck::valid);
  }
  EXPECT_TRUE(eventually([&] { return http.control("GET", fake.base() + "/_control/callbacks")["callbacks"].size() == 2; },
                         seconds(5)));
}

TEST_F(FakeTwilioTest, OutOfOrderAndBadlySignedCallbacksOnRequest) {
  rule({{"to", "+15550000020"}, {"order", "reversed"}, {"progression", {"sent", "undelivered"}}, {"error_code", 30003}});
  rule({{"to", "+15550000021"}, {"signature", "invalid"}, {"progression", {"sent"}}});
  rule({{"to", "+15550000022"}, {"signature", "missing"}, {"progression", {"sent"}}});
  create({{"To", "+15550000020"}, {"From", "+1555"}, {"Body", "x"}, {"StatusCallback", rx.url("/a")}});
  auto got = rx.wait_for(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(field(parse_form(got[0].body), "MessageStatus"), "undelivered");
  EXPECT_EQ(field(parse_form(got[0].body), "ErrorCode"), "30003");
  EXPECT_EQ(field(parse_form(got[1].body), "MessageStatus"), "sent");

  create({{"To", "+15550000021"}, {"From", "+1555"}, {"Body", "x"}, {"StatusCallback", rx.url("/b")}});
  got = rx.wait_for(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_FALSE(got[2].header("X-Twilio-Signature").empty());
  EXPECT_EQ(plugins::twilio::verify_signature(crypto, kToken, callback_of(rx, got[2], "status")),
            plugins::twilio::SignatureCheck::mismatch);

  create({{"To", "+15550000022"}, {"From", "+1555"}, {"Body", "x"}, {"StatusCallback", rx.url("/c")}});
  got = rx.wait_for(4);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[3].header("X-Twilio-Signature"), "");
}

TEST_F(FakeTwilioTest, WhatsAppTemplateAndReadReceipt) {
  rule({{"to", "+15550000030"}, {"progression", {"sent", "delivered", "read"}}});
  auto r = create({{"To", "whatsapp:+15550000030"},
                   {"From", "whatsapp:+14155238886"},
                   {"ContentSid", kContent},
                   {"ContentVariables", R"({"1":"Sara"})"},
                   {"StatusCallback", rx.url("/wa")}});
  ASSERT_EQ(r.status, 201) << r.body;
  auto got = rx.wait_for(3);
  ASSERT_EQ(got.size(), 3u);
  const auto read = parse_form(got[2].body);
  EXPECT_EQ(field(read, "MessageStatus"), "read");
  EXPECT_EQ(field(read, "EventType"), "READ");
  EXPECT_EQ(field(read, "ChannelPrefix"), "whatsapp");
  auto messages = http.control("GET", fake.base() + "/_control/messages")["messages"];
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]["content_sid"], kContent);
  EXPECT_EQ(create({{"To", "whatsapp:+1555"}, {"From", "whatsapp:+1444"}, {"ContentSid", "HX1"}}).status, 400);
  EXPECT_EQ(create({{"To", "+1555"}, {"From", "whatsapp:+1444"}, {"Body", "x"}}).status, 400);
}

TEST_F(FakeTwilioTest, InboundStopAndRequestJournal) {
  auto r = http.control("POST", fake.base() + "/_control/inbound",
                        {{"url", rx.url("/webhooks/tw/inbound")}, {"from", "+966501234567"}, {"to", "+15017122661"},
                         {"body", "STOP"}});
  EXPECT_EQ(r["http_status"], 200);
  auto got = rx.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(field(parse_form(got[0].body), "Body"), "STOP");
  EXPECT_EQ(plugins::twilio::verify_signature(crypto, kToken, callback_of(rx, got[0], "inbound")),
            plugins::twilio::SignatureCheck::valid);

  create({{"To", "+15558675310"}, {"From", "+15017122661"}, {"Body", "journal me"}});
  auto requests = http.control("GET", fake.base() + "/_control/requests")["requests"];
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["auth_user"], kAccount);
  EXPECT_EQ(requests[0]["method"], "POST");
  EXPECT_EQ(requests[0].dump().find(kToken), std::string::npos);
}

TEST_F(FakeTwilioTest, StopsOnSigterm) {
  fake.process().signal(SIGTERM);
  EXPECT_EQ(fake.process().wait_exit(seconds(10)), std::optional<int>(0));
}

// ================================================================== fake Unifonic

class FakeUnifonicTest : public ::testing::Test {
 protected:
  FakeUnifonicTest() : fake(BARID_FAKE_UNIFONIC, {"--app-sid", kAppSid}) {}
  sdk::HttpResponse send(const Fields& form) {
    return http.call("POST", fake.base() + "/rest/SMS/messages", encode_form(form));
  }
  void rule(const json& r) { http.control("POST", fake.base() + "/_control/rules", r); }

  FakeProcess fake;
  Http http;
  Receiver rx;
};

TEST_F(FakeUnifonicTest, SendAnswersTheEnvelopeWithANumericMessageId) {
  auto r = send({{"AppSid", kAppSid}, {"Recipient", "966501234567"}, {"Body", "hello"}, {"CorrelationID", "c-1"}});
  ASSERT_EQ(r.status, 200);
  const json j = json::parse(r.body);
  EXPECT_EQ(j.at("success"), true);
  EXPECT_EQ(j.at("errorCode"), "ER-00");
  EXPECT_TRUE(j.at("data").at("MessageID").is_number_unsigned());
  EXPECT_EQ(j.at("data").at("CorrelationID"), "c-1");
  EXPECT_EQ(j.at("data").at("NumberOfUnits"), 1);
  // Parameters in the query string work too (Unifonic's spec puts them there).
  auto q = http.call("POST", fake.base() + "/rest/SMS/messages?AppSid=" + kAppSid + "&Recipient=966501234567&Body=hi");
  EXPECT_EQ(json::parse(q.body).at("success"), true);
}

TEST_F(FakeUnifonicTest, AuthenticationAndValidation) {
  EXPECT_EQ(send({{"Recipient", "966501234567"}, {"Body", "x"}}).status, 402);
  EXPECT_EQ(send({{"AppSid", "nope"}, {"Recipient", "966501234567"}, {"Body", "x"}}).status, 401);
  auto plus = send({{"AppSid", kAppSid}, {"Recipient", "+966501234567"}, {"Body", "x"}});
  EXPECT_EQ(json::parse(plus.body).at("errorCode"), "ER-02");
  EXPECT_EQ(json::parse(plus.body).at("success"), false);
  auto empty = send({{"AppSid", kAppSid}, {"Recipient", "966501234567"}, {"Body", ""}});
  EXPECT_EQ(json::parse(empty.body).at("errorCode"), "ER-06");
}

TEST_F(FakeUnifonicTest, ScriptedAnswers) {
  rule({{"to", "966500000001"}, {"error_code", "ER-01"}, {"message", "Insufficient balance"}});
  rule({{"to", "966500000002"}, {"success_as_string", true}});
  rule({{"to", "966500000003"}, {"http_status", 429}, {"retry_after", "4"}, {"times", 1}});
  EXPECT_EQ(json::parse(send({{"AppSid", kAppSid}, {"Recipient", "966500000001"}, {"Body", "x"}}).body)["errorCode"],
            "ER-01");
  EXPECT_EQ(json::parse(send({{"AppSid", kAppSid}, {"Recipient", "966500000002"}, {"Body", "x"}}).body)["success"],
            "true");
  auto limited = send({{"AppSid", kAppSid}, {"Recipient", "966500000003"}, {"Body", "x"}});
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("Retry-After"), "4");
  EXPECT_EQ(send({{"AppSid", kAppSid}, {"Recipient", "966500000003"}, {"Body", "x"}}).status, 200);
}

TEST_F(FakeUnifonicTest, DeliveryReportsAndDetails) {
  rule({{"to", "966501234567"}, {"progression", {"Sent", "Delivered"}}});
  auto r = send({{"AppSid", kAppSid},
                 {"Recipient", "966501234567"},
                 {"Body", "hello"},
                 {"CorrelationID", "c-2"},
                 {"statusCallback", rx.url("/webhooks/uf/status?token=t")}});
  const auto id = json::parse(r.body)["data"]["MessageID"].get<std::uint64_t>();
  auto got = rx.wait_for(2);
  ASSERT_EQ(got.size(), 2u);
  const json dlr = json::parse(got[1].body);
  EXPECT_EQ(dlr.at("MessageID"), id);
  EXPECT_EQ(dlr.at("DLR"), "Delivered");
  EXPECT_EQ(dlr.at("CorrelationID"), "c-2");
  EXPECT_EQ(field(got[1].query, "token"), "t");

  auto details = http.call("POST", fake.base() + "/rest/SMS/Messages/GetMessagesDetails",
                           encode_form({{"AppSid", kAppSid}, {"MessageID", std::to_string(id)}}));
  const json d = json::parse(details.body);
  ASSERT_EQ(d["data"]["messages"].size(), 1u);
  EXPECT_EQ(d["data"]["messages"][0]["DLR"], "Delivered");
  auto bad = http.call("POST", fake.base() + "/rest/SMS/Messages/GetMessagesDetails",
                       encode_form({{"AppSid", kAppSid}, {"MessageID", "x1"}}));
  EXPECT_EQ(bad.status, 432);
}

// ================================================================== plugins against the fakes

class RealHost final : public sdk::HostContext {
 public:
  RealHost(std::string webhook_base, milliseconds timeout)
      : http_(client_options(milliseconds(2000), timeout, "barid-test")),
        webhook_base_(std::move(webhook_base)) {}
  sdk::HttpClient& http() noexcept override { return http_; }
  sdk::Logger& logger() noexcept override { return log; }
  const sdk::Crypto& crypto() const noexcept override { return crypto_; }
  std::chrono::system_clock::time_point now() const noexcept override { return system_clock::now(); }
  std::string webhook_url(std::string_view kind) const override { return webhook_base_ + "/" + std::string(kind); }
  plugins::testing::RecordingLogger log;

 private:
  core::CurlHttpClient http_;
  plugins::testing::OpenSslCrypto crypto_;
  std::string webhook_base_;
};

TEST_F(FakeTwilioTest, TwilioPluginEndToEnd) {
  RealHost host(rx.url("/webhooks/tw"), milliseconds(1000));
  auto created = plugins::twilio::create_provider(
      plugins::testing::config_of(plugins::twilio::config_keys(sdk::Channel::sms),
                                  {{"account_sid", kAccount}, {"auth_token", kToken}, {"from", "+15017122661"},
                                   {"base_url", fake.base()}}),
      host, sdk::Channel::sms);
  ASSERT_TRUE(created.provider) << created.error;
  auto& p = *created.provider;

  sdk::OutboundMessage m;
  m.id = "2b7c0d4e-1f2a-4b3c-8d9e-0a1b2c3d4e5f";
  m.to = "+966501234567";
  m.body = "مرحبا";
  m.status_callback_url = host.webhook_url("status");
  auto sent = p.send(m);
  ASSERT_EQ(sent.outcome, sdk::Outcome::ok) << sent.error.code << " " << sent.error.message;
  EXPECT_EQ(sent.status, sdk::MessageStatus::sent);

  auto got = rx.wait_for(2);
  ASSERT_EQ(got.size(), 2u);
  auto cb = p.parse_callback(callback_of(rx, got[1], "status"));
  ASSERT_EQ(cb.verdict, sdk::CallbackResult::Verdict::accepted) << cb.reason;
  ASSERT_EQ(cb.status_updates.size(), 1u);
  EXPECT_EQ(cb.status_updates[0].message_id, m.id);
  EXPECT_EQ(cb.status_updates[0].provider_message_id, sent.provider_message_id);
  EXPECT_EQ(cb.status_updates[0].status, sdk::MessageStatus::delivered);

  auto polled = p.fetch_status(sent.provider_message_id);
  EXPECT_EQ(polled.outcome, sdk::Outcome::ok);
  EXPECT_EQ(polled.status, sdk::MessageStatus::delivered);
  ASSERT_TRUE(polled.cost);
  EXPECT_EQ(polled.cost->micros, 7500);

  // Errors through real HTTP.
  rule({{"to", "+15550000040"}, {"status", 429}, {"retry_after", "3"}, {"times", 1}});
  rule({{"to", "+15550000041"}, {"delay_ms", 3000}, {"times", 1}});
  m.to = "+15550000040";
  auto limited = p.send(m);
  EXPECT_EQ(limited.outcome, sdk::Outcome::retry);
  EXPECT_EQ(limited.retry_after, std::optional<milliseconds>(milliseconds(3000)));
  m.to = "+15005550004";
  auto stopped = p.send(m);
  EXPECT_EQ(stopped.outcome, sdk::Outcome::permanent);
  EXPECT_TRUE(stopped.recipient_opted_out);
  m.to = "+15550000041";
  auto slow = p.send(m);
  EXPECT_EQ(slow.outcome, sdk::Outcome::retry);
  EXPECT_EQ(slow.error.code, "TIMEOUT");
  EXPECT_EQ(p.check_health().state, sdk::HealthState::healthy);

  // Inbound STOP through the plugin.
  http.control("POST", fake.base() + "/_control/inbound",
               {{"url", rx.url("/webhooks/tw/inbound")}, {"from", "+966501234567"}, {"body", "STOP"}});
  auto inbound = rx.wait_for_path("/webhooks/tw/inbound");
  ASSERT_TRUE(inbound);
  auto in = p.parse_callback(callback_of(rx, *inbound, "inbound"));
  ASSERT_EQ(in.verdict, sdk::CallbackResult::Verdict::accepted) << in.reason;
  EXPECT_EQ(in.inbound_messages.at(0).body, "STOP");
  EXPECT_EQ(host.log.all().find(kToken), std::string::npos);
}

TEST_F(FakeTwilioTest, TwilioPluginBadCredentials) {
  RealHost host(rx.url("/webhooks/tw"), milliseconds(2000));
  auto created = plugins::twilio::create_provider(
      plugins::testing::config_of(plugins::twilio::config_keys(sdk::Channel::whatsapp),
                                  {{"account_sid", kAccount}, {"auth_token", "not-the-token"}, {"from", "+14155238886"},
                                   {"base_url", fake.base()}}),
      host, sdk::Channel::whatsapp);
  ASSERT_TRUE(created.provider);
  sdk::OutboundMessage m;
  m.id = "x";
  m.to = "+966501234567";
  m.provider_template = kContent;
  m.template_variables = {"a"};
  auto r = created.provider->send(m);
  EXPECT_EQ(r.outcome, sdk::Outcome::permanent);
  EXPECT_EQ(r.error.code, "20003");
  EXPECT_EQ(created.provider->check_health().state, sdk::HealthState::unhealthy);
}

TEST_F(FakeUnifonicTest, UnifonicPluginEndToEnd) {
  RealHost host(rx.url("/webhooks/uf"), milliseconds(2000));
  auto created = plugins::unifonic::create_provider(
      plugins::testing::config_of(plugins::unifonic::config_keys(),
                                  {{"app_sid", kAppSid}, {"sender_id", "Clinic"}, {"base_url", fake.base()},
                                   {"webhook_secret", "s3cret-s3cret-s3cret"}}),
      host);
  ASSERT_TRUE(created.provider) << created.error;
  auto& p = *created.provider;
  sdk::OutboundMessage m;
  m.id = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
  m.to = "+966501234567";
  m.body = "موعدك غدا";
  m.status_callback_url = host.webhook_url("status");
  auto sent = p.send(m);
  ASSERT_EQ(sent.outcome, sdk::Outcome::ok) << sent.error.code << " " << sent.error.message;
  EXPECT_TRUE(std::regex_match(sent.provider_message_id, std::regex("[0-9]{14}")));
  ASSERT_TRUE(sent.cost);
  EXPECT_EQ(sent.cost->currency, "SAR");

  auto got = rx.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  auto cb = p.parse_callback(callback_of(rx, got[0], "status"));
  ASSERT_EQ(cb.verdict, sdk::CallbackResult::Verdict::accepted) << cb.reason;
  EXPECT_EQ(cb.status_updates.at(0).status, sdk::MessageStatus::delivered);
  EXPECT_EQ(cb.status_updates.at(0).message_id, m.id);
  EXPECT_EQ(cb.status_updates.at(0).provider_message_id, sent.provider_message_id);

  EXPECT_EQ(p.fetch_status(sent.provider_message_id).status, sdk::MessageStatus::delivered);

  // Unifonic's duplicate check: a repeat of this very send is fine, another
  // message with the same text is not.
  http.control("POST", fake.base() + "/_control/config", {{"duplicate_window_ms", 60000}});
  auto again = p.send(m);
  EXPECT_EQ(again.outcome, sdk::Outcome::ok) << again.error.message;
  EXPECT_EQ(again.provider_message_id, sent.provider_message_id);
  m.id = "8d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a";
  auto other = p.send(m);
  EXPECT_EQ(other.outcome, sdk::Outcome::permanent);
  EXPECT_EQ(other.error.code, "ER-09");

  EXPECT_EQ(p.check_health().state, sdk::HealthState::healthy);
  EXPECT_EQ(host.log.all().find(kAppSid), std::string::npos);
}

}  // namespace
}  // namespace barid::fakes
