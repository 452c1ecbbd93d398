// End to end: the real barid-gateway binary, the real mock plugin .so loaded
// through the real loader, a real MariaDB, over HTTP.

#include "gateway_harness.hpp"
#include "send_log.hpp"

#include <barid/core/time.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <set>

namespace barid::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char* kMockSections = R"yaml(
providers:
  mock-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, delivered_after_ms: "100", fail_numbers: "+966501110000"}
  mock-whatsapp:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: whatsapp, delivered_after_ms: "50", read_after_ms: "150"}
routing:
  sms: {provider: mock-sms}
  whatsapp: {provider: mock-whatsapp}
retry: {max_attempts: 3, initial_backoff: 100ms, max_backoff: 1s, jitter: 0}
dispatch: {poll_interval: 100ms, lease: 30s}
messaging: {default_region: SA}
)yaml";

class GatewayE2E : public ::testing::Test {
 protected:
  void start(const std::string& sections = kMockSections) {
    gw_ = std::make_unique<GatewayUnderTest>(db_, sections);
    gw_->start();
    if (key_.empty()) key_ = gw_->create_api_key("clinic-a");
    ASSERT_FALSE(key_.empty());
  }

  std::string send(const json& body, long expect = 202, sdk::HttpHeaders headers = {}) {
    long status = 0;
    auto r = gw_->json("POST", "/v1/messages", body, key_, &status, std::move(headers));
    EXPECT_EQ(status, expect) << r.dump();
    return r.is_object() ? r.value("id", "") : "";
  }

  std::vector<std::string> event_types(const std::string& id) {
    std::vector<std::string> out;
    auto r = gw_->json("GET", "/v1/messages/" + id + "/events", nullptr, key_);
    if (r.is_object() && r.contains("events"))
      for (const auto& e : r["events"]) out.push_back(e["type"].get<std::string>());
    return out;
  }

  TestDatabase db_;
  std::unique_ptr<GatewayUnderTest> gw_;
  std::string key_;
  std::string operator_key_;
  const std::string& operator_key() {
    if (operator_key_.empty()) operator_key_ = gw_->create_operator_key();
    return operator_key_;
  }
};

TEST_F(GatewayE2E, SmsGoesThroughTheMockToDelivered) {
  start();
  const std::string id = send({{"to", "0501234567"}, {"body", "Your appointment is tomorrow at 10:00"}});
  ASSERT_FALSE(id.empty());
  auto m = gw_->wait_for_status(key_, id, "delivered");
  ASSERT_EQ(m["status"], "delivered") << m.dump();
  EXPECT_EQ(m["to"], "+966501234567");
  EXPECT_EQ(m["encoding"], "GSM-7");
  EXPECT_EQ(m["segments"], 1);
  EXPECT_EQ(m["attempts"], 1);
  EXPECT_EQ(m["provider"]["instance"], "mock-sms");
  EXPECT_FALSE(m["delivered_at"].is_null());
  EXPECT_EQ(in_order_of_causes(event_types(id)), (std::vector<std::string>{"accepted", "sent", "delivered"}));
  // The row and its events are in MariaDB.
  EXPECT_EQ(db_.scalar("SELECT status FROM messages WHERE id = UNHEX(REPLACE('" + id + "', '-', ''))"), "delivered");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM message_events WHERE message_id = UNHEX(REPLACE('" + id + "', '-', ''))"),
            "3");
}

TEST_F(GatewayE2E, ArabicWhatsAppIsReadAndStoredByteExact) {
  start();
  const std::string body = "مرحبا أحمد، نتائج تحاليلك جاهزة 🧪";
  const std::string id = send({{"to", "+966501234567"}, {"channel", "whatsapp"}, {"body", body}});
  auto m = gw_->wait_for_status(key_, id, "read");
  ASSERT_EQ(m["status"], "read") << m.dump();
  EXPECT_EQ(m["body"], body);
  EXPECT_EQ(m["encoding"], "UCS-2");
  EXPECT_EQ(db_.scalar("SELECT body FROM messages WHERE id = UNHEX(REPLACE('" + id + "', '-', ''))"), body);
  EXPECT_EQ(in_order_of_causes(event_types(id)), (std::vector<std::string>{"accepted", "sent", "delivered", "read"}));
}

TEST_F(GatewayE2E, RepeatingAPostWithItsIdempotencyKeyReturnsTheSameMessage) {
  start();
  json body = {{"to", "+966501234567"}, {"body", "Your results are ready"}};
  sdk::HttpHeaders key_header = {{"Idempotency-Key", "results-77"}};
  const std::string first = send(body, 202, key_header);
  auto again = gw_->request("POST", "/v1/messages", body.dump(), key_, key_header);
  EXPECT_EQ(again.status, 202);
  EXPECT_EQ(json::parse(again.body)["id"], first);
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages"), "1");

  long status = 0;
  auto reused = gw_->json("POST", "/v1/messages", {{"to", "+966501234567"}, {"body", "something else"}}, key_, &status,
                          key_header);
  EXPECT_EQ(status, 422);
  EXPECT_EQ(reused["type"], "urn:barid:problem:idempotency-key-reused");
  EXPECT_EQ(reused["field"], "Idempotency-Key");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages"), "1");
}

TEST_F(GatewayE2E, WithoutAValidKeyTheAnswerIs401) {
  start();
  auto none = gw_->request("POST", "/v1/messages", R"({"to":"+966501234567","body":"x"})");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("Content-Type"), "application/problem+json");
  EXPECT_EQ(none.header("WWW-Authenticate"), "Bearer");
  auto wrong = gw_->request("GET", "/v1/messages/01a2111c-4268-76d4-a9aa-2ad0f8da9a7a", "",
                            "brd_0000000000000000_0000000000000000000000000000000000000000");
  EXPECT_EQ(wrong.status, 401);
  // A real key id with the wrong secret.
  std::string forged = key_.substr(0, key_.rfind('_') + 1) + std::string(40, 'a');
  EXPECT_EQ(gw_->request("GET", "/v1/messages/01a2111c-4268-76d4-a9aa-2ad0f8da9a7a", "", forged).status, 401);
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages"), "0");
}

TEST_F(GatewayE2E, AnotherTenantGets404) {
  start();
  const std::string id = send({{"to", "+966501234567"}, {"body", "private"}});
  const std::string other = gw_->create_api_key("clinic-b");
  EXPECT_EQ(gw_->request("GET", "/v1/messages/" + id, "", other).status, 404);
  EXPECT_EQ(gw_->request("GET", "/v1/messages/" + id + "/events", "", other).status, 404);
  EXPECT_EQ(gw_->request("GET", "/v1/messages/" + id, "", key_).status, 200);
}

TEST_F(GatewayE2E, BadInputIsAProblemThatNamesTheFieldAndStoresNothing) {
  start();
  struct Case {
    std::string body;
    long status;
    std::string field;
  } cases[] = {
      {R"({"to":"12","body":"x"})", 422, "to"},
      {R"({"to":"+966501234567"})", 422, "body"},
      {R"({"to":"+966501234567","body":"x","channel":"fax"})", 422, "channel"},
      {R"({"to":"+966501234567","body":"x","boby":"typo"})", 422, "boby"},
      {R"({"to":966501234567,"body":"x"})", 422, "to"},
      {R"({"to":"+966501234567","body":"x","scheduled_at":"tomorrow"})", 422, "scheduled_at"},
      {R"({"to":"+966501234567","body":"x","max_attempts":99})", 422, "max_attempts"},
      {R"({"to":"+966501234567","body":")" + std::string(1601, 'a') + R"("})", 422, "body"},
      // The limits api.md and openapi.json state at each field.
      {R"({"to":"+966501234567","body":"x","reference":")" + std::string(129, 'r') + R"("})", 422, "reference"},
      {R"({"to":"+966501234567","body":"x","recipient_id":")" + std::string(129, 'p') + R"("})", 422,
       "recipient_id"},
      {R"({"to":"+966501234567","body":"x","category":")" + std::string(33, 'c') + R"("})", 422, "category"},
      {R"({"to":"+966501234567","provider_template":{"id":")" + std::string(129, 'H') + R"("}})", 422,
       "provider_template.id"},
      {R"({"to":"+966501234567","provider_template":{"id":"HX1","variables":["a",")" + std::string(1025, 'v') +
           R"("]}})",
       422, "provider_template.variables[1]"},
      {R"({"to":"+966501234567","body":"x")", 400, ""},
      {R"([1,2,3])", 422, ""},
  };
  for (const auto& c : cases) {
    auto r = gw_->request("POST", "/v1/messages", c.body, key_);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 80) << " -> " << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/problem+json") << c.body.substr(0, 80);
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["status"], c.status);
    if (!c.field.empty()) {
      EXPECT_EQ(j.value("field", ""), c.field) << r.body;
    }
  }
  auto big = gw_->request("POST", "/v1/messages", std::string(70 * 1024, ' '), key_);
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(gw_->request("GET", "/v1/messages/not-a-uuid", "", key_).status, 404);
  EXPECT_EQ(gw_->request("GET", "/v1/nothing-here", "", key_).status, 404);
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages"), "0");
  EXPECT_TRUE(gw_->running());
}

TEST_F(GatewayE2E, PermanentFailureIsNotRetried) {
  start();
  const std::string id = send({{"to", "+966501110000"}, {"body", "x"}});
  auto m = gw_->wait_for_status(key_, id, "failed");
  ASSERT_EQ(m["status"], "failed") << m.dump();
  EXPECT_EQ(m["attempts"], 1);
  EXPECT_EQ(m["error"]["code"], "MOCK-INVALID-NUMBER");
  EXPECT_EQ(event_types(id), (std::vector<std::string>{"accepted", "failed"}));
}

TEST_F(GatewayE2E, TransientFailuresAreRetriedWithBackoffUntilSent) {
  start(R"yaml(
providers:
  flaky:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, transient_failures: "2"}
routing:
  sms: {provider: flaky}
retry: {max_attempts: 3, initial_backoff: 100ms, max_backoff: 1s, jitter: 0}
dispatch: {poll_interval: 50ms}
)yaml");
  const std::string id = send({{"to", "+966501234567"}, {"body", "x"}});
  auto m = gw_->wait_for_status(key_, id, "delivered");
  ASSERT_EQ(m["status"], "delivered") << m.dump();
  EXPECT_EQ(m["attempts"], 3);
  // The delivery report may be applied before the send's outcome is recorded.
  EXPECT_EQ(in_order_of_causes(event_types(id)),
            (std::vector<std::string>{"accepted", "retry_scheduled", "retry_scheduled", "sent", "delivered"}));
}

TEST_F(GatewayE2E, RetriesStopAfterMaxAttempts) {
  start(R"yaml(
providers:
  down:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, transient_failures: "100"}
routing:
  sms: {provider: down}
retry: {max_attempts: 3, initial_backoff: 50ms, max_backoff: 200ms, jitter: 0}
dispatch: {poll_interval: 50ms}
)yaml");
  const std::string id = send({{"to", "+966501234567"}, {"body", "x"}});
  auto m = gw_->wait_for_status(key_, id, "failed");
  ASSERT_EQ(m["status"], "failed") << m.dump();
  EXPECT_EQ(m["attempts"], 3);
  EXPECT_EQ(m["error"]["code"], "MOCK-TRANSIENT");
}

TEST_F(GatewayE2E, ABadWebhookSignatureIs403AndChangesNothing) {
  start(R"yaml(
providers:
  signed:
    plugin: mock
    config: {channel: sms, webhook_secret: "s3cret", delivered_after_ms: "600000"}
routing:
  sms: {provider: signed}
)yaml");
  const std::string id = send({{"to", "+966501234567"}, {"body", "x"}});
  auto m = gw_->wait_for_status(key_, id, "sent");
  ASSERT_EQ(m["status"], "sent");
  const std::string report =
      json{{"reports", json::array({{{"id", m["provider"]["message_id"]}, {"status", "delivered"}}})}}.dump();
  auto forged = gw_->request("POST", "/webhooks/signed/status", report, "", {{"X-Mock-Signature", "00ff"}});
  EXPECT_EQ(forged.status, 403);
  auto unsigned_ = gw_->request("POST", "/webhooks/signed/status", report);
  EXPECT_EQ(unsigned_.status, 403);
  EXPECT_EQ(gw_->json("GET", "/v1/messages/" + id, nullptr, key_)["status"], "sent");
  EXPECT_EQ(gw_->request("POST", "/webhooks/no-such-instance/status", report).status, 404);
  // The secret never reaches the log.
  EXPECT_EQ(gw_->log().find("s3cret"), std::string::npos);
}

// A provider instance whose webhooks anyone could call is not started unless
// the operator says so, neither at start nor at a reload.
TEST(WebhookAuthenticityE2E, AnInstanceThatCannotAuthenticateItsWebhooksNeedsTheOperatorsConsent) {
  TestDatabase db;
  const std::string open = R"yaml(
providers:
  open-sms:
    plugin: mock
    config: {channel: sms}
routing:
  sms: {provider: open-sms}
)yaml";
  GatewayUnderTest refused(db, open);
  EXPECT_NE(refused.start_expecting_exit(), std::optional<int>(0));
  EXPECT_NE(refused.log().find("providers.open-sms.allow_unauthenticated_callbacks"), std::string::npos)
      << refused.log();
  EXPECT_NE(refused.log().find("no webhook_secret is set"), std::string::npos) << refused.log();

  GatewayUnderTest signed_hooks(db, R"yaml(
providers:
  signed-sms:
    plugin: mock
    config: {channel: sms, webhook_secret: "s3cret-s3cret"}
routing:
  sms: {provider: signed-sms}
)yaml");
  signed_hooks.start();
  EXPECT_EQ(signed_hooks.log().find("unauthenticated"), std::string::npos) << signed_hooks.log();
  // A reload to an instance without a secret is refused; the running one stays.
  signed_hooks.rewrite(open);
  signed_hooks.signal(SIGHUP);
  EXPECT_TRUE(eventually(
      [&] { return signed_hooks.log().find("configuration not reloaded") != std::string::npos; }, 10s))
      << signed_hooks.log();
  EXPECT_EQ(signed_hooks.request("GET", "/health").status, 200);

  std::string allowed = open;
  allowed.replace(allowed.find("    config:"), 0, "    allow_unauthenticated_callbacks: true\n");
  GatewayUnderTest consented(db, allowed);
  consented.start();
  EXPECT_NE(consented.log().find("instance 'open-sms' accepts unauthenticated webhooks"), std::string::npos)
      << consented.log();
}

// A Twilio instance told not to verify X-Twilio-Signature takes webhooks from
// anyone: it needs the same consent, at start and at a reload.
TEST(WebhookAuthenticityE2E, ATwilioInstanceThatDoesNotVerifySignaturesNeedsTheOperatorsConsent) {
  TestDatabase db;
  auto twilio = [](const std::string& extra) {
    return R"yaml(
providers:
  tw-sms:
    plugin: twilio-sms
)yaml" + extra + R"yaml(    config: {account_sid: "AC00000000000000000000000000000000", auth_token: "t0ken-t0ken",
             from: "+15017250604", base_url: "http://127.0.0.1:9", validate_signatures: "false"}
routing:
  sms: {provider: tw-sms}
jobs:
  provider_health: {enabled: false}
)yaml";
  };
  GatewayUnderTest refused(db, twilio(""));
  EXPECT_NE(refused.start_expecting_exit(), std::optional<int>(0));
  EXPECT_NE(refused.log().find("providers.tw-sms.allow_unauthenticated_callbacks"), std::string::npos)
      << refused.log();
  EXPECT_NE(refused.log().find("validate_signatures is false"), std::string::npos) << refused.log();

  const std::string verified = R"yaml(
providers:
  tw-sms:
    plugin: twilio-sms
    config: {account_sid: "AC00000000000000000000000000000000", auth_token: "t0ken-t0ken",
             from: "+15017250604", base_url: "http://127.0.0.1:9"}
routing:
  sms: {provider: tw-sms}
jobs:
  provider_health: {enabled: false}
)yaml";
  GatewayUnderTest running(db, verified);
  running.start();
  EXPECT_EQ(running.log().find("unauthenticated"), std::string::npos) << running.log();
  running.rewrite(twilio(""));
  running.signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return running.log().find("configuration not reloaded") != std::string::npos; }, 10s))
      << running.log();
  EXPECT_NE(running.log().find("providers.tw-sms.allow_unauthenticated_callbacks"), std::string::npos)
      << running.log();
  EXPECT_EQ(running.request("GET", "/health").status, 200);
  // Allowed, the reload takes it (with a warning), and so does a start.
  running.rewrite(twilio("    allow_unauthenticated_callbacks: true\n"));
  running.signal(SIGHUP);
  EXPECT_TRUE(eventually(
      [&] { return running.log().find("instance 'tw-sms' accepts unauthenticated webhooks") != std::string::npos; },
      10s))
      << running.log();

  GatewayUnderTest consented(db, twilio("    allow_unauthenticated_callbacks: true\n"));
  consented.start();
  EXPECT_NE(consented.log().find("instance 'tw-sms' accepts unauthenticated webhooks"), std::string::npos)
      << consented.log();
}

TEST_F(GatewayE2E, HealthAndReadiness) {
  start();
  EXPECT_EQ(gw_->request("GET", "/health").status, 200);
  auto ready = gw_->request("GET", "/ready");
  EXPECT_EQ(ready.status, 200) << ready.body;
  auto j = json::parse(ready.body);
  EXPECT_EQ(j["checks"]["database"]["status"], "ok");
  EXPECT_EQ(j["checks"]["channels"]["sms"]["status"], "ok");
  EXPECT_TRUE(j["checks"]["channels"]["sms"]["instances"].contains("mock-sms"));
}

TEST_F(GatewayE2E, TheOpenApiDocumentDescribesEveryRoute) {
  start();
  auto r = gw_->request("GET", "/openapi.json");
  ASSERT_EQ(r.status, 200);
  auto doc = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["openapi"], "3.0.3");
  for (const char* path : {"/v1/messages", "/v1/messages/bulk", "/v1/messages/{id}", "/v1/messages/{id}/events",
                           "/v1/messages/{id}/refresh", "/v1/messages/{id}/retry", "/v1/messages/{id}/cancel",
                           "/v1/batches/{id}", "/v1/templates", "/v1/templates/{code}",
                           "/v1/recipients/{key}/preferences", "/v1/stats", "/v1/providers", "/v1/settings",
                           "/v1/audit", "/webhooks/{instance}/{kind}", "/health", "/ready", "/metrics",
                           "/v1/admin/providers", "/v1/admin/tenants", "/v1/admin/tenants/{tenant}",
                           "/v1/admin/tenants/{tenant}/suspend", "/v1/admin/tenants/{tenant}/resume",
                           "/v1/admin/tenants/{tenant}/keys", "/v1/admin/keys/{id}", "/v1/admin/jobs/{name}/run",
                           "/v1/admin/jobs/runs/{id}", "/v1/admin/audit",
                           "/v1/usage", "/v1/admin/tenants/{tenant}/usage", "/v1/inbound", "/v1/admin/inbound", "/v1/webhooks", "/v1/webhooks/{id}",
                           "/v1/webhooks/{id}/rotate-secret", "/v1/webhooks/{id}/deliveries", "/v1/webhooks/{id}/replay"})
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
}

TEST_F(GatewayE2E, KeepAliveIsHonoured) {
  start();
  auto r = gw_->request("GET", "/health");
  EXPECT_EQ(r.header("Connection"), "Keep-Alive");
  auto c = gw_->request("GET", "/health", "", "", {{"Connection", "close"}});
  EXPECT_EQ(c.header("Connection"), "Close");
}

// SIGHUP re-reads the configuration: routing and provider instances switch
// without a restart, and a message waiting in the queue is not lost.
TEST_F(GatewayE2E, SighupSwitchesProvidersWithoutARestart) {
  const std::string before = R"yaml(
providers:
  mock-a:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms}
routing:
  sms: {provider: mock-a}
dispatch: {poll_interval: 100ms}
messaging: {default_region: SA}
)yaml";
  start(before);
  const std::string first = send({{"to", "+966501234567"}, {"body", "x"}});
  EXPECT_EQ(gw_->wait_for_status(key_, first, "delivered")["provider"]["instance"], "mock-a");
  const std::string waiting = send({{"to", "+966501234567"}, {"body", "y"},
                                    {"scheduled_at", core::format_iso8601(core::now_us() + 3s)}});

  gw_->rewrite(R"yaml(
providers:
  mock-a:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms}
  mock-b:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, delivered_after_ms: "10"}
routing:
  sms: {provider: mock-b}
dispatch: {poll_interval: 100ms}
messaging: {default_region: SA}
)yaml");
  gw_->signal(SIGHUP);
  ASSERT_TRUE(eventually(
      [&] { return gw_->json("GET", "/v1/admin/providers", nullptr, operator_key())["routing"]["sms"]["provider"] == "mock-b"; }, 10s))
      << gw_->log();
  // The new set is live before the reload has checked the new instance's
  // health and logged what it did.
  EXPECT_TRUE(eventually(
      [&] {
        return gw_->log().find("configuration reloaded: 1 provider instance(s) kept, 1 created, 0 removed") !=
               std::string::npos;
      },
      10s))
      << gw_->log();
  const std::string second = send({{"to", "+966501234567"}, {"body", "z"}});
  EXPECT_EQ(gw_->wait_for_status(key_, second, "delivered")["provider"]["instance"], "mock-b");
  auto m = gw_->wait_for_status(key_, waiting, "delivered", 20s);
  EXPECT_EQ(m["status"], "delivered");
  EXPECT_EQ(m["provider"]["instance"], "mock-b");

  // A configuration that does not hold leaves the running one in place.
  gw_->rewrite(before + "routing_typo: {}\n");
  gw_->signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return gw_->log().find("configuration not reloaded") != std::string::npos; }, 10s));
  EXPECT_EQ(gw_->json("GET", "/v1/admin/providers", nullptr, operator_key())["routing"]["sms"]["provider"], "mock-b");
  EXPECT_TRUE(gw_->running());
}

// kill -9 while messages are leased, then a restart: nothing acknowledged
// is lost and every message completes.
TEST_F(GatewayE2E, KillNineWhileLeasedThenRestartCompletesEveryMessage) {
  start(R"yaml(
providers:
  slow:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, latency_ms: "60000"}
    http: {timeout: 1s}
routing:
  sms: {provider: slow}
dispatch: {senders: 4, claim_batch: 10, lease: 5s, lease_sweep: 200ms, poll_interval: 100ms}
)yaml");
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(send({{"to", "+96650123456" + std::to_string(i % 10)}, {"body", "x"}}));
  ASSERT_TRUE(eventually([&] { return db_.scalar("SELECT COUNT(*) FROM messages WHERE status = 'sending'") != "0"; },
                         10s))
      << gw_->log();
  gw_->kill9();
  EXPECT_NE(db_.scalar("SELECT COUNT(*) FROM messages WHERE status = 'sending'"), "0");

  // The same database, a provider that answers now.
  gw_ = std::make_unique<GatewayUnderTest>(db_, R"yaml(
providers:
  slow:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms}
    http: {timeout: 1s}
routing:
  sms: {provider: slow}
dispatch: {lease: 5s, lease_sweep: 200ms, poll_interval: 100ms}
)yaml");
  gw_->start();
  for (const auto& id : ids) {
    auto m = gw_->wait_for_status(key_, id, "delivered", 30s);
    EXPECT_EQ(m["status"], "delivered") << m.dump();
  }
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages"), "20");
  EXPECT_NE(db_.scalar("SELECT COUNT(*) FROM message_events WHERE type = 'lease_expired'"), "0");
}

// Two gateway nodes on one database share the queue: each message is sent
// once, by one of them, and both take part. Counted where it matters, at
// the provider (the mock's send log, which both nodes write to).
TEST_F(GatewayE2E, TwoNodesSendEveryMessageExactlyOnce) {
  const SendLogFile sends;
  const std::string sections = sends.into(R"yaml(
providers:
  mock-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, latency_ms: "20", delivered_after_ms: "10"}
routing:
  sms: {provider: mock-sms}
dispatch: {senders: 8, claim_batch: 10, poll_interval: 50ms, lease: 30s}
messaging: {default_region: SA}
)yaml");
  start(sections);
  GatewayUnderTest second(db_, sections);
  second.start();
  json recipients = json::array();
  for (int i = 0; i < 400; ++i) recipients.push_back("+9665" + std::to_string(10000000 + i));
  long status = 0;
  gw_->json("POST", "/v1/messages/bulk", {{"body", "x"}, {"recipients", recipients}}, key_, &status);
  ASSERT_EQ(status, 202);
  std::set<std::string> accepted;
  const json listed = gw_->json("GET", "/v1/messages?limit=1000", nullptr, key_);
  for (const auto& m : listed["messages"]) accepted.insert(m["id"].get<std::string>());
  ASSERT_EQ(accepted.size(), 400u) << listed.dump().substr(0, 500);
  ASSERT_TRUE(eventually([&] { return db_.scalar("SELECT COUNT(*) FROM messages WHERE status = 'delivered'") == "400"; },
                         60s))
      << db_.scalar("SELECT GROUP_CONCAT(status, ':', n) FROM (SELECT status, COUNT(*) n FROM messages GROUP BY status) t");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM message_events WHERE type = 'sent'"), "400");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE attempts <> 1"), "0");
  auto sent_by = [](GatewayUnderTest& node) {
    const std::string metrics = node.request("GET", "/metrics").body;
    const std::string name = "barid_dispatch_sent_total ";
    const auto at = metrics.find("\n" + name);
    return at == std::string::npos ? -1L : std::stol(metrics.substr(at + 1 + name.size()));
  };
  const long a = sent_by(*gw_), b = sent_by(second);
  EXPECT_EQ(a + b, 400) << a << " + " << b;
  EXPECT_GT(a, 0);
  EXPECT_GT(b, 0);
  // The provider got 400 send calls, one for each accepted message.
  const SendLog log = sends.read();
  EXPECT_EQ(log.lines.size(), 400u);
  EXPECT_EQ(log.sent_twice(), "");
  std::set<std::string> sent;
  for (const auto& l : log.lines) sent.insert(l.id);
  EXPECT_EQ(sent, accepted);
}

// SIGTERM drains: the sends under way finish and are recorded, what was
// claimed but not tried goes back to the queue, exit status 0.
TEST_F(GatewayE2E, SigtermDrainsAndExitsCleanly) {
  start(R"yaml(
providers:
  slowish:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, latency_ms: "500"}
routing:
  sms: {provider: slowish}
dispatch: {senders: 2, claim_batch: 10, lease: 60s, poll_interval: 100ms}
)yaml");
  for (int i = 0; i < 10; ++i) send({{"to", "+96650123456" + std::to_string(i)}, {"body", "x"}});
  ASSERT_TRUE(eventually([&] { return db_.scalar("SELECT COUNT(*) FROM messages WHERE status = 'sending'") != "0"; },
                         10s));
  auto status = gw_->terminate();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << gw_->log();
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE status = 'sending'"), "0");
  EXPECT_NE(db_.scalar("SELECT COUNT(*) FROM messages WHERE status = 'sent'"), "0");
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE status IN ('sent', 'queued')"), "10");
  // Untried messages were handed back without an attempt counted.
  EXPECT_EQ(db_.scalar("SELECT COUNT(*) FROM messages WHERE status = 'queued' AND attempts <> 0"), "0");
}

}  // namespace
}  // namespace barid::testing
