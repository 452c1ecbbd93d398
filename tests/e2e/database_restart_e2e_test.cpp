// A MariaDB restart under a running gateway is survived without operator
// action: while the database is down, requests get 503 and nothing is lost;
// afterwards the gateway accepts again and finishes every message. The
// database stops while sends are under way (the provider takes 1 s a send,
// two at a time): their outcomes cannot be recorded then, are kept and
// recorded once it is back, and no message reaches the provider twice (the
// mock's send log).

#include "gateway_harness.hpp"
#include "private_mariadb.hpp"
#include "send_log.hpp"

#include <gtest/gtest.h>

#include <set>

namespace barid::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST(DatabaseRestartE2E, TheGatewayRecoversAndLosesNothing) {
  PrivateMariaDb db;
  const SendLogFile sends;
  GatewayUnderTest gw(db.options(), sends.into(R"yaml(
providers:
  mock-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, latency_ms: "1000", delivered_after_ms: "50"}
routing:
  sms: {provider: mock-sms}
dispatch: {senders: 2, claim_batch: 2, poll_interval: 100ms, lease: 30s}
messaging: {default_region: SA}
jobs: {status_refresh: {enabled: false}, retry_sweep: {enabled: false}, retention: {enabled: false},
       provider_health: {enabled: false}}
)yaml"));
  gw.start();
  const std::string key = gw.create_api_key("clinic");
  std::vector<std::string> accepted;
  for (int i = 0; i < 10; ++i) {
    long status = 0;
    auto r = gw.json("POST", "/v1/messages", {{"to", "+96650123456" + std::to_string(i)}, {"body", "x"}}, key, &status);
    ASSERT_EQ(status, 202) << r.dump();
    accepted.push_back(r["id"]);
  }
  // Stop the database while messages are being sent: the provider has
  // been called (its send log), and at least one message is in a send.
  ASSERT_TRUE(eventually(
      [&] {
        return !sends.read().lines.empty() &&
               db.scalar("SELECT COUNT(*) FROM messages WHERE status = 'sending'") != "0";
      },
      20s))
      << gw.log();
  db.stop();
  const std::size_t sent_before_restart = sends.read().lines.size();
  // Ten sends of a second each, two at a time: most were still to go.
  EXPECT_LT(sent_before_restart, 10u);
  long status = 0;
  auto refused = gw.json("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "x"}}, key, &status);
  EXPECT_EQ(status, 503) << refused.dump();
  EXPECT_EQ(refused["type"], "urn:barid:problem:unavailable");
  auto ready = gw.request("GET", "/ready");
  EXPECT_EQ(ready.status, 503);
  // Down, and nothing more: the driver's error text stays in the log.
  EXPECT_EQ(nlohmann::json::parse(ready.body)["checks"]["database"], (nlohmann::json{{"status", "down"}}));
  EXPECT_TRUE(gw.running());
  // A send that was under way finished at the provider while the database
  // was down: its outcome waits to be recorded.
  EXPECT_TRUE(eventually([&] { return gw.log().find("outcomes, will retry") != std::string::npos; }, 10s))
      << gw.log();

  db.start();
  // Accepting again, with no operator action.
  std::string after;
  ASSERT_TRUE(eventually(
      [&] {
        long s = 0;
        auto r = gw.json("POST", "/v1/messages", {{"to", "+966507654321"}, {"body", "x"}}, key, &s);
        if (s == 202) after = r["id"];
        return s == 202;
      },
      30s, 200ms))
      << gw.log();
  accepted.push_back(after);
  EXPECT_TRUE(eventually([&] { return gw.request("GET", "/ready").status == 200; }, 30s));
  for (const auto& id : accepted) {
    auto m = gw.wait_for_status(key, id, "delivered", 60s);
    EXPECT_EQ(m["status"], "delivered") << m.dump();
    EXPECT_EQ(m["attempts"], 1) << m.dump();
  }
  EXPECT_EQ(db.scalar("SELECT COUNT(*) FROM messages"), "11");
  EXPECT_EQ(db.scalar("SELECT COUNT(*) FROM messages WHERE status <> 'delivered'"), "0");
  // Each message reached the provider exactly once.
  const SendLog log = sends.read();
  EXPECT_EQ(log.sent_twice(), "");
  EXPECT_EQ(log.lines.size(), 11u);
  std::set<std::string> sent;
  for (const auto& l : log.lines) sent.insert(l.id);
  EXPECT_EQ(sent, std::set<std::string>(accepted.begin(), accepted.end()));
}

// While the database is down, no answer names it or quotes its driver: each
// is a stable problem type with a request id, and the log holds the cause
// under that id.
TEST(DatabaseRestartE2E, AnswersWhileTheDatabaseIsDownNameNoInternals) {
  PrivateMariaDb db;
  GatewayUnderTest gw(db.options(), kMockGatewaySections);
  gw.start();
  const std::string key = gw.create_api_key("clinic");
  long status = 0;
  auto sent = gw.json("POST", "/v1/messages", {{"to", "+966501234561"}, {"body", "x"}}, key, &status);
  ASSERT_EQ(status, 202) << sent.dump();
  const std::string id = sent["id"];
  db.stop();
  // No answer names the database or its driver's text: a stable type and a
  // request id, under which the log holds the cause.
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"POST", "/v1/messages"},      {"GET", "/v1/messages"},  {"GET", "/v1/messages/" + id},
      {"POST", "/v1/messages/bulk"}, {"GET", "/v1/templates"}, {"GET", "/v1/stats"},
      {"GET", "/v1/settings"},       {"GET", "/v1/inbound"},   {"GET", "/v1/audit"}};
  for (const auto& [method, path] : calls) {
    const std::string body = path == "/v1/messages/bulk"
                                 ? R"({"body": "x", "recipients": [{"to": "+966501234567"}]})"
                                 : method == "POST" ? R"({"to": "+966501234567", "body": "x"})" : "";
    auto r = gw.request(method, path, body, key);
    SCOPED_TRACE(method + " " + path + ": " + std::to_string(r.status) + " " + r.body);
    EXPECT_GE(r.status, 500);
    for (const char* internal : {"MySQL", "mysql", "MariaDB", "SQL", "Lost connection", "errno", "insert "})
      EXPECT_EQ(r.body.find(internal), std::string::npos) << internal;
    const auto problem = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_TRUE(problem.is_object());
    const std::string rid = problem.value("request_id", "");
    EXPECT_FALSE(rid.empty());
    EXPECT_EQ(r.header("X-Request-Id"), rid);
    EXPECT_TRUE(eventually([&] { return gw.log().find("request " + rid + ": ") != std::string::npos; }, 5s)) << rid;
  }
  EXPECT_TRUE(gw.running());
}

}  // namespace
}  // namespace barid::testing
