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
#include "test_host.hpp"
#include "twilio/twilio_provider.hpp"

#include <barid/core/http_client.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace barid::contract {
namespace {

using namespace std::chrono;
namespace fs = std::filesystem;
using barid::testing::ChildProcess;
using barid::testing::eventually;

const std::string kAccount = "AC" + std::string(32, 'a');  // Prism checks ^AC[0-9a-fA-F]{32}$
const std::string kContent = "HX" + std::string(32, 'b');
const std::string kService = "MG" + std::string(32, 'c');

std::optional<std::string> find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  std::string p(path);
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    fs::path candidate = fs::path(p.substr(start, end - start)) / name;
    if (!candidate.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return std::nullopt;
}

// CI=true (or any value but "", "0" and "false").
bool running_in_ci() {
  const char* ci = std::getenv("CI");
  if (!ci) return false;
  const std::string v(ci);
  return !v.empty() && v != "0" && v != "false";
}

// A port that was free a moment ago (Prism takes a port number, not 0).
std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

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
  core::CurlHttpClient client_{core::HttpClientOptions{milliseconds(5000), milliseconds(30000), "", "barid-contract"}};
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
    auto node = find_in_path("node");
    auto npm = find_in_path("npm");
    if (!node || !npm) {
      if (running_in_ci())
        setup_error_ = "CI is set but node and npm are not installed: the contract test cannot run Prism";
      else
        skip_reason_ = "node and npm are needed to run Prism (install nodejs and npm)";
      return;
    }
    const fs::path dir = BARID_PRISM_DIR;
    const fs::path prism = dir / "node_modules" / ".bin" / "prism";
    fs::create_directories(dir);
    if (!fs::exists(prism)) {
      ChildProcess::Options o;
      o.program = *npm;
      o.args = {"install", "--prefix", dir.string(), "--no-audit", "--no-fund", "--loglevel=error",
                "@stoplight/prism-cli@5.14.2"};
      o.env = {{"npm_config_cache", (dir / ".npm-cache").string()}, {"npm_config_update_notifier", "false"}};
      o.stderr_path = (dir / "npm-install.log").string();
      ChildProcess install(o);
      auto rc = install.wait_exit(minutes(10));
      if (rc != 0 || !fs::exists(prism)) {
        setup_error_ = "npm install @stoplight/prism-cli@5.14.2 failed (exit " +
                       (rc ? std::to_string(*rc) : std::string("timeout")) + "): " + install.stderr_text();
        return;
      }
    }
    for (int attempt = 0; attempt < 3 && base_url_.empty(); ++attempt) {
      const auto port = free_port();
      ChildProcess::Options o;
      o.program = prism.string();
      o.args = {"mock", "-h", "127.0.0.1", "-p", std::to_string(port), BARID_TWILIO_SPEC};
      o.stderr_path = (dir / "prism-mock.err").string();
      prism_ = std::make_unique<ChildProcess>(o);
      // Prism logs every path of the 1.8 MB spec before it listens (15-20 s).
      const bool up = eventually(
          [&] { return prism_->stdout_text().find("is listening on") != std::string::npos || !prism_->running(); },
          minutes(3), milliseconds(200));
      if (up && prism_->running()) {
        base_url_ = "http://127.0.0.1:" + std::to_string(port);
      } else {
        setup_error_ = "prism mock did not start: " + prism_->stderr_text();
        prism_.reset();
      }
    }
    if (!base_url_.empty()) setup_error_.clear();
  }

  static void TearDownTestSuite() {
    if (prism_) {
      prism_->signal(SIGTERM);
      if (!prism_->wait_exit(seconds(10))) prism_->signal(SIGKILL);
      prism_.reset();
    }
  }

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
  static inline std::unique_ptr<ChildProcess> prism_;
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
