// docs/openapi.json is true: Prism (a third-party OpenAPI validator, in
// proxy mode) stands in front of the real gateway, and requests covering
// every route and the usual errors go through it. Prism reports each answer
// that breaks the description in an `sl-violations` header; any violation of
// a response fails the test (the requests that are meant to be bad break the
// description on purpose, so request violations are not counted).

#include "gateway_harness.hpp"
#include "log_scan.hpp"
#include "prism.hpp"

#include <barid/core/http_client.hpp>
#include <barid/core/time.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace barid::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char* kSections = R"yaml(
providers:
  mock-sms:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: sms, delivered_after_ms: "50", cost_micros_per_segment: "7500", currency: "USD"}
    price: {per_segment: "0.0075", currency: USD}
  mock-whatsapp:
    plugin: mock
    allow_unauthenticated_callbacks: true
    config: {channel: whatsapp, delivered_after_ms: "50", read_after_ms: "100"}
routing:
  sms: {provider: mock-sms}
  whatsapp: {provider: mock-whatsapp}
dispatch: {poll_interval: 50ms, lease: 30s}
messaging: {default_region: SA}
webhooks: {allow_http_hosts: ["127.0.0.1"], poll_interval: 50ms}
jobs:
  status_refresh: {enabled: false}
  retry_sweep: {enabled: true, every: 24h}
  retention: {enabled: false}
  provider_health: {enabled: false}
)yaml";

class OpenApiCheck : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = std::make_unique<TestDatabase>();
    gw_ = std::make_unique<GatewayUnderTest>(*db_, kSections);
    gw_->start();
    prism_ = start_prism(BARID_PRISM_DIR, {"proxy", BARID_OPENAPI_SPEC, gw_->base_url()});
    // The canary: a copy of the description that the gateway's answer to a
    // send breaks (its status may only be "nothing"), to show that Prism
    // does report a response that breaks it.
    std::ifstream in(BARID_OPENAPI_SPEC);
    json spec = json::parse(in);
    spec["components"]["schemas"]["Accepted"]["properties"]["status"]["enum"] = {"nothing"};
    const std::string broken = std::string(BARID_PRISM_DIR) + "/openapi-canary.json";
    std::filesystem::create_directories(BARID_PRISM_DIR);
    std::ofstream(broken) << spec.dump();
    if (prism_->error.empty() && prism_->skip_reason.empty())
      canary_ = start_prism(BARID_PRISM_DIR, {"proxy", broken, gw_->base_url()});
  }
  static void TearDownTestSuite() {
    canary_.reset();
    prism_.reset();
    gw_.reset();
    db_.reset();
  }
  void SetUp() override {
    if (!prism_->skip_reason.empty()) GTEST_SKIP() << prism_->skip_reason;
    ASSERT_TRUE(prism_->error.empty()) << prism_->error;
  }

  // One request through Prism; its response violations are kept.
  json call(const std::string& method, const std::string& path, const json& body, const std::string& key,
            long expect, sdk::HttpHeaders headers = {}, const PrismServer* via = nullptr) {
    sdk::HttpRequest r;
    r.method = method;
    r.url = (via ? via : prism_.get())->base_url + path;
    if (!key.empty()) headers.push_back({"Authorization", "Bearer " + key});
    if (!body.is_null()) {
      headers.push_back({"Content-Type", "application/json"});
      r.body = body.dump();
    }
    r.headers = std::move(headers);
    record_sent(method, path, r.body);  // for the log scan, as the harness's own requests are
    auto resp = http_.perform(r);
    EXPECT_EQ(resp.status, expect) << method << " " << path << " -> " << resp.body;
    ++calls_;
    const std::string violations = resp.header("sl-violations");
    if (!violations.empty()) {
      auto list = json::parse(violations, nullptr, false);
      if (list.is_array()) {
        for (const auto& v : list) {
          const bool response = v.contains("location") && v["location"].is_array() && !v["location"].empty() &&
                                v["location"][0] == "response";
          if (response) found_.push_back(method + " " + path + " (" + std::to_string(resp.status) + "): " + v.dump());
        }
      } else {
        found_.push_back(method + " " + path + ": " + violations);
      }
    }
    auto j = json::parse(resp.body, nullptr, false);
    return j.is_discarded() ? json() : j;
  }

  static inline std::unique_ptr<TestDatabase> db_;
  static inline std::unique_ptr<GatewayUnderTest> gw_;
  static inline std::unique_ptr<PrismServer> prism_;
  static inline std::unique_ptr<PrismServer> canary_;
  core::CurlHttpClient http_;
  std::vector<std::string> found_;
  int calls_ = 0;
};

TEST_F(OpenApiCheck, PrismReportsAResponseThatBreaksTheDescription) {
  ASSERT_TRUE(canary_ && canary_->error.empty()) << (canary_ ? canary_->error : "no canary");
  const std::string key = gw_->create_api_key("clinic-canary");
  call("POST", "/v1/messages", {{"to", "+966501236101"}, {"body", "x"}}, key, 202, {}, canary_.get());
  ASSERT_EQ(found_.size(), 1u);
  EXPECT_NE(found_[0].find("status"), std::string::npos) << found_[0];
}

TEST_F(OpenApiCheck, EveryResponseMatchesTheDescription) {
  const std::string key = gw_->create_api_key("clinic-a");
  const std::string op = gw_->create_operator_key();

  // Operational routes.
  call("GET", "/health", nullptr, "", 200);
  call("GET", "/ready", nullptr, "", 200);
  call("GET", "/metrics", nullptr, "", 200);
  call("GET", "/openapi.json", nullptr, "", 200);
  call("GET", "/v1/providers", nullptr, key, 200);
  call("GET", "/v1/messages", nullptr, "", 401);

  // Messages: accepted, read, listed, events, replayed by idempotency key.
  json send{{"to", "+966501236001"}, {"body", "Your appointment is tomorrow at 10:00"}, {"reference", "appt-1"},
            {"replies", {{"1", "confirm"}, {"2", "cancel"}}}};
  const std::string id = call("POST", "/v1/messages", send, key, 202, {{"Idempotency-Key", "appt-1"}})["id"];
  gw_->wait_for_status(key, id, "delivered");
  call("POST", "/v1/messages", send, key, 202, {{"Idempotency-Key", "appt-1"}});  // replayed: delivered
  call("POST", "/v1/messages", {{"to", "not a number"}, {"body", "x"}}, key, 422);
  call("POST", "/v1/messages", {{"to", "+966501236009"}, {"body", "another"}}, key, 422, {{"Idempotency-Key", "appt-1"}});
  call("GET", "/v1/messages/" + id, nullptr, key, 200);
  // As client libraries encode a query: '+' as %2B, ':' as %3A.
  call("GET", "/v1/messages?to=%2B966501236001&from=2026-01-01T00%3A00%3A00Z", nullptr, key, 200);
  call("GET", "/v1/messages?to=%2", nullptr, key, 422);
  call("GET", "/v1/messages/01890000-0000-7000-8000-000000000000", nullptr, key, 404);
  call("GET", "/v1/messages?limit=5", nullptr, key, 200);
  call("GET", "/v1/messages?limit=5&include=body", nullptr, key, 200);
  call("GET", "/v1/messages?include=all", nullptr, key, 422);
  const std::string discarded =
      call("POST", "/v1/messages", {{"to", "+966501236009"}, {"body", "x"}, {"content_retention", "discard"}}, key,
           202)["id"];
  EXPECT_TRUE(eventually(
      [&] { return !gw_->json("GET", "/v1/messages/" + discarded, nullptr, key)["body_redacted_at"].is_null(); }, 20s));
  call("GET", "/v1/messages/" + discarded, nullptr, key, 200);  // body null, body_redacted_at
  call("GET", "/v1/messages/" + id + "/events", nullptr, key, 200);
  call("POST", "/v1/messages/" + id + "/refresh", nullptr, key, 200);
  const std::string later =
      call("POST", "/v1/messages", {{"to", "+966501236002"}, {"body", "x"}, {"scheduled_at", core::format_iso8601(core::now_us() + std::chrono::hours(24))}},
           key, 202)["id"];
  call("POST", "/v1/messages/" + later + "/cancel", nullptr, key, 200);
  call("POST", "/v1/messages/" + id + "/retry", nullptr, key, 409);
  auto bulk = call("POST", "/v1/messages/bulk",
                   {{"body", "Clinic closed on Friday"}, {"recipients", {"+966501236003", "+966501236004", "bad"}}},
                   key, 202);
  call("GET", "/v1/batches/" + bulk["id"].get<std::string>(), nullptr, key, 200);

  // Templates (a category and none), preferences, replies and inbound.
  call("PUT", "/v1/templates/reminder",
       {{"channels", {"sms"}},
        {"category", "reminder"},
        {"translations", {{"en", {{"body", "See you at {{time}}"}, {"replies", {{"yes", "confirm"}}}}}}}},
       key, 201);
  call("PUT", "/v1/templates/plain", {{"channels", {"sms"}}, {"translations", {{"en", {{"body", "Hello"}}}}}}, key, 201);
  call("GET", "/v1/templates/reminder", nullptr, key, 200);
  call("GET", "/v1/templates", nullptr, key, 200);
  call("DELETE", "/v1/templates/plain", nullptr, key, 204);
  call("PUT", "/v1/recipients/+966501236001/preferences", {{"channels", {"sms"}}, {"language", "ar"}}, key, 200);
  call("GET", "/v1/recipients/+966501236001/preferences", nullptr, key, 200);
  // A provider's webhook (the mock's inbound message), then one the gateway has no instance for.
  call("POST", "/webhooks/mock-sms/inbound", {{"from", "+966501236001"}, {"body", "2"}, {"id", "in-1"}}, "", 200);
  call("POST", "/webhooks/no-such-instance/inbound", {{"from", "+966501236001"}, {"body", "2"}}, "", 404);
  call("GET", "/v1/inbound?phone=0501236001", nullptr, key, 200);
  call("GET", "/v1/inbound?phone=0501236001&include=body", nullptr, key, 200);
  call("GET", "/v1/messages/" + id, nullptr, key, 200);  // with its reply

  // Settings, statistics, audit, usage.
  call("PUT", "/v1/settings", {{"default_language", "ar"}, {"retention_days", 30}}, key, 200);
  call("PUT", "/v1/settings",
       {{"default_language", "ar"}, {"content_retention", "discard"}, {"redact_after_days", 30}}, key, 200);
  call("PUT", "/v1/settings", {{"default_language", "ar"}, {"retention_days", 100000}}, key, 422);
  call("GET", "/v1/settings", nullptr, key, 200);
  call("GET", "/v1/stats", nullptr, key, 200);
  call("GET", "/v1/audit?limit=10", nullptr, key, 200);
  call("GET", "/v1/usage", nullptr, key, 200);

  // Webhooks.
  auto hook = call("POST", "/v1/webhooks", {{"url", "https://clinic.example/hooks"}, {"events", {"message.delivered"}}},
                   key, 201);
  const std::string hook_path = "/v1/webhooks/" + hook["id"].get<std::string>();
  call("GET", "/v1/webhooks", nullptr, key, 200);
  call("GET", hook_path, nullptr, key, 200);
  call("PATCH", hook_path, {{"description", "platform"}, {"enabled", false}}, key, 200);
  call("POST", hook_path + "/rotate-secret", json::object(), key, 200);
  call("GET", hook_path + "/deliveries", nullptr, key, 200);
  call("POST", hook_path + "/replay", {{"since", "2020-01-01T00:00:00Z"}}, key, 202);
  call("POST", "/v1/webhooks", {{"url", "http://clinic.example/hooks"}}, key, 422);
  call("DELETE", hook_path, nullptr, key, 204);

  // The operator.
  call("POST", "/v1/admin/tenants", {{"name", "clinic-z"}}, op, 201);
  const std::string t = "/v1/admin/tenants/clinic-z";
  call("GET", "/v1/admin/tenants", nullptr, op, 200);
  call("GET", t, nullptr, op, 200);
  call("PUT", t, {{"quotas", {{"messages_per_day", 100}}}, {"spend_cap", {{"amount", "50"}, {"currency", "USD"}}}}, op,
       200);
  call("POST", t + "/suspend", nullptr, op, 200);
  call("POST", t + "/resume", nullptr, op, 200);
  auto made = call("POST", t + "/keys", {{"label", "front desk"}, {"scopes", {"send", "read"}}}, op, 201);
  call("GET", t + "/keys", nullptr, op, 200);
  call("GET", t + "/usage", nullptr, op, 200);
  call("DELETE", "/v1/admin/keys/" + made["id"].get<std::string>(), nullptr, op, 200);
  call("GET", "/v1/admin/providers", nullptr, op, 200);
  call("GET", "/v1/admin/audit?limit=5", nullptr, op, 200);
  call("GET", "/v1/admin/inbound?unassigned=true", nullptr, op, 200);
  auto run = call("POST", "/v1/admin/jobs/retry-sweep/run", nullptr, op, 202);
  call("GET", "/v1/admin/jobs/runs/" + run["id"].get<std::string>(), nullptr, op, 200);
  call("GET", "/v1/admin/jobs/runs/01a2111c-0000-7000-8000-000000000001", nullptr, op, 404);
  call("GET", "/v1/admin/tenants", nullptr, key, 403);

  EXPECT_GE(calls_, 55);
  EXPECT_TRUE(found_.empty()) << found_.size() << " responses break docs/openapi.json:\n" << [&] {
    std::string all;
    for (const auto& f : found_) all += f + "\n";
    return all;
  }();
}

}  // namespace
}  // namespace barid::testing
