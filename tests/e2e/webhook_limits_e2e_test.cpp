// End to end, what a tenant's webhook URL cannot make the gateway do: read
// an endless response (the gateway's memory stays put while 50 messages'
// events go to an endpoint that never stops talking; each delivery is
// decided by its status code), or connect to the gateway's own network
// (loopback, private, link-local and metadata addresses refused at
// registration when written in the URL, and at each delivery when a name
// resolves to one; only a host:port of webhooks.allow_hosts reaches one).
// The deprecated webhooks.allow_http_hosts still works, with a warning.

#include "fake_server.hpp"
#include "gateway_harness.hpp"
#include "streaming_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace barid::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string sections(const std::string& webhooks) {
  return R"yaml(
providers:
  mock-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, delivered_after_ms: "50"}
routing:
  sms: {provider: mock-sms}
dispatch: {poll_interval: 50ms, lease: 30s}
messaging: {default_region: SA}
webhooks: )yaml" + webhooks + "\n" + kJobsOff;
}

// Resident memory of a process, in bytes (0 when it cannot be read).
std::size_t resident_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "VmRSS:   1234 kB"
  return 0;
}

class WebhookLimitsE2E : public ::testing::Test {
 protected:
  void start(const std::string& webhooks) {
    gw_ = std::make_unique<GatewayUnderTest>(db_, sections(webhooks));
    gw_->start();
    key_ = gw_->create_api_key("clinic-a");
  }
  json call(const std::string& method, const std::string& path, const json& body, long expect) {
    long status = 0;
    auto r = gw_->json(method, path, body, key_, &status);
    EXPECT_EQ(status, expect) << method << " " << path << " " << body.dump() << " -> " << r.dump();
    return r;
  }
  std::string send(int i) {
    return call("POST", "/v1/messages", {{"to", "+9665012340" + std::to_string(10 + i)}, {"body", "Your appointment"}},
                202)["id"];
  }
  json deliveries(const json& endpoint) {
    return call("GET", "/v1/webhooks/" + endpoint["id"].get<std::string>() + "/deliveries", nullptr, 200)["deliveries"];
  }

  TestDatabase db_;
  std::unique_ptr<GatewayUnderTest> gw_;
  std::string key_;
};

TEST_F(WebhookLimitsE2E, AnEndlessResponseBodyLeavesTheGatewaysMemoryAlone) {
  StreamingServer::Options endless;
  endless.status = 200;
  endless.body_bytes = 0;                   // no length, no end
  endless.cap_bytes = std::size_t{32} << 20;  // per connection, so that a failing run ends
  StreamingServer server(endless);
  start("{allow_hosts: [\"127.0.0.1:" + std::to_string(server.port()) +
        "\"], poll_interval: 50ms, initial_backoff: 200ms, max_backoff: 2s, timeout: 5s}");
  const json hook = call("POST", "/v1/webhooks", {{"url", server.url("/endless")}}, 201);
  const std::size_t start_rss = resident_bytes(gw_->pid());
  ASSERT_GT(start_rss, 0u);

  for (int i = 0; i < 50; ++i) send(i);
  std::size_t peak = start_rss;
  auto distinct = [&] {
    auto ids = server.webhook_ids();
    return std::set<std::string>(ids.begin(), ids.end()).size();
  };
  const bool all = eventually(
      [&] {
        peak = std::max(peak, resident_bytes(gw_->pid()));
        return distinct() >= 100;  // message.sent and message.delivered of each
      },
      90s);
  peak = std::max(peak, resident_bytes(gw_->pid()));
  EXPECT_TRUE(all) << distinct() << " events of 100 reached the endpoint";
  EXPECT_LE(peak, start_rss + (std::size_t{50} << 20))
      << "resident memory grew from " << start_rss / 1024 << " KiB to " << peak / 1024 << " KiB";
  // Each delivery was decided by its status: delivered, once.
  EXPECT_TRUE(eventually(
      [&] {
        const json d = deliveries(hook);
        if (d.empty()) return false;
        for (const auto& a : d)
          if (a["status_code"] != 200 || a["delivered"] != true || !a["error"].is_null()) return false;
        return true;
      },
      10s))
      << deliveries(hook).dump();
  EXPECT_EQ(server.requests(), distinct()) << "a delivery was tried again";
  // The gateway hung up after its 64 KiB: far less than 100 endless bodies.
  EXPECT_LT(server.bytes_sent(), std::size_t{100} * (std::size_t{32} << 20) / 4);
  EXPECT_TRUE(gw_->running());
}

TEST_F(WebhookLimitsE2E, InternalAddressesAreRefusedAndOnlyAListedHostAndPortReachesOne) {
  std::atomic<int> got{0};
  fakes::FakeHttpServer receiver([&got](const fakes::FakeRequest&) {
    ++got;
    return fakes::FakeResponse::json(200, json::object());
  });
  receiver.start();
  StreamingServer::Options small;
  small.body_bytes = 2;
  StreamingServer internal(small);  // on 127.0.0.1, not listed
  start("{allow_hosts: [\"127.0.0.1:" + std::to_string(receiver.port()) +
        "\"], poll_interval: 50ms, initial_backoff: 200ms, max_backoff: 2s, timeout: 2s}");

  // Written as addresses: refused at registration, naming the field.
  const std::vector<std::string> refused = {
        "https://127.0.0.1/hook", "https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook", "https://127.0.0.1:" + std::to_string(internal.port()) + "/hook",
        "http://127.0.0.1:" + std::to_string(internal.port()) + "/hook", "https://2130706433/hook",
        "https://[::ffff:10.0.0.1]/hook", "https://100.64.0.1/hook", "https://[fd00::1]/hook"};
  for (const auto& url : refused) {
    const json r = call("POST", "/v1/webhooks", {{"url", url}}, 422);
    EXPECT_EQ(r["field"], "url") << url << " " << r.dump();
  }
  // And when a change would point an endpoint at one.
  const json ok = call("POST", "/v1/webhooks", {{"url", receiver.base_url() + "/listed"}}, 201);
  call("PATCH", "/v1/webhooks/" + ok["id"].get<std::string>(), {{"url", "https://10.0.0.1/x"}}, 422);

  // A name that resolves to 127.0.0.1: refused at each delivery, before any
  // connection, with a coarse error.
  const json named = call("POST", "/v1/webhooks",
                          {{"url", "https://localhost:" + std::to_string(internal.port()) + "/hook"}}, 201);
  send(1);
  ASSERT_TRUE(eventually([&] { return got.load() >= 2; }, 30s)) << got.load();  // the listed one: delivered
  ASSERT_TRUE(eventually([&] { return deliveries(named).size() >= 2; }, 30s)) << deliveries(named).dump();
  for (const auto& a : deliveries(named)) {
    EXPECT_EQ(a["error"], "address-not-allowed") << a.dump();
    EXPECT_TRUE(a["status_code"].is_null()) << a.dump();
    EXPECT_EQ(a["delivered"], false);
  }
  EXPECT_EQ(internal.connections(), 0u);
  for (const auto& a : deliveries(ok)) {
    EXPECT_EQ(a["status_code"], 200) << a.dump();
    EXPECT_EQ(a["delivered"], true);
  }
}

TEST_F(WebhookLimitsE2E, TheDeprecatedAllowHttpHostsStillDeliversWithAWarning) {
  std::atomic<int> got{0};
  fakes::FakeHttpServer receiver([&got](const fakes::FakeRequest&) {
    ++got;
    return fakes::FakeResponse::json(200, json::object());
  });
  receiver.start();
  start("{allow_http_hosts: [\"127.0.0.1\"], poll_interval: 50ms, initial_backoff: 200ms, max_backoff: 2s, timeout: 2s}");
  EXPECT_NE(gw_->log().find("webhooks.allow_http_hosts is deprecated"), std::string::npos) << gw_->log();
  call("POST", "/v1/webhooks", {{"url", receiver.base_url() + "/old"}}, 201);
  send(2);
  EXPECT_TRUE(eventually([&] { return got.load() >= 2; }, 30s)) << got.load();
}

}  // namespace
}  // namespace barid::testing
