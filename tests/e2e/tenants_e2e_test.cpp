// End to end, tenants on one gateway: what one sends can never fail
// another's requests, idempotency keys are byte-exact, the operational
// endpoints give nothing away. The real binary, a real MariaDB.

#include "gateway_harness.hpp"
#include "send_log.hpp"

#include <barid/core/time.hpp>

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>
#include <thread>

namespace barid::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char* kSections = R"yaml(
providers:
  mock-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, delivered_after_ms: "50"}
    price: {per_segment: "0.05", currency: USD}
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

// Tests that compare latencies: ctest runs them alone (RUN_SERIAL, see
// CMakeLists.txt), since a test running beside them on the same two cores
// would measure that test, not the gateway.
class TenantsUnderLoadE2E : public TenantsE2E {};

// 20,000 requests with made-up keys (or more: each flood lasts until the
// tenant's window closes), at 4,000 a second from four clients, while a
// tenant sends its messages: every one of the tenant's requests is
// accepted, and its p99 latency stays within 20 ms of that of a quiet run
// (on a machine so busy that the quiet p99 is over 20 ms, within twice it).
//
// Quiet and flooded windows alternate, eight of each, and each side's p99 is
// taken over all its windows, so that a slow moment of the disk or the machine
// falls on both sides alike. The flood's clients run at a fixed rate and the
// lowest CPU priority: in production they are on someone else's machine, and
// here they share the gateway's two cores, so a client sending as fast as
// curl can would measure the CPU it takes from the gateway, not the gateway.
// (Unpaced, the cost per refusal is what bench/README reports.)
TEST_F(TenantsUnderLoadE2E, AFloodOfMadeUpKeysDoesNotSlowDownARealTenant) {
  start();
  constexpr int kRounds = 8;
  constexpr int kTenantPerWindow = 150;
  constexpr int kFloodPerRound = 2500;
  constexpr int kFloodPerSecond = 4000;
  int next_number = 0;
  int refused = 0;
  auto tenant_window = [&](std::vector<double>& ms) {
    for (int i = 0; i < kTenantPerWindow; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      long status = 0;
      gw_->json("POST", "/v1/messages", {{"to", "+9665" + std::to_string(10000000 + next_number++)}, {"body", "x"}},
                key_b_, &status);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (status != 202) ++refused;
    }
  };
  auto p99 = [](std::vector<double> ms) {
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() * 99 / 100];
  };

  std::vector<double> warm_up, quiet, flooded;
  tenant_window(warm_up);  // connections, caches and the database pool
  std::atomic<int> flood_sent{0}, flood_401{0}, flood_503{0};
  std::mutex others_mutex;
  std::map<std::string, int> others;  // any other answer, for the failure message
  for (int round = 0; round < kRounds; ++round) {
    tenant_window(quiet);
    std::atomic<bool> window_done{false};
    const int sent_before = flood_sent.load();
    std::vector<std::thread> flood;
    for (int t = 0; t < 4; ++t)
      flood.emplace_back([&, t] {
        setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
        auto next = std::chrono::steady_clock::now();
        for (int i = 0; i < kFloodPerRound / 4 || !window_done; ++i) {
          // At most the fixed rate: a client that fell behind (its priority
          // is the lowest) skips the requests it missed rather than sending
          // them in one burst, which would measure the burst.
          next = std::max(next + std::chrono::microseconds(4'000'000 / kFloodPerSecond),
                          std::chrono::steady_clock::now() - std::chrono::milliseconds(2));
          std::this_thread::sleep_until(next);
          char key[80];
          std::snprintf(key, sizeof key, "brd_%02x%06x%08x_%040d", round, t, i, i);
          auto resp = gw_->request("POST", "/v1/messages", R"({"to":"+966501234567","body":"x"})", key);
          ++flood_sent;
          if (resp.status == 401) {
            ++flood_401;
          } else if (resp.status == 503) {
            ++flood_503;
          } else {
            std::lock_guard lock(others_mutex);
            ++others[std::to_string(resp.status) + " " + resp.error_message];
          }
        }
      });
    // The tenant's window opens once the flood is going.
    const bool going = eventually([&] { return flood_sent.load() - sent_before > 200; }, 60s);
    tenant_window(flooded);
    window_done = true;
    for (auto& t : flood) t.join();
    ASSERT_TRUE(going);
  }
  const double quiet_p99 = p99(quiet), flood_p99 = p99(flooded);
  std::printf("tenant p99: quiet %.2f ms, during the flood %.2f ms; flood: %d sent, %d answered 401, %d 503\n",
              quiet_p99, flood_p99, flood_sent.load(), flood_401.load(), flood_503.load());
  EXPECT_EQ(refused, 0);
  EXPECT_GE(flood_sent.load(), kRounds * kFloodPerRound);
  EXPECT_EQ(flood_401.load() + flood_503.load(), flood_sent.load()) << ::testing::PrintToString(others);
  // An allowance of 20 ms on a quiet machine: the flood's 4,000 requests a
  // second come from this process on the same two cores, and twice a quiet
  // p99 of 7 ms failed by chance (13.7 and 21.6 ms in two full runs) against
  // a ratio. Beside a parallel build the quiet p99 itself is tens of
  // milliseconds and the flood's share of the two cores costs more (quiet 57
  // and 38 ms, flooded 82 and 64 ms, in two such runs): there the allowance
  // is the quiet p99 itself, twice it in all. A flood that reached the
  // database or the key cache per request costs far more.
  const double allowance = std::max(20.0, quiet_p99);
  EXPECT_LE(flood_p99, quiet_p99 + allowance) << "p99 " << flood_p99 << " ms under the flood, " << quiet_p99 << " ms quiet";
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages"), std::to_string(next_number));
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

namespace barid::testing {
namespace {

class AdminE2E : public TenantsE2E {
 protected:
  void SetUp() override {
    start();
    op_ = gw_->create_operator_key();
    ASSERT_FALSE(op_.empty());
  }
  json admin(const std::string& method, const std::string& path, const json& body, long expect,
             const std::string& key = {}) {
    long status = 0;
    auto r = gw_->json(method, path, body, key.empty() ? op_ : key, &status);
    EXPECT_EQ(status, expect) << method << " " << path << " -> " << r.dump();
    return r;
  }
  std::string op_;
};

TEST_F(AdminE2E, AnOperatorCreatesTenantsAndTheirKeys) {
  auto t = admin("POST", "/v1/admin/tenants", {{"name", "clinic-x"}}, 201);
  EXPECT_EQ(t["name"], "clinic-x");
  EXPECT_EQ(t["status"], "active");
  admin("POST", "/v1/admin/tenants", {{"name", "clinic-x"}}, 409);
  EXPECT_EQ(admin("POST", "/v1/admin/tenants", {{"name", "12"}}, 422)["field"], "name");
  const std::string id = std::to_string(t["id"].get<int>());
  EXPECT_EQ(admin("GET", "/v1/admin/tenants/" + id, nullptr, 200)["name"], "clinic-x");
  EXPECT_EQ(admin("GET", "/v1/admin/tenants/clinic-x", nullptr, 200)["id"], t["id"]);
  admin("GET", "/v1/admin/tenants/nobody", nullptr, 404);
  std::set<std::string> names;
  const auto all = admin("GET", "/v1/admin/tenants", nullptr, 200);
  for (const auto& x : all["tenants"]) names.insert(x["name"].get<std::string>());
  EXPECT_TRUE(names.count("clinic-x") && names.count("clinic-a") && names.count("clinic-b")) << all.dump();

  auto k = admin("POST", "/v1/admin/tenants/clinic-x/keys", {{"label", "front desk"}}, 201);
  const std::string key = k["key"];
  EXPECT_EQ(key.rfind("brd_" + k["id"].get<std::string>() + "_", 0), 0u);
  EXPECT_EQ(k["scopes"], (json{"send", "read", "manage"}));
  auto keys = admin("GET", "/v1/admin/tenants/clinic-x/keys", nullptr, 200)["keys"];
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0]["id"], k["id"]);
  EXPECT_EQ(keys[0]["label"], "front desk");
  EXPECT_FALSE(keys[0].contains("key"));
  EXPECT_EQ(keys[0].dump().find(key.substr(key.rfind('_') + 1)), std::string::npos);  // no secret

  // The new key sends; keys keep to their side of the API.
  long status = 0;
  gw_->json("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "x"}}, key, &status);
  EXPECT_EQ(status, 202);
  admin("GET", "/v1/admin/tenants", nullptr, 403, key);
  gw_->json("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "x"}}, op_, &status);
  EXPECT_EQ(status, 403);
  EXPECT_EQ(gw_->request("GET", "/v1/admin/tenants").status, 401);
  // Every operator action is in the tenant's audit trail.
  EXPECT_EQ(db_.scalar("SELECT GROUP_CONCAT(action ORDER BY id) FROM audit_log WHERE tenant_id = " + id),
            "tenant_created,key_created");
}

// A revocation is recorded once, where someone can read it: a tenant key's
// in the tenant's log, an operator key's in the operator's own log
// (GET /v1/admin/audit); revoking a revoked key records nothing more.
TEST_F(AdminE2E, RevocationsAreAuditedOnceWhereTheyCanBeRead) {
  auto k = admin("POST", "/v1/admin/tenants/clinic-a/keys", {{"label", "old desk"}}, 201);
  const std::string id = k["id"];
  EXPECT_EQ(admin("DELETE", "/v1/admin/keys/" + id, nullptr, 200)["revoked_at"].is_string(), true);
  admin("DELETE", "/v1/admin/keys/" + id, nullptr, 200);
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'key_revoked' AND subject = 'key:" + id + "'"),
            "1");

  const std::string other_op = gw_->create_operator_key();
  // brd_<id>_<secret>
  const std::string other_id = other_op.substr(4, other_op.find('_', 4) - 4);
  admin("DELETE", "/v1/admin/keys/" + other_id, nullptr, 200);
  admin("DELETE", "/v1/admin/keys/" + other_id, nullptr, 200);
  auto log = admin("GET", "/v1/admin/audit", nullptr, 200);
  int revocations = 0;
  for (const auto& e : log["entries"])
    if (e["action"] == "key_revoked" && e["subject"] == "key:" + other_id) ++revocations;
  EXPECT_EQ(revocations, 1) << log.dump();
  admin("GET", "/v1/admin/audit", nullptr, 403, key_a_);
}

TEST_F(AdminE2E, AKeyDoesOnlyWhatItsScopesAllow) {
  auto k = admin("POST", "/v1/admin/tenants/clinic-a/keys", {{"label", "reports"}, {"scopes", {"read"}}}, 201);
  long status = 0;
  auto refused = gw_->json("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "x"}}, k["key"], &status);
  EXPECT_EQ(status, 403);
  EXPECT_NE(refused.value("detail", "").find("'send'"), std::string::npos) << refused.dump();
  gw_->json("GET", "/v1/messages", nullptr, k["key"], &status);
  EXPECT_EQ(status, 200);
  gw_->json("PUT", "/v1/templates/x", {{"channels", {"sms"}}, {"translations", {{"en", {{"body", "x"}}}}}}, k["key"],
            &status);
  EXPECT_EQ(status, 403);
  EXPECT_EQ(admin("POST", "/v1/admin/tenants/clinic-a/keys", {{"scopes", {"everything"}}}, 422)["field"], "scopes");
}

// Revoked through one node, refused by another that had it cached, within
// seconds.
TEST_F(AdminE2E, ARevokedKeyIsRefusedOnASecondNodeWithinSeconds) {
  GatewayUnderTest second(db_, kSections);
  second.start();
  auto k = admin("POST", "/v1/admin/tenants/clinic-a/keys", {{"label", "to revoke"}}, 201);
  const std::string key = k["key"];
  long status = 0;
  second.json("GET", "/v1/messages", nullptr, key, &status);
  ASSERT_EQ(status, 200);  // cached on the second node now
  const auto revoked_at = std::chrono::steady_clock::now();
  EXPECT_EQ(admin("DELETE", "/v1/admin/keys/" + k["id"].get<std::string>(), nullptr, 200)["revoked_at"].is_string(),
            true);
  gw_->json("GET", "/v1/messages", nullptr, key, &status);
  EXPECT_EQ(status, 401);  // the node that revoked it: at once
  ASSERT_TRUE(eventually(
      [&] {
        second.json("GET", "/v1/messages", nullptr, key, &status);
        return status == 401;
      },
      5s));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - revoked_at);
  EXPECT_LT(took.count(), 3000);
  std::printf("revocation reached the second node after %lld ms\n", static_cast<long long>(took.count()));
  admin("DELETE", "/v1/admin/keys/nope", nullptr, 404);
}

// A suspended tenant is refused everywhere, and what it had queued waits
// until it is resumed.
TEST_F(AdminE2E, ASuspendedTenantIsRefusedAndItsQueuedMessagesAreNotSent) {
  long status = 0;
  const auto due = std::chrono::system_clock::now() + 2s;
  auto sent = gw_->json("POST", "/v1/messages",
                        {{"to", "+966501234567"},
                         {"body", "Your appointment is tomorrow"},
                         {"scheduled_at", core::format_iso8601(std::chrono::time_point_cast<std::chrono::microseconds>(due))}},
                        key_a_, &status);
  ASSERT_EQ(status, 202);
  const std::string id = sent["id"];
  EXPECT_EQ(admin("POST", "/v1/admin/tenants/clinic-a/suspend", nullptr, 200)["status"], "suspended");
  gw_->json("GET", "/v1/messages/" + id, nullptr, key_a_, &status);
  EXPECT_EQ(status, 403);
  // Past its time, with the dispatcher polling every 50 ms: still not sent.
  const std::string hex = "UNHEX(REPLACE('" + id + "', '-', ''))";
  ASSERT_TRUE(eventually([&] { return db_.scalar("SELECT next_attempt_at < UTC_TIMESTAMP(6) - INTERVAL 1 SECOND "
                                                 "FROM messages WHERE id = " + hex) == "1"; },
                         10s));
  EXPECT_EQ(db_.scalar("SELECT status FROM messages WHERE id = " + hex), "scheduled");
  // The other tenant is not affected.
  gw_->json("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "x"}}, key_b_, &status);
  EXPECT_EQ(status, 202);
  EXPECT_EQ(admin("POST", "/v1/admin/tenants/clinic-a/resume", nullptr, 200)["status"], "active");
  EXPECT_EQ(gw_->wait_for_status(key_a_, id, "delivered")["status"], "delivered");
}

TEST_F(AdminE2E, TenantsSeeTheirChannelsNotTheOperatorsConfiguration) {
  auto view = gw_->json("GET", "/v1/providers", nullptr, key_a_);
  EXPECT_EQ(view["channels"]["sms"]["instances"][0]["name"], "mock-sms");
  EXPECT_FALSE(view.contains("plugins"));
  EXPECT_FALSE(view.contains("instances"));
  EXPECT_EQ(view.dump().find("config"), std::string::npos);
  long status = 0;
  gw_->json("GET", "/v1/admin/providers?check=true", nullptr, key_a_, &status);
  EXPECT_EQ(status, 403);
  EXPECT_TRUE(admin("GET", "/v1/admin/providers", nullptr, 200)["instances"].is_array());
}

// An operator gives a clinic its senders, provider templates and
// destination countries: anything else is refused, naming the field, and
// the other clinic is not affected.
// Quotas answer 429 with Retry-After, the spend cap 402; the usage figures
// are what was accepted; the other clinic is not touched.
// The operator caps a clinic's priority: a send or a bulk that asks for more
// is refused naming `priority`; one that asks for nothing gets at most the
// cap; the other clinic is not limited.
TEST_F(AdminE2E, MaxPriorityRefusesASendOrBulkAboveItNamingPriority) {
  auto t = admin("PUT", "/v1/admin/tenants/clinic-a", {{"max_priority", "normal"}, {"share", 2}}, 200);
  EXPECT_EQ(t["max_priority"], "normal");
  EXPECT_EQ(t["share"], 2);
  EXPECT_EQ(admin("GET", "/v1/admin/tenants/clinic-a", nullptr, 200)["max_priority"], "normal");
  auto send = [&](const std::string& key, const json& extra) {
    json body{{"to", "+966501234567"}, {"body", "Your results are ready"}};
    body.update(extra);
    return gw_->request("POST", "/v1/messages", body.dump(), key);
  };
  auto refused = send(key_a_, {{"priority", "high"}});
  ASSERT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(json::parse(refused.body)["field"], "priority") << refused.body;
  long status = 0;
  auto bulk = gw_->json("POST", "/v1/messages/bulk",
                        {{"body", "Clinic closed Friday"}, {"priority", "high"},
                         {"recipients", {"+966501234598", "+966501234599"}}},
                        key_a_, &status);
  EXPECT_EQ(status, 422) << bulk.dump();
  EXPECT_EQ(bulk["field"], "priority") << bulk.dump();
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages"), "0");
  // At or below the cap, and the other clinic at any priority.
  EXPECT_EQ(send(key_a_, {{"priority", "normal"}}).status, 202);
  EXPECT_EQ(send(key_a_, {{"priority", "low"}}).status, 202);
  gw_->json("POST", "/v1/messages/bulk",
            {{"body", "Clinic closed Friday"}, {"priority", "normal"}, {"recipients", {"+966501234598"}}}, key_a_,
            &status);
  EXPECT_EQ(status, 202);
  EXPECT_EQ(send(key_b_, {{"priority", "high"}}).status, 202);
  // A cap of low: a send that names no priority is sent as low.
  admin("PUT", "/v1/admin/tenants/clinic-a", {{"max_priority", "low"}}, 200);
  auto plain = send(key_a_, json::object());
  ASSERT_EQ(plain.status, 202) << plain.body;
  const std::string id = json::parse(plain.body)["id"];
  EXPECT_EQ(gw_->json("GET", "/v1/messages/" + id, nullptr, key_a_)["priority"], "low");
  EXPECT_EQ(json::parse(send(key_a_, {{"priority", "normal"}}).body)["field"], "priority");
  // What the operator may set.
  EXPECT_EQ(admin("PUT", "/v1/admin/tenants/clinic-a", {{"max_priority", "urgent"}}, 422)["field"], "max_priority");
  EXPECT_EQ(admin("PUT", "/v1/admin/tenants/clinic-a", {{"share", 0}}, 422)["field"], "share");
  EXPECT_EQ(admin("PUT", "/v1/admin/tenants/clinic-a", {{"share", 101}}, 422)["field"], "share");
  auto cleared = admin("PUT", "/v1/admin/tenants/clinic-a", json::object(), 200);
  EXPECT_EQ(cleared["max_priority"], nullptr);
  EXPECT_EQ(cleared["share"], 1);
  EXPECT_EQ(send(key_a_, {{"priority", "high"}}).status, 202);
}

TEST_F(AdminE2E, QuotasAndTheSpendCapStopATenantAndUsageShowsWhy) {
  auto send = [&](const std::string& key, const std::string& body, int n = 0) {
    auto r = gw_->request("POST", "/v1/messages",
                          json{{"to", "+9665012345" + std::to_string(10 + n)}, {"body", body}}.dump(), key);
    return r;
  };
  auto t = admin("PUT", "/v1/admin/tenants/clinic-a", {{"quotas", {{"messages_per_day", 3}}}}, 200);
  EXPECT_EQ(t["quotas"]["messages_per_day"], 3);
  EXPECT_EQ(t["quotas"]["messages_per_month"], nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(send(key_a_, "Appointment reminder", i).status, 202);
  auto refused = send(key_a_, "Appointment reminder", 3);
  EXPECT_EQ(refused.status, 429);
  auto problem = json::parse(refused.body);
  EXPECT_EQ(problem["type"], "urn:barid:problem:quota-exceeded");
  EXPECT_NE(problem["detail"].get<std::string>().find("daily quota of 3"), std::string::npos) << refused.body;
  const std::string retry_after = refused.header("Retry-After");
  ASSERT_FALSE(retry_after.empty());
  EXPECT_GT(std::stoi(retry_after), 0);
  EXPECT_LE(std::stoi(retry_after), 86400);
  // A bulk that does not fit is refused whole.
  long status = 0;
  gw_->json("POST", "/v1/messages/bulk", {{"body", "Clinic closed Friday"}, {"recipients", {{{"to", "+966501234599"}}}}},
            key_a_, &status);
  EXPECT_EQ(status, 429);
  // The other clinic sends on.
  EXPECT_EQ(send(key_b_, "Appointment reminder").status, 202);

  auto usage = gw_->json("GET", "/v1/usage", nullptr, key_a_, &status);
  ASSERT_EQ(status, 200) << usage.dump();
  EXPECT_EQ(usage["tenant"], "clinic-a");
  EXPECT_EQ(usage["day"]["messages"], 3);
  EXPECT_EQ(usage["day"]["segments"], 3);
  EXPECT_EQ(usage["day"]["quota"], 3);
  EXPECT_EQ(usage["day"]["remaining"], 0);
  EXPECT_EQ(usage["month"]["messages"], 3);
  EXPECT_EQ(usage["month"]["estimated_cost"], (json{{{"amount", "0.150000"}, {"currency", "USD"}}}));
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE tenant_id = (SELECT id FROM tenants WHERE name = "
                       "'clinic-a')"),
            "3");
  // The operator sees the same.
  auto seen = admin("GET", "/v1/admin/tenants/clinic-a/usage", nullptr, 200);
  EXPECT_EQ(seen["day"], usage["day"]);
  EXPECT_EQ(admin("GET", "/v1/admin/tenants/clinic-b/usage", nullptr, 200)["day"]["messages"], 1);

  // A monthly spend cap: 0.05 USD a segment, capped at 0.25: two more
  // one-segment messages fit (0.15 + 0.10), the next does not.
  admin("PUT", "/v1/admin/tenants/clinic-a", {{"spend_cap", {{"amount", "0.25"}, {"currency", "USD"}}}}, 200);
  ASSERT_EQ(send(key_a_, "Appointment reminder", 4).status, 202);
  ASSERT_EQ(send(key_a_, "Appointment reminder", 5).status, 202);
  auto capped = send(key_a_, "Appointment reminder", 6);
  EXPECT_EQ(capped.status, 402) << capped.body;
  EXPECT_EQ(json::parse(capped.body)["type"], "urn:barid:problem:spend-cap-reached");
  usage = gw_->json("GET", "/v1/usage", nullptr, key_a_, &status);
  EXPECT_EQ(usage["month"]["messages"], 5);
  EXPECT_EQ(usage["month"]["spend_cap"]["remaining"], "0.000000");
  EXPECT_EQ(usage["day"]["quota"], nullptr);  // the PUT replaced the rules: no quota now

  // Sends per second, on this node.
  admin("PUT", "/v1/admin/tenants/clinic-b", {{"quotas", {{"sends_per_second", 1}}}}, 200);
  EXPECT_EQ(send(key_b_, "Appointment reminder", 1).status, 202);
  auto fast = send(key_b_, "Appointment reminder", 2);
  EXPECT_EQ(fast.status, 429) << fast.body;
  EXPECT_EQ(fast.header("Retry-After"), "1");

  // What the operator may set.
  EXPECT_EQ(admin("PUT", "/v1/admin/tenants/clinic-a", {{"quotas", {{"messages_per_day", -1}}}}, 422)["field"],
            "quotas.messages_per_day");
  EXPECT_EQ(admin("PUT", "/v1/admin/tenants/clinic-a", {{"quotas", {{"per_hour", 5}}}}, 422)["field"],
            "quotas.per_hour");
  EXPECT_EQ(admin("PUT", "/v1/admin/tenants/clinic-a", {{"spend_cap", {{"amount", "ten"}, {"currency", "USD"}}}},
                  422)["field"],
            "spend_cap.amount");
  EXPECT_EQ(admin("PUT", "/v1/admin/tenants/clinic-a", {{"spend_cap", {{"amount", "10"}, {"currency", "EUR"}}}},
                  422)["field"],
            "spend_cap.currency");
}

// A spend cap is checked against the prices in force now: a reload that
// takes the last USD price away makes a USD cap refused (nothing would count
// against it), one that adds a price makes it acceptable.
TEST_F(AdminE2E, ASpendCapIsCheckedAgainstThePricesOfTheReloadedConfiguration) {
  const json usd_cap = {{"spend_cap", {{"amount", "10"}, {"currency", "USD"}}}};
  const json sar_cap = {{"spend_cap", {{"amount", "10"}, {"currency", "SAR"}}}};
  admin("PUT", "/v1/admin/tenants/clinic-a", usd_cap, 200);
  EXPECT_EQ(admin("PUT", "/v1/admin/tenants/clinic-a", sar_cap, 422)["field"], "spend_cap.currency");

  // The instance is created anew (its price changed) before the reload logs.
  auto reload_to = [&](const std::string& sections) {
    const auto seen = gw_->log().size();
    gw_->rewrite(sections);
    gw_->signal(SIGHUP);
    ASSERT_TRUE(eventually(
        [&] { return gw_->log().find("configuration reloaded: 0 provider instance(s) kept, 1 created", seen) != std::string::npos; },
        10s))
        << gw_->log();
  };
  std::string unpriced = kSections;
  unpriced.erase(unpriced.find("    price:"), std::string("    price: {per_segment: \"0.05\", currency: USD}\n").size());
  ASSERT_EQ(unpriced.find("price"), std::string::npos);
  reload_to(unpriced);
  auto refused = admin("PUT", "/v1/admin/tenants/clinic-a", usd_cap, 422);
  EXPECT_EQ(refused["field"], "spend_cap.currency") << refused.dump();

  std::string in_sar = kSections;
  in_sar.replace(in_sar.find("currency: USD"), std::string("currency: USD").size(), "currency: SAR");
  reload_to(in_sar);
  admin("PUT", "/v1/admin/tenants/clinic-a", sar_cap, 200);
  EXPECT_EQ(admin("PUT", "/v1/admin/tenants/clinic-a", usd_cap, 422)["field"], "spend_cap.currency");
}

// Seconds from `t` to the first of the next UTC month, rounded up (as
// Retry-After gives them).
long long seconds_to_next_month(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const year_month_day ymd{floor<days>(t)};
  const sys_days next{(year_month{ymd.year(), ymd.month()} + months(1)) / 1};
  return ceil<seconds>(next - t).count();
}

// The monthly quota counts the month, not the day: a new day does not lift
// it, a new month does (the usage rows are moved back a day, then a month,
// as if the calendar had turned). Past it, 429 with Retry-After until the
// first of the next UTC month, and a bulk is refused whole. The spend cap's
// 402 carries the same Retry-After.
TEST_F(AdminE2E, TheMonthlyQuotaAndTheSpendCapHoldUntilTheMonthTurns) {
  auto send = [&](const std::string& key, int n) {
    return gw_->request("POST", "/v1/messages",
                        json{{"to", "+9665012345" + std::to_string(10 + n)}, {"body", "Appointment reminder"}}.dump(),
                        key);
  };
  // A refusal with its Retry-After, checked against the calendar around it.
  auto refused_until_next_month = [&](const std::string& key, int n, long status, const std::string& type) {
    const auto before = std::chrono::system_clock::now();
    auto r = send(key, n);
    const auto after = std::chrono::system_clock::now();
    EXPECT_EQ(r.status, status) << r.body;
    const auto problem = json::parse(r.body, nullptr, false);
    EXPECT_EQ(problem.value("type", ""), "urn:barid:problem:" + type) << r.body;
    const std::string retry_after = r.header("Retry-After");
    EXPECT_FALSE(retry_after.empty()) << r.body;
    if (!retry_after.empty()) {
      EXPECT_GE(std::stoll(retry_after), seconds_to_next_month(after));
      EXPECT_LE(std::stoll(retry_after), seconds_to_next_month(before));
    }
    return problem.value("detail", "");
  };
  const std::string a = db_.scalar("SELECT id FROM tenants WHERE name = 'clinic-a'");
  auto t = admin("PUT", "/v1/admin/tenants/clinic-a",
                 {{"quotas", {{"messages_per_day", 10}, {"messages_per_month", 3}}}}, 200);
  EXPECT_EQ(t["quotas"]["messages_per_month"], 3);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(send(key_a_, i).status, 202);
  EXPECT_NE(refused_until_next_month(key_a_, 3, 429, "quota-exceeded").find("monthly quota of 3"), std::string::npos);
  long status = 0;
  auto bulk = gw_->json("POST", "/v1/messages/bulk",
                        {{"body", "Clinic closed Friday"}, {"recipients", {{{"to", "+966501234599"}}}}}, key_a_, &status);
  EXPECT_EQ(status, 429) << bulk.dump();
  EXPECT_NE(bulk.value("detail", "").find("the bulk was not accepted"), std::string::npos) << bulk.dump();
  auto usage = gw_->json("GET", "/v1/usage", nullptr, key_a_);
  EXPECT_EQ(usage["month"]["messages"], 3);
  EXPECT_EQ(usage["month"]["quota"], 3);
  EXPECT_EQ(usage["month"]["remaining"], 0);
  EXPECT_EQ(usage["day"]["remaining"], 7);

  // The next day: the day's count starts again, the month's does not.
  db_.execute("UPDATE tenant_usage SET period_start = period_start - INTERVAL 1 DAY WHERE period = 'd' AND tenant_id = " +
              a);
  usage = gw_->json("GET", "/v1/usage", nullptr, key_a_);
  EXPECT_EQ(usage["day"]["messages"], 0) << usage.dump();
  EXPECT_EQ(usage["month"]["messages"], 3) << usage.dump();
  EXPECT_NE(refused_until_next_month(key_a_, 4, 429, "quota-exceeded").find("monthly quota of 3"), std::string::npos);
  // The next month: accepted again.
  db_.execute("UPDATE tenant_usage SET period_start = period_start - INTERVAL 1 MONTH WHERE period = 'm' AND "
              "tenant_id = " + a);
  EXPECT_EQ(send(key_a_, 5).status, 202);
  EXPECT_EQ(gw_->json("GET", "/v1/usage", nullptr, key_a_)["month"]["messages"], 1);
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE tenant_id = " + a), "4");

  // The spend cap: 0.05 USD a segment, capped at 0.10: two messages, then
  // 402 until the month turns.
  admin("PUT", "/v1/admin/tenants/clinic-b", {{"spend_cap", {{"amount", "0.10"}, {"currency", "USD"}}}}, 200);
  ASSERT_EQ(send(key_b_, 1).status, 202);
  ASSERT_EQ(send(key_b_, 2).status, 202);
  EXPECT_NE(refused_until_next_month(key_b_, 3, 402, "spend-cap-reached").find("monthly spend cap"), std::string::npos);
  bulk = gw_->json("POST", "/v1/messages/bulk",
                   {{"body", "Clinic closed Friday"}, {"recipients", {{{"to", "+966501234599"}}}}}, key_b_, &status);
  EXPECT_EQ(status, 402) << bulk.dump();
}

// Suspended through one node, the tenant is refused by another that had
// its key cached (for an hour: only its poll of the database can tell it),
// within seconds; that node's dispatcher holds its due message too, and
// sends it once the tenant is resumed through it. What reached the provider
// is read from the mock's send log.
TEST_F(AdminE2E, ASuspensionTakesEffectOnASecondNode) {
  const SendLogFile sends;
  const std::string sections = sends.into(kSections) + "auth: {key_cache_ttl: 1h, revocation_poll: 1s}\n";
  ASSERT_EQ(gw_->terminate(), std::optional<int>(0));
  gw_ = std::make_unique<GatewayUnderTest>(db_, sections);
  gw_->start();
  GatewayUnderTest second(db_, sections);
  second.start();
  long status = 0;
  second.json("GET", "/v1/messages", nullptr, key_a_, &status);
  ASSERT_EQ(status, 200);  // cached on the second node now
  const auto due = std::chrono::system_clock::now() + 3s;
  auto sent = second.json("POST", "/v1/messages",
                          {{"to", "+966501234567"},
                           {"body", "Your appointment is tomorrow"},
                           {"scheduled_at",
                            core::format_iso8601(std::chrono::time_point_cast<std::chrono::microseconds>(due))}},
                          key_a_, &status);
  ASSERT_EQ(status, 202) << sent.dump();
  const std::string id = sent["id"];

  EXPECT_EQ(admin("POST", "/v1/admin/tenants/clinic-a/suspend", nullptr, 200)["status"], "suspended");
  auto refused = gw_->json("GET", "/v1/messages", nullptr, key_a_, &status);
  EXPECT_EQ(status, 403);  // the node that suspended it: at once
  EXPECT_EQ(refused["type"], "urn:barid:problem:tenant-suspended") << refused.dump();
  ASSERT_TRUE(eventually(
      [&] {
        refused = second.json("GET", "/v1/messages", nullptr, key_a_, &status);
        return status == 403;
      },
      5s))
      << status << " " << refused.dump();
  EXPECT_EQ(refused["type"], "urn:barid:problem:tenant-suspended") << refused.dump();
  second.json("POST", "/v1/messages", {{"to", "+966501234568"}, {"body", "x"}}, key_a_, &status);
  EXPECT_EQ(status, 403);

  // From here the second node alone sends: past the message's time it
  // still waits, while the other clinic's message goes out.
  ASSERT_EQ(gw_->terminate(), std::optional<int>(0));
  const std::string hex = "UNHEX(REPLACE('" + id + "', '-', ''))";
  ASSERT_TRUE(eventually([&] { return db_.scalar("SELECT next_attempt_at < UTC_TIMESTAMP(6) - INTERVAL 1 SECOND "
                                                 "FROM messages WHERE id = " + hex) == "1"; },
                         10s));
  const std::string other =
      second.json("POST", "/v1/messages", {{"to", "+966501234569"}, {"body", "x"}}, key_b_, &status)["id"];
  EXPECT_EQ(second.wait_for_status(key_b_, other, "delivered")["status"], "delivered");
  EXPECT_EQ(db_.scalar("SELECT status FROM messages WHERE id = " + hex), "scheduled");
  EXPECT_EQ(sends.read().find(id), nullptr) << "sent while its tenant was suspended";

  // Resumed through the second node: at once there, and the message goes.
  auto resumed = second.json("POST", "/v1/admin/tenants/clinic-a/resume", nullptr, op_, &status);
  EXPECT_EQ(status, 200) << resumed.dump();
  EXPECT_EQ(resumed["status"], "active");
  second.json("GET", "/v1/messages", nullptr, key_a_, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(second.wait_for_status(key_a_, id, "delivered")["status"], "delivered");
  EXPECT_EQ(sends.read().times()[id], 1);
}

// A message whose validity ends while its tenant is suspended is never
// sent: resumed, it ends expired; one without a validity goes out.
TEST_F(AdminE2E, AValidityThatEndsWhileTheTenantIsSuspendedExpiresTheMessage) {
  const SendLogFile sends;
  ASSERT_EQ(gw_->terminate(), std::optional<int>(0));
  gw_ = std::make_unique<GatewayUnderTest>(db_, sends.into(kSections));
  gw_->start();
  const auto due = core::format_iso8601(
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now() + 3s));
  long status = 0;
  auto brief = gw_->json("POST", "/v1/messages",
                         {{"to", "+966501234567"}, {"body", "Reply by 09:00"}, {"scheduled_at", due}, {"validity", "2s"}},
                         key_a_, &status);
  ASSERT_EQ(status, 202) << brief.dump();
  auto lasting = gw_->json("POST", "/v1/messages",
                           {{"to", "+966501234568"}, {"body", "Your results are ready"}, {"scheduled_at", due}}, key_a_,
                           &status);
  ASSERT_EQ(status, 202) << lasting.dump();
  const std::string short_id = brief["id"], long_id = lasting["id"];
  EXPECT_EQ(admin("POST", "/v1/admin/tenants/clinic-a/suspend", nullptr, 200)["status"], "suspended");
  // Past the end of its validity, with the dispatcher polling every 50 ms.
  const std::string hex = "UNHEX(REPLACE('" + short_id + "', '-', ''))";
  ASSERT_TRUE(eventually([&] { return db_.scalar("SELECT expires_at < UTC_TIMESTAMP(6) - INTERVAL 1 SECOND "
                                                 "FROM messages WHERE id = " + hex) == "1"; },
                         15s));
  EXPECT_EQ(db_.scalar("SELECT GROUP_CONCAT(status) FROM messages"), "scheduled,scheduled");
  EXPECT_TRUE(sends.read().lines.empty());

  EXPECT_EQ(admin("POST", "/v1/admin/tenants/clinic-a/resume", nullptr, 200)["status"], "active");
  auto expired = gw_->wait_for_status(key_a_, short_id, "expired");
  EXPECT_EQ(expired["status"], "expired") << expired.dump();
  EXPECT_EQ(expired["status_reason"], "validity ended before it was sent") << expired.dump();
  EXPECT_EQ(expired["attempts"], 0) << expired.dump();
  EXPECT_EQ(gw_->wait_for_status(key_a_, long_id, "delivered")["status"], "delivered");
  const SendLog log = sends.read();
  EXPECT_EQ(log.find(short_id), nullptr) << "sent after its validity ended";
  EXPECT_EQ(log.times()[long_id], 1);
  EXPECT_EQ(log.lines.size(), 1u);
}

// The operator's own audit trail (GET /v1/admin/audit): its reads of
// inbound bodies, with its key, IP and user agent, and the operator keys it
// revoked; newest first, paged with limit and before. What it did to a
// tenant (suspend, resume, a key) is in that tenant's log, not here.
TEST_F(AdminE2E, TheOperatorsOwnAuditHoldsItsReadsAndRevocationsNotWhatItDidToTenants) {
  const std::string op_id = op_.substr(4, op_.find('_', 4) - 4);  // brd_<id>_<secret>
  admin("POST", "/v1/admin/tenants/clinic-a/suspend", nullptr, 200);
  admin("POST", "/v1/admin/tenants/clinic-a/resume", nullptr, 200);
  const std::string tenant_key = admin("POST", "/v1/admin/tenants/clinic-a/keys", {{"label", "desk"}}, 201)["id"];
  // A reply to a message of clinic A, read by the operator.
  long status = 0;
  const std::string id = gw_->json("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "x"}}, key_a_,
                                   &status)["id"];
  ASSERT_EQ(gw_->wait_for_status(key_a_, id, "delivered")["status"], "delivered");
  ASSERT_EQ(gw_->request("POST", "/webhooks/mock-sms/inbound",
                         json{{"from", "+966501234567"}, {"body", "yes"}, {"id", "in-1"}}.dump())
                .status,
            200);
  auto page = gw_->json("GET", "/v1/admin/inbound?include=body", nullptr, op_, &status,
                        {{"User-Agent", "ops-console/1.0"}});
  ASSERT_EQ(status, 200) << page.dump();
  ASSERT_EQ(page["inbound"].size(), 1u) << page.dump();
  const std::string inbound_id = page["inbound"][0]["id"];
  // Another operator key, revoked.
  const std::string other = gw_->create_operator_key();
  const std::string other_id = other.substr(4, other.find('_', 4) - 4);
  admin("DELETE", "/v1/admin/keys/" + other_id, nullptr, 200);

  auto own = admin("GET", "/v1/admin/audit", nullptr, 200)["entries"];
  ASSERT_EQ(own.size(), 2u) << own.dump();
  EXPECT_EQ(own[0]["action"], "key_revoked");
  EXPECT_EQ(own[0]["subject"], "key:" + other_id);
  EXPECT_EQ(own[0]["actor"], "operator:" + op_id);
  EXPECT_EQ(own[1]["action"], "inbound.body_read");
  EXPECT_EQ(own[1]["subject"], inbound_id);
  EXPECT_EQ(own[1]["detail"], inbound_id);
  EXPECT_EQ(own[1]["actor"], "operator:" + op_id);
  EXPECT_EQ(own[1]["ip"], "127.0.0.1");
  EXPECT_EQ(own[1]["user_agent"], "ops-console/1.0");
  // Paged: one entry at a time, newest first.
  auto first = admin("GET", "/v1/admin/audit?limit=1", nullptr, 200)["entries"];
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0]["id"], own[0]["id"]);
  auto next = admin("GET", "/v1/admin/audit?limit=1&before=" + std::to_string(first[0]["id"].get<long long>()),
                    nullptr, 200)["entries"];
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0]["id"], own[1]["id"]);

  // The tenant's log has what the operator did to it, and not the read.
  std::vector<std::string> operator_actions;
  const json tenants_log = gw_->json("GET", "/v1/audit", nullptr, key_a_);
  for (const auto& e : tenants_log["entries"]) {
    EXPECT_NE(e["action"], "inbound.body_read") << e.dump();
    if (e["actor"] == "operator:" + op_id) operator_actions.push_back(e["action"].get<std::string>() + " " +
                                                                      e["subject"].get<std::string>());
  }
  const std::string tenant = "tenant:" + db_.scalar("SELECT id FROM tenants WHERE name = 'clinic-a'");
  EXPECT_EQ(operator_actions, (std::vector<std::string>{"key_created key:" + tenant_key, "tenant_resumed " + tenant,
                                                         "tenant_suspended " + tenant}))
      << tenants_log.dump();
}

TEST_F(AdminE2E, ATenantSendsOnlyFromItsSendersWithItsTemplatesToItsCountries) {
  auto t = admin("PUT", "/v1/admin/tenants/clinic-a",
                 {{"allowed_senders", {{"sms", {"CLINIC-A", "+15017122661"}}}},
                  {"default_senders", {{"sms", "CLINIC-A"}}},
                  {"allowed_provider_templates", {"HX0000000000000000000000000000aaaa"}},
                  {"allowed_countries", {"SA"}}},
                 200);
  EXPECT_EQ(t["allowed_senders"]["sms"], (json{"+15017122661", "CLINIC-A"}));
  EXPECT_EQ(t["default_senders"]["sms"], "CLINIC-A");
  auto send = [&](const std::string& key, json body) {
    long status = 0;
    auto r = gw_->json("POST", "/v1/messages", body, key, &status);
    return std::make_pair(status, r);
  };
  auto [s1, ok] = send(key_a_, {{"to", "+966501234567"}, {"body", "x"}});
  ASSERT_EQ(s1, 202) << ok.dump();
  EXPECT_EQ(gw_->json("GET", "/v1/messages/" + ok["id"].get<std::string>(), nullptr, key_a_)["from"], "CLINIC-A");
  auto [s2, spoofed] = send(key_a_, {{"to", "+966501234567"}, {"body", "x"}, {"from", "CLINIC-B"}});
  EXPECT_EQ(s2, 422);
  EXPECT_EQ(spoofed["field"], "from");
  auto [s3, foreign_template] =
      send(key_a_, {{"to", "+966501234567"},
                    {"provider_template", {{"id", "HX0000000000000000000000000000bbbb"}, {"variables", {"x"}}}}});
  EXPECT_EQ(s3, 422);
  EXPECT_EQ(foreign_template["field"], "provider_template");
  auto [s4, abroad] = send(key_a_, {{"to", "+971501234567"}, {"body", "x"}});
  EXPECT_EQ(s4, 422);
  EXPECT_EQ(abroad["field"], "to");
  // The other clinic has no such rules: it sends anywhere, but on the
  // shared instance only from the instance's own sender.
  auto [s5, other] = send(key_b_, {{"to", "+971501234567"}, {"body", "x"}});
  EXPECT_EQ(s5, 202) << other.dump();
  auto [s5b, unlisted] = send(key_b_, {{"to", "+971501234567"}, {"body", "x"}, {"from", "CLINIC-B"}});
  EXPECT_EQ(s5b, 422) << unlisted.dump();
  EXPECT_EQ(unlisted["field"], "from");

  EXPECT_EQ(admin("PUT", "/v1/admin/tenants/clinic-a",
                  {{"allowed_senders", {{"sms", {"CLINIC-A"}}}}, {"default_senders", {{"sms", "OTHER"}}}}, 422)["field"],
            "default_senders.sms");
  EXPECT_EQ(admin("PUT", "/v1/admin/tenants/clinic-a", {{"allowed_countries", {"XX"}}}, 422)["field"],
            "allowed_countries");
  // Lifting the rules: every country goes again (from the shared sender).
  admin("PUT", "/v1/admin/tenants/clinic-a", json::object(), 200);
  auto [s6, lifted] = send(key_a_, {{"to", "+971501234567"}, {"body", "x"}});
  EXPECT_EQ(s6, 202) << lifted.dump();
}

TEST_F(AdminE2E, AnOperatorRunsAJobNow) {
  // kSections has every job switched off: none can be run.
  EXPECT_EQ(admin("POST", "/v1/admin/jobs/retention/run", nullptr, 404)["status"], 404);
  gw_->terminate();
  gw_ = std::make_unique<GatewayUnderTest>(db_, std::string(kSections).substr(0, std::string(kSections).find("jobs:")) +
                                                    "jobs: {retention: {daily_at: \"02:00\"}}\n");
  gw_->start();
  // Answered at once, before the job has done anything; the run is read by
  // its id until it is finished.
  long status = 0;
  auto started = gw_->request("POST", "/v1/admin/jobs/retention/run", {}, op_);
  ASSERT_EQ(started.status, 202) << started.body;
  auto r = json::parse(started.body);
  EXPECT_EQ(r["job"], "retention");
  EXPECT_EQ(r["status"], "running");
  const std::string id = r["id"];
  EXPECT_EQ(started.header("Location"), "/v1/admin/jobs/runs/" + id);
  json run;
  ASSERT_TRUE(eventually(
      [&] {
        run = gw_->json("GET", "/v1/admin/jobs/runs/" + id, nullptr, op_, &status);
        return status == 200 && run["status"] == "finished";
      },
      30s))
      << run.dump();
  EXPECT_NE(run["result"].get<std::string>().find("deleted"), std::string::npos) << run.dump();
  EXPECT_EQ(run["requested_by"].get<std::string>().rfind("operator:", 0), 0u);
  EXPECT_TRUE(run["finished_at"].is_string());
  EXPECT_NE(db_.scalar("SELECT last_result FROM jobs WHERE name = 'retention'"), "");
  admin("GET", "/v1/admin/jobs/runs/01a2111c-0000-7000-8000-000000000001", nullptr, 404);
  admin("GET", "/v1/admin/jobs/runs/" + id, nullptr, 403, key_a_);
}

// A clinic with its own provider account: its messages go through its own
// instance (priced its way), everyone else's through the global route.
TEST_F(AdminE2E, ATenantRoutedToItsOwnInstanceSendsThroughIt) {
  gw_->terminate();
  std::string sections = kSections;
  sections.replace(sections.find("routing:"), 0, R"yaml(  clinic-a-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, delivered_after_ms: "50"}
    price: {per_segment: "0.10", currency: USD}
  clinic-a-whatsapp:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: whatsapp, delivered_after_ms: "50"}
)yaml");
  gw_ = std::make_unique<GatewayUnderTest>(db_, sections);
  gw_->start();
  auto t = admin("PUT", "/v1/admin/tenants/clinic-a",
                 {{"routing", {{"sms", {{"provider", "clinic-a-sms"}}}, {"whatsapp", {{"provider", "clinic-a-whatsapp"}}}}}},
                 200);
  EXPECT_EQ(t["routing"]["sms"]["provider"], "clinic-a-sms");
  auto send = [&](const std::string& key, int n) {
    long status = 0;
    auto r = gw_->json("POST", "/v1/messages", {{"to", "+9665012346" + std::to_string(10 + n)}, {"body", "x"}}, key,
                       &status);
    EXPECT_EQ(status, 202) << r.dump();
    return r["id"].get<std::string>();
  };
  std::vector<std::string> a_ids, b_ids;
  for (int i = 0; i < 3; ++i) {
    a_ids.push_back(send(key_a_, i));
    b_ids.push_back(send(key_b_, 10 + i));
  }
  for (const auto& id : a_ids)
    EXPECT_EQ(gw_->wait_for_status(key_a_, id, "delivered")["provider"]["instance"], "clinic-a-sms");
  for (const auto& id : b_ids)
    EXPECT_EQ(gw_->wait_for_status(key_b_, id, "delivered")["provider"]["instance"], "mock-sms");
  // Its usage is priced at its own instance's price.
  long status = 0;
  auto usage = gw_->json("GET", "/v1/usage", nullptr, key_a_, &status);
  EXPECT_EQ(usage["month"]["estimated_cost"], (json{{{"amount", "0.300000"}, {"currency", "USD"}}})) << usage.dump();

  // WhatsApp has no global route: only clinic-a, with its own instance, can
  // use it, and each clinic's view of its channels says so.
  auto wa = gw_->json("POST", "/v1/messages",
                      {{"channel", "whatsapp"}, {"to", "+966501234699"}, {"provider_template", {{"id", "HXa1"}}}}, key_a_, &status);
  ASSERT_EQ(status, 202) << wa.dump();
  EXPECT_EQ(gw_->wait_for_status(key_a_, wa["id"].get<std::string>(), "delivered")["provider"]["instance"], "clinic-a-whatsapp");
  auto refused =
      gw_->json("POST", "/v1/messages", {{"channel", "whatsapp"}, {"to", "+966501234699"}, {"body", "x"}}, key_b_, &status);
  EXPECT_EQ(status, 422);
  EXPECT_EQ(refused["field"], "channel");
  auto a_view = gw_->json("GET", "/v1/providers", nullptr, key_a_);
  EXPECT_EQ(a_view["channels"]["sms"]["instances"][0]["name"], "clinic-a-sms") << a_view.dump();
  EXPECT_EQ(a_view["channels"]["whatsapp"]["instances"][0]["name"], "clinic-a-whatsapp") << a_view.dump();
  auto b_view = gw_->json("GET", "/v1/providers", nullptr, key_b_);
  EXPECT_EQ(b_view["channels"]["sms"]["instances"][0]["name"], "mock-sms") << b_view.dump();
  EXPECT_FALSE(b_view["channels"].contains("whatsapp")) << b_view.dump();
  // A template's estimated cost is each clinic's own price.
  const json reminder = {{"channels", {"sms"}}, {"translations", {{"en", {{"body", "See you at {{time}}."}}}}}};
  EXPECT_EQ(gw_->json("PUT", "/v1/templates/reminder", reminder, key_a_)["preflight"]["en"]["estimated_cost"]["amount"],
            "0.100000");
  EXPECT_EQ(gw_->json("PUT", "/v1/templates/reminder", reminder, key_b_)["preflight"]["en"]["estimated_cost"]["amount"],
            "0.050000");

  EXPECT_EQ(admin("PUT", "/v1/admin/tenants/clinic-a", {{"routing", {{"sms", {{"provider", "nowhere"}}}}}}, 422)["field"],
            "routing.sms.provider");
  EXPECT_EQ(admin("PUT", "/v1/admin/tenants/clinic-a",
                  {{"routing", {{"sms", {{"provider", "clinic-a-sms"}, {"fallback", {"nowhere"}}}}}}}, 422)["field"],
            "routing.sms.fallback[0]");
  // Back to the global route.
  admin("PUT", "/v1/admin/tenants/clinic-a", json::object(), 200);
  const std::string later = send(key_a_, 9);
  EXPECT_EQ(gw_->wait_for_status(key_a_, later, "delivered", 10s)["provider"]["instance"], "mock-sms");
}

// What patients write back is kept for the clinic that last wrote to them
// through that instance, listed for it alone (bodies included), stored once
// however often the provider retries; what no clinic explains goes to the
// instance's default tenant, or is kept for the operator. The WhatsApp
// window a clinic sees is opened only by messages written to it.
TEST_F(AdminE2E, InboundMessagesBelongToTheClinicThatWroteToTheNumber) {
  gw_->terminate();
  std::string sections = kSections;
  sections.replace(sections.find("routing:"), 0, R"yaml(  mock-whatsapp:
    plugin: mock
    allow_unauthenticated_callbacks: true
    default_tenant: clinic-b
    config: {channel: whatsapp, delivered_after_ms: "50"}
)yaml");
  sections.replace(sections.find("  sms: {provider: mock-sms}"), 0, "  whatsapp: {provider: mock-whatsapp}\n");
  gw_ = std::make_unique<GatewayUnderTest>(db_, sections);
  gw_->start();
  const std::string a_patient = "+966501230001", b_patient = "+966501230002", stranger = "+966501230003";
  auto send = [&](const std::string& key, const std::string& channel, const std::string& to) {
    long status = 0;
    json body{{"channel", channel}, {"to", to}};
    if (channel == "sms") body["body"] = "Your appointment is tomorrow at 10:00";
    else body["provider_template"] = {{"id", "HXreminder"}};
    auto r = gw_->json("POST", "/v1/messages", body, key, &status);
    EXPECT_EQ(status, 202) << r.dump();
    gw_->wait_for_status(key, r["id"].get<std::string>(), "delivered");
  };
  send(key_a_, "sms", a_patient);
  send(key_a_, "whatsapp", a_patient);
  send(key_b_, "sms", b_patient);
  auto inbound = [&](const std::string& instance, const json& body) {
    auto r = gw_->request("POST", "/webhooks/" + instance + "/inbound", body.dump());
    EXPECT_EQ(r.status, 200) << r.body;
  };
  inbound("mock-sms", {{"from", a_patient}, {"to", "+15550001"}, {"body", "نعم"}, {"id", "in-1"}});
  inbound("mock-sms", {{"from", a_patient}, {"to", "+15550001"}, {"body", "نعم"}, {"id", "in-1"}});  // retried
  inbound("mock-whatsapp", {{"from", a_patient}, {"body", "See you then"}, {"id", "in-2"}});
  inbound("mock-sms", {{"from", b_patient}, {"body", "Can I come later?"}, {"id", "in-3"}});
  inbound("mock-sms", {{"from", stranger}, {"body", "Who is this?"}, {"id", "in-4"}});
  inbound("mock-whatsapp", {{"from", stranger}, {"body", "Hello"}, {"id", "in-5"}});

  auto a = gw_->json("GET", "/v1/inbound?include=body", nullptr, key_a_);
  ASSERT_EQ(a["inbound"].size(), 2u) << a.dump();
  EXPECT_EQ(a["inbound"][0]["body"], "See you then");  // newest first
  EXPECT_EQ(a["inbound"][0]["channel"], "whatsapp");
  EXPECT_EQ(a["inbound"][1]["body"], "نعم");
  EXPECT_EQ(a["inbound"][1]["from"], a_patient);
  EXPECT_EQ(a["inbound"][1]["to"], "+15550001");
  EXPECT_EQ(a["inbound"][1]["provider"]["message_id"], "in-1");
  EXPECT_FALSE(a["inbound"][1].contains("tenant_id"));
  EXPECT_TRUE(a["next_cursor"].is_null());
  auto b = gw_->json("GET", "/v1/inbound?include=body", nullptr, key_b_);
  ASSERT_EQ(b["inbound"].size(), 2u) << b.dump();
  EXPECT_EQ(b["inbound"][0]["body"], "Hello");  // the WhatsApp instance's default tenant
  EXPECT_EQ(b["inbound"][1]["body"], "Can I come later?");
  // Filters and pages.
  auto by_phone = gw_->json("GET", "/v1/inbound?phone=0501230001&limit=1", nullptr, key_a_);
  ASSERT_EQ(by_phone["inbound"].size(), 1u);
  ASSERT_TRUE(by_phone["next_cursor"].is_string());
  auto next = gw_->json("GET", "/v1/inbound?include=body&phone=0501230001&limit=1&cursor=" +
                                   by_phone["next_cursor"].get<std::string>(), nullptr, key_a_);
  ASSERT_EQ(next["inbound"].size(), 1u);
  EXPECT_EQ(next["inbound"][0]["body"], "نعم");
  long status = 0;
  EXPECT_EQ(gw_->json("GET", "/v1/inbound?since=yesterday", nullptr, key_a_, &status)["field"], "since");
  EXPECT_EQ(status, 422);
  EXPECT_EQ(gw_->json("GET", "/v1/inbound?since=2000-01-01T00:00:00Z", nullptr, key_b_)["inbound"].size(), 2u);

  // The operator sees those of no clinic.
  auto nobody = admin("GET", "/v1/admin/inbound?unassigned=true&include=body", nullptr, 200);
  ASSERT_EQ(nobody["inbound"].size(), 1u) << nobody.dump();
  EXPECT_EQ(nobody["inbound"][0]["body"], "Who is this?");
  EXPECT_TRUE(nobody["inbound"][0]["tenant_id"].is_null());
  EXPECT_EQ(admin("GET", "/v1/admin/inbound?tenant=clinic-a", nullptr, 200)["inbound"].size(), 2u);
  EXPECT_EQ(admin("GET", "/v1/admin/inbound", nullptr, 200)["inbound"].size(), 5u);
  EXPECT_EQ(admin("GET", "/v1/admin/inbound?tenant=nowhere", nullptr, 422)["field"], "tenant");
  gw_->json("GET", "/v1/admin/inbound", nullptr, key_a_, &status);
  EXPECT_EQ(status, 403);

  // The WhatsApp window: clinic A's patient wrote to clinic A; clinic B,
  // which shares the sender, learns nothing of it.
  auto prefs = gw_->json("GET", "/v1/recipients/+966501230001/preferences", nullptr, key_a_);
  EXPECT_EQ(prefs["whatsapp_session"]["open"], true) << prefs.dump();
  gw_->json("GET", "/v1/recipients/+966501230001/preferences", nullptr, key_b_, &status);
  EXPECT_EQ(status, 404);
}

}  // namespace
}  // namespace barid::testing
