// Contract test: the Twilio plugins' requests checked against Twilio's own
// OpenAPI description (twilio/twilio_api_v2010.json, MIT) by Prism's mock
// server, which answers 422 when a request violates the spec (path patterns,
// form encoding, required fields, parameter types, Basic auth present).
//
// Prism (@stoplight/prism-cli 5.14.2, the last release for Node 20) is
// installed with npm into the build tree on first use. Without node or npm
// the tests are skipped (ctest shows them as skipped), except when the
// environment variable CI is set: CI has them, so there it is a failure.
//
// Prism answers a request that breaks the spec with 422; a violation it only
// warns about still gets the mocked answer, with the violations in an
// `sl-violations` response header. Either one fails the test.
#include "child_process.hpp"
#include "prism.hpp"
#include "test_host.hpp"
#include "twilio/twilio_provider.hpp"
#include "test_http_client.hpp"

#include <barid/core/http_client.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>

namespace barid::contract {
namespace {

using barid::testing::client_options;

using namespace std::chrono;
namespace fs = std::filesystem;

const std::string kAccount = "AC" + std::string(32, 'a');  // Prism checks ^AC[0-9a-fA-F]{32}$
const std::string kContent = "HX" + std::string(32, 'b');
const std::string kService = "MG" + std::string(32, 'c');

// The core's HTTP client, keeping every exchange so that a 4xx from Prism is
// reported with its validation messages.
class RecordingHttp final : public sdk::HttpClient {
 public:
  sdk::HttpResponse perform(const sdk::HttpRequest& request) noexcept override {
    auto r = client_.perform(request);
    std::lock_guard lock(mutex_);
    exchanges.push_back({request.method + " " + request.url + " " + request.body, r});
    return r;
  }
  std::string failures() {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [what, r] : exchanges)
      if (r.transport_failed() || r.status >= 400 || !r.header("sl-violations").empty())
        out += what + "\n  -> " + std::to_string(r.status) + " " + r.error_message + " " + r.body +
               (r.header("sl-violations").empty() ? "" : "\n  sl-violations: " + r.header("sl-violations")) + "\n";
    return out;
  }
  std::vector<std::pair<std::string, sdk::HttpResponse>> exchanges;

 private:
  std::mutex mutex_;
  core::CurlHttpClient client_{client_options(milliseconds(5000), milliseconds(30000), "barid-contract")};
};

class ContractHost final : public sdk::HostContext {
 public:
  sdk::HttpClient& http() noexcept override { return http_client; }
  sdk::Logger& logger() noexcept override { return log; }
  const sdk::Crypto& crypto() const noexcept override { return crypto_; }
  system_clock::time_point now() const noexcept override { return system_clock::now(); }
  std::string webhook_url(std::string_view kind) const override {
    return "https://gateway.example.com/webhooks/twilio/" + std::string(kind);
  }
  RecordingHttp http_client;
  plugins::testing::RecordingLogger log;

 private:
  plugins::testing::OpenSslCrypto crypto_;
};

class TwilioContract : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    prism_ = barid::testing::start_prism(BARID_PRISM_DIR, {"mock", BARID_TWILIO_SPEC});
    skip_reason_ = prism_->skip_reason;
    setup_error_ = prism_->error;
    base_url_ = prism_->base_url;
  }

  static void TearDownTestSuite() { prism_.reset(); }

  void SetUp() override {
    if (!skip_reason_.empty()) GTEST_SKIP() << skip_reason_;
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
  }

  std::unique_ptr<sdk::Provider> provider(sdk::Channel channel, std::vector<std::pair<std::string, std::string>> extra) {
    std::vector<std::pair<std::string, std::string>> values = {
        {"account_sid", kAccount}, {"auth_token", "contract-token"}, {"base_url", base_url_}};
    for (auto& kv : extra) values.push_back(kv);
    auto r = plugins::twilio::create_provider(
        plugins::testing::config_of(plugins::twilio::config_keys(channel), values), host, channel);
    EXPECT_TRUE(r.provider) << r.error;
    return std::move(r.provider);
  }

  sdk::OutboundMessage message() const {
    sdk::OutboundMessage m;
    m.id = "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c";
    m.to = "+966501234567";
    m.body = "Your appointment is tomorrow at 10:00 / موعدك غدا";
    m.status_callback_url = host.webhook_url("status");
    return m;
  }

  void expect_no_client_errors() {
    EXPECT_EQ(host.http_client.failures(), "") << "Prism rejected requests or reported violations";
  }

  ContractHost host;
  static inline std::string skip_reason_;
  static inline std::string setup_error_;
  static inline std::string base_url_;
  static inline std::unique_ptr<barid::testing::PrismServer> prism_;
};

TEST_F(TwilioContract, PrismRejectsARequestThatViolatesTheSpec) {
  // The check is live: a create without To is refused with 422.
  sdk::HttpRequest r;
  r.method = "POST";
  r.url = base_url_ + "/2010-04-01/Accounts/" + kAccount + "/Messages.json";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  r.body = "From=%2B15017122661&Body=x";
  r.basic_auth = sdk::BasicAuth{kAccount, "t"};
  EXPECT_EQ(host.http().perform(r).status, 422);
}

TEST_F(TwilioContract, SmsFromANumberWithStatusCallback) {
  auto p = provider(sdk::Channel::sms, {{"from", "+15017122661"}});
  auto r = p->send(message());
  EXPECT_EQ(r.outcome, sdk::Outcome::ok) << r.error.code << " " << r.error.message;
  EXPECT_EQ(r.provider_message_id.substr(0, 2), "SM");
  expect_no_client_errors();
}

TEST_F(TwilioContract, SmsThroughAMessagingServiceWithAnApiKey) {
  auto p = provider(sdk::Channel::sms, {{"messaging_service_sid", kService},
                                        {"api_key_sid", "SK" + std::string(32, 'd')},
                                        {"api_key_secret", "contract-secret"}});
  auto m = message();
  m.status_callback_url.clear();
  auto r = p->send(m);
  EXPECT_EQ(r.outcome, sdk::Outcome::ok) << r.error.code << " " << r.error.message;
  expect_no_client_errors();
}

TEST_F(TwilioContract, WhatsAppFreeText) {
  auto p = provider(sdk::Channel::whatsapp, {{"from", "+14155238886"}});
  auto r = p->send(message());
  EXPECT_EQ(r.outcome, sdk::Outcome::ok) << r.error.code << " " << r.error.message;
  expect_no_client_errors();
}

TEST_F(TwilioContract, WhatsAppTemplateWithContentSid) {
  auto p = provider(sdk::Channel::whatsapp, {{"from", "whatsapp:+14155238886"}});
  auto m = message();
  m.body.clear();
  m.provider_template = kContent;
  m.template_variables = {"Sara", "10:00"};
  auto r = p->send(m);
  EXPECT_EQ(r.outcome, sdk::Outcome::ok) << r.error.code << " " << r.error.message;
  expect_no_client_errors();
}

TEST_F(TwilioContract, FetchStatusAndHealth) {
  auto p = provider(sdk::Channel::sms, {{"from", "+15017122661"}});
  auto s = p->fetch_status("SM" + std::string(32, 'a'));
  EXPECT_EQ(s.outcome, sdk::Outcome::ok) << s.error.code << " " << s.error.message;
  auto h = p->check_health();
  EXPECT_EQ(h.state, sdk::HealthState::healthy) << h.detail;
  expect_no_client_errors();
}

}  // namespace
}  // namespace barid::contract
