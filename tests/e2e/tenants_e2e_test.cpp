// End to end, tenants on one gateway: what one sends can never fail
// another's requests, idempotency keys are byte-exact, the operational
// endpoints give nothing away. The real binary, a real MariaDB.

#include "gateway_harness.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace barid::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char* kSections = R"yaml(
providers:
  mock-sms:
    plugin: mock
    config: {channel: sms, delivered_after_ms: "50"}
routing:
  sms: {provider: mock-sms}
dispatch: {poll_interval: 50ms, lease: 30s}
messaging: {default_region: SA}
jobs:
  status_refresh: {enabled: false}
  retry_sweep: {enabled: false}
  retention: {enabled: false}
  provider_health: {enabled: false}
)yaml";

class TenantsE2E : public ::testing::Test {
 protected:
  void start(const std::string& server_keys = {}) {
    gw_ = std::make_unique<GatewayUnderTest>(db_, kSections);
    if (!server_keys.empty()) gw_->add_server_keys(server_keys);
    gw_->start();
    key_a_ = gw_->create_api_key("clinic-a");
    key_b_ = gw_->create_api_key("clinic-b");
  }
  TestDatabase db_;
  std::unique_ptr<GatewayUnderTest> gw_;
  std::string key_a_, key_b_;
};

// Tenant A's client sends a User-Agent that is not UTF-8, as fast as it can,
// while tenant B sends normally: the two share group commits, and B gets no
// error at all (nor does A: the header is made valid before it is stored).
TEST_F(TenantsE2E, ABrokenUserAgentOfOneTenantNeverFailsAnothersSends) {
  start();
  std::atomic<int> a_ok{0}, a_bad{0}, b_ok{0}, b_bad{0};
  auto sender = [&](const std::string& key, sdk::HttpHeaders headers, std::atomic<int>& ok, std::atomic<int>& bad,
                    int first) {
    for (int i = 0; i < 150; ++i) {
      long status = 0;
      gw_->json("POST", "/v1/messages",
                {{"to", "+9665" + std::to_string(10000000 + first + i)}, {"body", "Your appointment is tomorrow"}}, key,
                &status, headers);
      (status == 202 ? ok : bad)++;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back(sender, key_a_, sdk::HttpHeaders{{"User-Agent", "\xff\xfe broken \xc3"}}, std::ref(a_ok),
                         std::ref(a_bad), t * 1000);
    threads.emplace_back(sender, key_b_, sdk::HttpHeaders{{"User-Agent", "clinic-b/1.0"}}, std::ref(b_ok),
                         std::ref(b_bad), 5000 + t * 1000);
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(b_bad.load(), 0);
  EXPECT_EQ(b_ok.load(), 450);
  EXPECT_EQ(a_bad.load(), 0);
  EXPECT_EQ(a_ok.load(), 450);
  // A's user agent is on record, as far as it was text.
  EXPECT_EQ(db_.scalar("SELECT user_agent FROM message_events WHERE user_agent LIKE '%broken%' LIMIT 1"),
            "?? broken ?");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages"), "900");
}

// Two different requests whose keys differ only in case are two messages,
// and every 202 names a message that exists.
TEST_F(TenantsE2E, IdempotencyKeysCompareByteForByte) {
  start();
  long s1 = 0, s2 = 0, s3 = 0;
  auto first = gw_->json("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "Appointment 77 at 10:00"}},
                         key_a_, &s1, {{"Idempotency-Key", "Appt-77"}});
  auto second = gw_->json("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "Appointment 77 moved to 11:00"}},
                          key_a_, &s2, {{"Idempotency-Key", "appt-77"}});
  auto again = gw_->json("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "Appointment 77 at 10:00"}},
                         key_a_, &s3, {{"Idempotency-Key", "Appt-77"}});
  ASSERT_EQ(s1, 202);
  ASSERT_EQ(s2, 202);
  ASSERT_EQ(s3, 202);
  EXPECT_NE(first["id"], second["id"]);
  EXPECT_EQ(again["id"], first["id"]);
  for (const auto& id : {first["id"], second["id"]}) {
    long status = 0;
    auto m = gw_->json("GET", "/v1/messages/" + id.get<std::string>(), nullptr, key_a_, &status);
    EXPECT_EQ(status, 200) << id;
  }
  EXPECT_EQ(gw_->wait_for_status(key_a_, second["id"], "delivered")["body"], "Appointment 77 moved to 11:00");
}

TEST_F(TenantsE2E, MetricsCanRequireAToken) {
  start("  metrics_token: \"${BARID_TEST_METRICS_TOKEN:-s3cret-metrics}\"\n");
  EXPECT_EQ(gw_->request("GET", "/metrics").status, 401);
  EXPECT_EQ(gw_->request("GET", "/metrics", {}, "wrong").status, 401);
  auto m = gw_->request("GET", "/metrics", {}, "s3cret-metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("barid_intake_stored_total"), std::string::npos);
}

}  // namespace
}  // namespace barid::testing
